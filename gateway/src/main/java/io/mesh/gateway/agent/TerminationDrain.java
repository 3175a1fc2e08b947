package io.mesh.gateway.agent;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * How long the proxy stays after it is told to stop (SIGTERM, or {@code POST /quitquitquit}), as istio-agent decides it
 * (istio {@code pkg/envoy/agent.go} {@code terminate}), from istio-agent's own environment variables:
 * <ul>
 * <li>{@code TERMINATION_DRAIN_DURATION_SECONDS} (whole seconds; the injector sets it from
 * {@code proxy.istio.io/config: terminationDrainDuration}): the listeners drain and the proxy stays the full duration,
 * then exits, whatever is still open. Unset: the gateway's own behaviour, kept for routers and local runs that do not
 * set it: drain, exit as soon as no connection is left, at the latest after {@code listeners.drain-timeout}.</li>
 * <li>{@code EXIT_ON_ZERO_ACTIVE_CONNECTIONS=true}: after {@code MINIMUM_DRAIN_DURATION} (Go duration, default 5s), exit
 * as soon as no downstream connection is open (checked every second, as the agent does), at the latest after the
 * drain duration (newer istio-agents bound it so; older ones waited for kubelet's SIGKILL).</li>
 * </ul>
 * A malformed value fails the start naming the variable (istio-agent would log a warning and take its default).
 *
 * @param duration the longest the drain lasts
 * @param waitFullDuration whether the proxy stays the whole {@code duration} even once idle (istio-agent's default)
 */
public record TerminationDrain(Duration duration, boolean waitFullDuration, boolean exitOnZeroActiveConnections,
        Duration minimumDrainDuration) {

    public static final String DURATION_SECONDS = "TERMINATION_DRAIN_DURATION_SECONDS";
    public static final String EXIT_ON_ZERO = "EXIT_ON_ZERO_ACTIVE_CONNECTIONS";
    public static final String MINIMUM_DRAIN = "MINIMUM_DRAIN_DURATION";
    private static final Logger LOG = Logger.getLogger(TerminationDrain.class);
    /** istio-agent's {@code activeConnectionCheckDelay}. */
    private static final long CHECK_INTERVAL_MS = 1000;
    static final Duration DEFAULT_MINIMUM_DRAIN = Duration.ofSeconds(5);

    private static final Pattern GO_DURATION_PART = Pattern.compile("([0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h)");

    /** The policy from the process environment {@code env}; {@code drainTimeout} bounds it when the duration is unset. */
    public static TerminationDrain from(Map<String, String> env, Duration drainTimeout) {
        String seconds = env.getOrDefault(DURATION_SECONDS, "").trim();
        Duration duration = drainTimeout;
        boolean full = false;
        if (!seconds.isEmpty()) {
            try {
                long s = Long.parseLong(seconds);
                if (s < 0) {
                    throw new NumberFormatException();
                }
                duration = Duration.ofSeconds(s);
                full = true;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(DURATION_SECONDS + ": '" + seconds + "' is not a whole number of seconds");
            }
        }
        boolean exitOnZero = parseBool(env.getOrDefault(EXIT_ON_ZERO, "").trim());
        String minimum = env.getOrDefault(MINIMUM_DRAIN, "").trim();
        Duration minimumDrain = minimum.isEmpty() ? DEFAULT_MINIMUM_DRAIN : goDuration(MINIMUM_DRAIN, minimum);
        return new TerminationDrain(duration, full, exitOnZero, minimumDrain);
    }

    /** Go's strconv.ParseBool, as istio-agent reads its boolean variables; "" is false. */
    static boolean parseBool(String value) {
        return switch (value) {
            case "", "0", "f", "F", "false", "FALSE", "False" -> false;
            case "1", "t", "T", "true", "TRUE", "True" -> true;
            default -> throw new IllegalArgumentException(EXIT_ON_ZERO + ": '" + value + "' is not true or false");
        };
    }

    /** A non-negative Go duration ({@code time.ParseDuration}): 5s, 1m30s, 500ms, 1.5h, 0. */
    static Duration goDuration(String name, String value) {
        if (value.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = GO_DURATION_PART.matcher(value);
        int at = 0;
        double nanos = 0;
        while (at < value.length() && m.find(at) && m.start() == at) {
            double n = Double.parseDouble(m.group(1));
            nanos += n * switch (m.group(2).toLowerCase(Locale.ROOT)) {
                case "ns" -> 1;
                case "us", "µs" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                default -> 3600e9;
            };
            at = m.end();
        }
        if (at == 0 || at != value.length()) {
            throw new IllegalArgumentException(name + ": '" + value + "' is not a duration (e.g. 5s, 1m30s, 500ms)");
        }
        return Duration.ofNanos((long) nanos);
    }

    /**
     * Completes when the process may exit, the listeners' drain {@code drained} (bounded by {@link #duration}) having
     * started: when it is done, and, per the policy, once the full duration has passed, or once the minimum drain has
     * passed and {@code openConnections} is 0 (checked each second), at the latest at the duration.
     */
    public Future<Void> await(Vertx vertx, IntSupplier openConnections, Future<Void> drained) {
        if (exitOnZeroActiveConnections) {
            Promise<Void> idle = Promise.promise();
            long deadline = System.nanoTime() + duration.toNanos();
            long first = Math.max(1, Math.min(minimumDrainDuration.toMillis(), duration.toMillis()));
            vertx.setTimer(first, t -> checkActive(vertx, openConnections, deadline, idle));
            return idle.future().compose(v -> drained);
        }
        if (waitFullDuration) {
            Promise<Void> elapsed = Promise.promise();
            vertx.setTimer(Math.max(1, duration.toMillis()), t -> elapsed.complete());
            return Future.join(elapsed.future(), drained).mapEmpty();
        }
        return drained;
    }

    private static void checkActive(Vertx vertx, IntSupplier openConnections, long deadline, Promise<Void> idle) {
        int open = openConnections.getAsInt();
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (open == 0 || left <= 0) {
            LOG.infof(open == 0 ? "no active downstream connection left; exiting"
                    : "termination drain duration over with %d downstream connections open; exiting", open);
            idle.complete();
            return;
        }
        LOG.infof("%d active downstream connections left", open);
        vertx.setTimer(Math.max(1, Math.min(CHECK_INTERVAL_MS, left)), t -> checkActive(vertx, openConnections, deadline, idle));
    }

    /** The drain a proxy stopped by {@code /quitquitquit} does: no wait once idle (istio-agent skips its drain wait). */
    public TerminationDrain quit() {
        return new TerminationDrain(duration, false, false, minimumDrainDuration);
    }

    /** The exit after {@code POST /drain} drained already: at once (istio-agent's "already drained, exiting immediately"). */
    public TerminationDrain immediate() {
        return new TerminationDrain(Duration.ZERO, false, false, minimumDrainDuration);
    }

    public String describe() {
        if (exitOnZeroActiveConnections) {
            return "after " + minimumDrainDuration + ", exit once no downstream connection is open, at the latest after "
                    + duration;
        }
        return waitFullDuration ? "drain, then exit after " + duration : "drain, exit once idle, at the latest after " + duration;
    }
}
