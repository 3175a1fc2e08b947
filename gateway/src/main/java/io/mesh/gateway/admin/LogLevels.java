package io.mesh.gateway.admin;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy's log levels by Envoy-style logger name, as Envoy's admin {@code /logging} and istio-agent's
 * {@code --proxyLogLevel}/{@code --proxyComponentLogLevel} set them: {@code level} sets every logger, a component
 * list ({@code router:debug,config:trace}) sets some. Each name is one of the gateway's log categories; the access log
 * ({@code io.mesh.gateway.access}) is never touched, as Envoy's access logs are not its loggers. Levels are Envoy's:
 * trace, debug, info, warning (or warn), error, critical, off.
 */
public final class LogLevels {

    /** Envoy-style name → the gateway's log category. */
    static final Map<String, String> LOGGERS = loggers();

    private static Map<String, String> loggers() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("admin", "io.mesh.gateway.admin");
        m.put("agent", "io.mesh.gateway.agent");   // istio-agent's part: app probes, metrics merge
        m.put("capture", "io.mesh.gateway.capture");
        m.put("config", "io.mesh.gateway.xds");
        m.put("http", "io.mesh.gateway.proxy");   // listeners, connections, the HTTP and TCP proxying
        m.put("jwt", "io.mesh.gateway.jwt");
        m.put("main", "io.mesh.gateway");
        m.put("rbac", "io.mesh.gateway.rbac");
        m.put("router", "io.mesh.gateway.route");
        m.put("secret", "io.mesh.gateway.identity");
        m.put("tls", "io.mesh.gateway.tls");
        m.put("upstream", "io.mesh.gateway.upstream");
        return Map.copyOf(m);
    }

    private static final List<String> NAMES = LOGGERS.keySet().stream().sorted().toList();

    /** A level or logger name the proxy does not have; the message says which and what there is. */
    public static final class Invalid extends Exception {
        Invalid(String message) {
            super(message);
        }
    }

    // Held so that the levels set stay set: java.util.logging keeps loggers weakly.
    private final Map<String, Logger> held = new LinkedHashMap<>();

    /**
     * Pins each category at its current effective level (from the Quarkus config), so that setting one never moves
     * another: {@code main} is the parent category of the others.
     */
    public LogLevels() {
        for (String name : NAMES) {
            Logger logger = Logger.getLogger(LOGGERS.get(name));
            logger.setLevel(effective(logger));
            held.put(name, logger);
        }
    }

    /** istio-agent's {@code --proxyLogLevel} then {@code --proxyComponentLogLevel}; either may be null. */
    public void configure(String level, String components) throws Invalid {
        Level all = level == null || level.isBlank() ? null : level(level.strip());
        Map<String, Level> some = components == null || components.isBlank() ? Map.of() : components(components);
        if (all != null) {
            held.values().forEach(l -> l.setLevel(all));
        }
        some.forEach((name, l) -> held.get(name).setLevel(l));
    }

    /** Envoy's {@code paths} form: {@code name:level,name:level}; all checked before any is applied. */
    public static Map<String, Level> components(String paths) throws Invalid {
        Map<String, Level> out = new LinkedHashMap<>();
        for (String part : paths.split(",")) {
            String p = part.strip();
            int colon = p.indexOf(':');
            if (colon <= 0) {
                throw new Invalid("'" + p + "' is not name:level (e.g. router:debug)");
            }
            out.put(name(p.substring(0, colon).strip()), level(p.substring(colon + 1).strip()));
        }
        return out;
    }

    /** Every logger's level, in Envoy's names and words, sorted by name. */
    public Map<String, String> active() {
        Map<String, String> out = new LinkedHashMap<>();
        held.forEach((name, logger) -> out.put(name, word(effective(logger))));
        return out;
    }

    /** The listing {@code /logging} answers with, as Envoy's: {@code active loggers:} and one {@code name: level} each. */
    public String listing() {
        StringBuilder b = new StringBuilder("active loggers:\n");
        active().forEach((name, level) -> b.append("  ").append(name).append(": ").append(level).append('\n'));
        return b.toString();
    }

    static String name(String name) throws Invalid {
        if (!LOGGERS.containsKey(name)) {
            throw new Invalid("unknown logger '" + name + "'; the loggers are " + String.join(", ", NAMES));
        }
        return name;
    }

    public static Level level(String word) throws Invalid {
        return switch (word.toLowerCase(Locale.ROOT)) {
            case "trace" -> org.jboss.logmanager.Level.TRACE;
            case "debug" -> org.jboss.logmanager.Level.DEBUG;
            case "info" -> org.jboss.logmanager.Level.INFO;
            case "warning", "warn" -> org.jboss.logmanager.Level.WARN;
            case "error" -> org.jboss.logmanager.Level.ERROR;
            case "critical" -> org.jboss.logmanager.Level.FATAL;
            case "off" -> Level.OFF;
            default -> throw new Invalid("unknown level '" + word
                    + "'; the levels are trace, debug, info, warning, error, critical, off");
        };
    }

    private static String word(Level level) {
        int v = level.intValue();
        if (v == Level.OFF.intValue()) {
            return "off";
        }
        if (v >= org.jboss.logmanager.Level.FATAL.intValue()) {
            return "critical";
        }
        if (v >= org.jboss.logmanager.Level.ERROR.intValue()) {
            return "error";
        }
        if (v >= org.jboss.logmanager.Level.WARN.intValue()) {
            return "warning";
        }
        if (v >= org.jboss.logmanager.Level.INFO.intValue()) {
            return "info";
        }
        if (v >= org.jboss.logmanager.Level.DEBUG.intValue()) {
            return "debug";
        }
        return "trace";
    }

    private static Level effective(Logger logger) {
        for (Logger l = logger; l != null; l = l.getParent()) {
            if (l.getLevel() != null) {
                return l.getLevel();
            }
        }
        return Level.INFO;
    }
}
