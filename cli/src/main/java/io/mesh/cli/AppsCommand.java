package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The meshed apps with their live traffic, as {@code linkerd viz stat} shows them: for each service that
 * receives requests, the rate, success rate and latency over telemetry's sliding window ({@code /api/graph}),
 * and the share of its requests over mutual TLS (telemetry's {@code istio_requests_total}).
 */
@Command(name = "apps", aliases = "stat", mixinStandardHelpOptions = true,
        description = "List the services receiving traffic in the mesh with rps, success rate, p50/p99 latency and mTLS share.",
        footer = {"", "RPS, SUCCESS and the latencies are over telemetry's sliding window (60 s).",
                "MTLS is the share of the service's requests with connection_security_policy=",
                "  \"mutual_tls\" in telemetry's istio_requests_total, since telemetry started",
                "  (- when telemetry has no series for the service).",
                "telemetry is found in the local mesh's run folder, given with --telemetry, or on",
                "  a cluster through the API server's service proxy (istio-telemetry:15014).",
                "-w refreshes in place on a terminal until Ctrl-C; when the output is not a",
                "  terminal, each table follows the last after a blank line.",
                "Exit codes: 0 ok, 1 telemetry cannot be reached (with -w: at the last",
                "  refresh), 2 usage error.",
                "Examples:",
                "  meshctl apps",
                "  meshctl apps -w --interval 5s",
                "  meshctl stat -o json",
                "  meshctl apps --mode kubernetes --context prod"})
public class AppsCommand implements Callable<Integer> {

    /** One row: a service, what its callers saw over the window, and its mTLS share (null when unknown). */
    record App(String name, double rps, double successRate, double p50Ms, double p99Ms, long requests, Double mtlsShare) {
    }

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    OutputFormat output;

    @Option(names = "--telemetry", description = "telemetry's monitoring URL, e.g. http://127.0.0.1:15014")
    URI telemetry;

    @Option(names = {"-w", "--watch"}, description = "Refresh until Ctrl-C")
    boolean watch;

    @Option(names = "--interval", defaultValue = "2s", converter = Intervals.class,
            description = "Time between refreshes with -w: 2s, 500ms, 1m (default: ${DEFAULT-VALUE})")
    Duration interval;

    /** For tests and scripts: stop after this many refreshes (0 = until Ctrl-C). */
    @Option(names = "--iterations", hidden = true, defaultValue = "0")
    int iterations;

    @Mixin
    MeshTarget target;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (iterations < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--iterations must be 0 or more");
        }
        boolean tty = Terminal.detect().interactive();
        try (MeshTarget.Mesh mesh = target.open()) {
            int done = 0;
            while (true) {
                String frame;
                boolean ok;
                try {
                    MonitoringApi api = mesh.component(MeshTarget.Component.TELEMETRY, telemetry);
                    List<App> apps = apps(api.getObject("/api/graph", "nodes", "a service graph"), MtlsShare.byService(api.getText("/q/metrics")));
                    StringWriter text = new StringWriter();
                    Printer.print(apps, output, new PrintWriter(text), table -> table(apps, table));
                    frame = text.toString();
                    ok = true;
                } catch (MonitoringApi.Unreachable e) {
                    if (!watch) {
                        err.println(e.getMessage());
                        return 1;
                    }
                    frame = e.getMessage() + System.lineSeparator();
                    ok = false;
                }
                out.print(watch ? Watch.frame(frame, tty, done == 0) : frame);
                out.flush();
                done++;
                if (!watch || (iterations > 0 && done >= iterations)) {
                    return ok ? 0 : 1;
                }
                Thread.sleep(interval.toMillis());
            }
        }
    }

    /**
     * Each service node with the request traffic of every edge into it; latencies are the busiest edge's. TCP edges
     * (telemetry's {@code protocol: tcp}: connections and bytes, not requests) are not requests and are left out.
     */
    static List<App> apps(JsonNode graph, Map<String, Double> mtls) {
        List<App> apps = new ArrayList<>();
        for (JsonNode node : graph.path("nodes")) {
            if (!"service".equals(node.path("kind").asText())) {
                continue;
            }
            String id = node.path("id").asText();
            double rps = 0;
            double errors = 0;
            long requests = 0;
            JsonNode busiest = null;
            for (JsonNode edge : graph.path("edges")) {
                if (!id.equals(edge.path("target").asText()) || "tcp".equals(edge.path("protocol").asText())) {
                    continue;
                }
                rps += edge.path("rps").asDouble();
                errors += edge.path("rps").asDouble() * edge.path("errorRate").asDouble();
                requests += edge.path("requests").asLong();
                if (busiest == null || edge.path("rps").asDouble() > busiest.path("rps").asDouble()) {
                    busiest = edge;
                }
            }
            if (busiest == null) {
                continue;
            }
            String name = node.path("name").asText();
            apps.add(new App(name, rps, rps > 0 ? 1 - errors / rps : 1,
                    busiest.path("p50Ms").asDouble(), busiest.path("p99Ms").asDouble(), requests, mtls.get(name)));
        }
        apps.sort((a, b) -> a.name().compareTo(b.name()));
        return apps;
    }

    static void table(List<App> apps, PrintWriter out) {
        int width = "NAME".length();
        for (App app : apps) {
            width = Math.max(width, app.name().length());
        }
        String header = "%-" + width + "s  %9s  %8s  %9s  %9s  %7s%n";
        out.printf(header, "NAME", "RPS", "SUCCESS", "P50_MS", "P99_MS", "MTLS");
        for (App app : apps) {
            String mtls = app.mtlsShare() == null ? "-" : String.format("%.0f%%", app.mtlsShare() * 100);
            out.printf("%-" + width + "s  %9.2f  %7.2f%%  %9.1f  %9.1f  %7s%n", app.name(), app.rps(), app.successRate() * 100,
                    app.p50Ms(), app.p99Ms(), mtls);
        }
        if (apps.isEmpty()) {
            out.println("(no traffic in the last window)");
        }
    }

    /** "2s", "500ms", "1m" or a plain number of seconds; more than zero. */
    static final class Intervals implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m)?").matcher(value.strip());
            if (!m.matches()) {
                throw new CommandLine.TypeConversionException("'" + value + "' is not an interval: use 2s, 500ms or 1m");
            }
            double amount = Double.parseDouble(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            long millis = Math.round(amount * switch (unit) {
                case "ms" -> 1;
                case "m" -> 60_000;
                default -> 1_000;
            });
            if (millis < 100) {
                throw new CommandLine.TypeConversionException("'" + value + "' is too short: at least 100ms");
            }
            return Duration.ofMillis(millis);
        }
    }
}
