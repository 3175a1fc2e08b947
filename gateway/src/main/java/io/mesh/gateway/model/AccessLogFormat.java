package io.mesh.gateway.model;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * An access log format as Envoy's {@code SubstitutionFormatString} defines it, compiled once when the listener is
 * translated, never per request: a text format ({@code text_format_source}; a value a request does not have is Envoy's
 * {@code -}) or a JSON format ({@code json_format}: an object whose string values are format strings; a value that is
 * exactly one command operator keeps its type, so numbers stay numbers and a missing value is null, and one that mixes
 * text and operators is a string with {@code -} for what is missing; numbers, bools, nulls and nested objects pass
 * through; keys in sorted order). The command operators served are Envoy's {@link LogOperator}s; any other, or text that
 * starts an operator and is not one, is an error naming it and its position, as Envoy rejects the config.
 * Immutable; {@link #render} is called once per line written.
 */
public final class AccessLogFormat {
    /** Envoy's default format, for a file access log without {@code log_format} (its line ends in a newline). */
    public static final String ENVOY_DEFAULT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
            + " %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%"
            + " %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\""
            + " \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

    /**
     * Istio's JSON labels ({@code EnvoyJSONLogFormatIstio}, what istiod sends for {@code accessLogEncoding: JSON}), and
     * the gateway's own line when no control plane configures the access log.
     */
    public static final Map<String, String> ISTIO_JSON = io.mesh.config.IstioAccessLogFormats.JSON_LABELS;

    /** The compiled Istio JSON labels. */
    public static final AccessLogFormat ISTIO_JSON_FORMAT = json(ISTIO_JSON);
    /** The compiled Envoy default text format. */
    public static final AccessLogFormat ENVOY_DEFAULT_FORMAT = text(ENVOY_DEFAULT);

    /** A format string: literals (String) and commands, in order. */
    private record Template(Object[] parts) {
        /** The one command it is (typed in JSON), or null. */
        LogCommand single() {
            return parts.length == 1 && parts[0] instanceof LogCommand c ? c : null;
        }

        void renderText(StringBuilder sb, LogValues v) {
            for (Object p : parts) {
                if (p instanceof LogCommand c) {
                    String value = c.text(v);
                    sb.append(value == null ? "-" : value);
                } else {
                    sb.append((String) p);
                }
            }
        }
    }

    /** Text: a Template. JSON: a sorted map of key to Template, literal or nested map. */
    private final Template text;
    private final Map<String, Object> json;
    /** What it was compiled from (the text, or the JSON map), for equality. */
    private Object source;
    private final String[] requestHeaders;
    private final boolean readsResponseHeaders;
    private final boolean readsTrailers;
    private final boolean readsUpstreamTls;

    private AccessLogFormat(Template text, Map<String, Object> json, List<LogCommand> commands) {
        this.text = text;
        this.json = json;
        Set<String> req = new LinkedHashSet<>();
        boolean resp = false;
        boolean trailers = false;
        boolean upstreamTls = false;
        for (LogCommand c : commands) {
            upstreamTls |= LogOperator.UPSTREAM_TLS.contains(c.op());
            switch (c.op()) {
                case REQ -> {
                    req.add(c.header());
                    if (c.alternative() != null) {
                        req.add(c.alternative());
                    }
                }
                // The upstream service time is measured, not read from a header.
                case RESP -> resp |= !c.header().equals(UPSTREAM_SERVICE_TIME)
                        || c.alternative() != null && !c.alternative().equals(UPSTREAM_SERVICE_TIME);
                case TRAILER -> trailers = true;
                default -> {
                }
            }
        }
        req.removeIf(h -> h.startsWith(":"));
        this.requestHeaders = req.toArray(String[]::new);
        this.readsResponseHeaders = resp;
        this.readsTrailers = trailers;
        this.readsUpstreamTls = upstreamTls;
    }

    /** Envoy's router header, which the gateway measures (from the request's start to the upstream's response head). */
    public static final String UPSTREAM_SERVICE_TIME = "x-envoy-upstream-service-time";

    /** A text format ({@code text_format_source}'s inline string). */
    public static AccessLogFormat text(String format) {
        List<LogCommand> commands = new ArrayList<>();
        AccessLogFormat f = new AccessLogFormat(template(format, commands), null, commands);
        f.source = format;
        return f;
    }

    /**
     * A JSON format ({@code json_format}): values String (a format string), Number, Boolean, null or a nested Map of the
     * same; a list is not served (an error).
     */
    public static AccessLogFormat json(Map<String, ?> format) {
        if (format.isEmpty()) {
            throw new IllegalArgumentException("json_format is empty");
        }
        List<LogCommand> commands = new ArrayList<>();
        AccessLogFormat f = new AccessLogFormat(null, object(format, "", commands), commands);
        f.source = Map.copyOf(format.entrySet().stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey,
                e -> e.getValue() == null ? JsonNull.NULL : e.getValue())));
        return f;
    }

    /** Equal when compiled from the same text or JSON: a push that resends the same format changes nothing. */
    @Override
    public boolean equals(Object o) {
        return o instanceof AccessLogFormat f && source.equals(f.source);
    }

    @Override
    public int hashCode() {
        return source.hashCode();
    }

    private static Map<String, Object> object(Map<String, ?> in, String path, List<LogCommand> commands) {
        Map<String, Object> out = new TreeMap<>();
        for (Map.Entry<String, ?> e : in.entrySet()) {
            String at = path + e.getKey();
            Object v = e.getValue();
            if (v instanceof String s) {
                try {
                    out.put(e.getKey(), template(s, commands));
                } catch (IllegalArgumentException ex) {
                    throw new IllegalArgumentException("json_format." + at + ": " + ex.getMessage());
                }
            } else if (v instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked")
                Map<String, ?> nested = (Map<String, ?>) m;
                out.put(e.getKey(), object(nested, at + ".", commands));
            } else if (v == null || v instanceof Number || v instanceof Boolean) {
                out.put(e.getKey(), v == null ? JsonNull.NULL : v);
            } else {
                throw new IllegalArgumentException("json_format." + at + ": a " + v.getClass().getSimpleName()
                        + " value is not supported (strings, numbers, bools, null and nested objects are)");
            }
        }
        return java.util.Collections.unmodifiableMap(out);
    }

    private enum JsonNull { NULL }

    /**
     * Envoy's parser: {@code %NAME%}, {@code %NAME(ARG)%} or {@code %NAME(ARG):LENGTH%}, NAME upper-case letters,
     * digits and underscores; a {@code %} that starts none of these is an error at its position.
     */
    private static Template template(String format, List<LogCommand> commands) {
        List<Object> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < format.length()) {
            char c = format.charAt(i);
            if (c != '%') {
                literal.append(c);
                i++;
                continue;
            }
            int start = i;
            int j = i + 1;
            while (j < format.length() && isNameChar(format.charAt(j))) {
                j++;
            }
            String name = format.substring(i + 1, j);
            String arg = null;
            if (j < format.length() && format.charAt(j) == '(') {
                int close = format.indexOf(')', j);
                if (close < 0) {
                    throw invalid(format, start);
                }
                arg = format.substring(j + 1, close);
                j = close + 1;
            }
            int maxLength = 0;
            if (j < format.length() && format.charAt(j) == ':') {
                int k = j + 1;
                while (k < format.length() && Character.isDigit(format.charAt(k))) {
                    k++;
                }
                if (k == j + 1) {
                    throw invalid(format, start);
                }
                maxLength = Integer.parseInt(format.substring(j + 1, Math.min(k, j + 10)));
                j = k;
            }
            if (name.isEmpty() || j >= format.length() || format.charAt(j) != '%') {
                throw invalid(format, start);
            }
            if (!literal.isEmpty()) {
                parts.add(literal.toString());
                literal.setLength(0);
            }
            LogCommand command = command(name, arg, maxLength);
            commands.add(command);
            parts.add(command);
            i = j + 1;
        }
        if (!literal.isEmpty()) {
            parts.add(literal.toString());
        }
        return new Template(parts.toArray());
    }

    private static boolean isNameChar(char c) {
        return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_';
    }

    private static IllegalArgumentException invalid(String format, int at) {
        return new IllegalArgumentException("Couldn't find valid command at position " + at + " of \"" + format + "\"");
    }

    private static LogCommand command(String name, String arg, int maxLength) {
        LogOperator op;
        try {
            op = LogOperator.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("command operator %" + name + "% is not supported (served: "
                    + java.util.Arrays.toString(LogOperator.values()) + ")");
        }
        if (op.takesHeader()) {
            if (arg == null || arg.isEmpty()) {
                throw new IllegalArgumentException("%" + name + "% needs a header: %" + name + "(NAME)%");
            }
            int q = arg.indexOf('?');
            String header = (q < 0 ? arg : arg.substring(0, q)).toLowerCase(java.util.Locale.ROOT);
            String alternative = q < 0 ? null : arg.substring(q + 1).toLowerCase(java.util.Locale.ROOT);
            if (header.isEmpty() || alternative != null && (alternative.isEmpty() || alternative.indexOf('?') >= 0)) {
                throw new IllegalArgumentException("%" + name + "(" + arg + ")%: a header, or two separated by one ?");
            }
            return new LogCommand(op, header, alternative, maxLength, null, null);
        }
        switch (op) {
            case START_TIME, DOWNSTREAM_PEER_CERT_V_START, DOWNSTREAM_PEER_CERT_V_END, UPSTREAM_PEER_CERT_V_START,
                    UPSTREAM_PEER_CERT_V_END -> {
                return new LogCommand(op, null, null, maxLength, StartTimeFormat.compile(arg), null);
            }
            case GRPC_STATUS -> {
                String format = arg == null || arg.isEmpty() ? "CAMEL_STRING" : arg;
                if (!List.of("CAMEL_STRING", "SNAKE_STRING", "NUMBER").contains(format)) {
                    throw new IllegalArgumentException("GRPC_STATUS only supports CAMEL_STRING, SNAKE_STRING or NUMBER,"
                            + " got (" + arg + ")");
                }
                return new LogCommand(op, null, null, maxLength, null, format);
            }
            case DYNAMIC_METADATA -> {
                if (arg == null || arg.isEmpty() || arg.startsWith(":") || arg.endsWith(":") || arg.contains("::")) {
                    throw new IllegalArgumentException("%DYNAMIC_METADATA% needs a namespace and optional keys:"
                            + " %DYNAMIC_METADATA(NAMESPACE:KEY:...)%, got (" + (arg == null ? "" : arg) + ")");
                }
                return new LogCommand(op, null, null, maxLength, null, arg);
            }
            default -> {
            }
        }
        if (arg != null) {
            throw new IllegalArgumentException("%" + name + "% takes no argument, got (" + arg + ")");
        }
        return new LogCommand(op, null, null, maxLength, null, op == LogOperator.HOSTNAME ? Hostname.NAME : null);
    }

    /** The line of {@code v}, without the format's final newline (each line is one log record). */
    public String render(LogValues v) {
        StringBuilder sb = new StringBuilder(256);
        if (text != null) {
            text.renderText(sb, v);
            int end = sb.length();
            if (end > 0 && sb.charAt(end - 1) == '\n') {
                sb.setLength(end - 1);
            }
        } else {
            object(sb, json, v);
        }
        return sb.toString();
    }

    private static void object(StringBuilder sb, Map<String, Object> map, LogValues v) {
        sb.append('{');
        boolean first = true;
        for (Map.Entry<String, Object> e : map.entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            string(sb, e.getKey());
            sb.append(':');
            Object value = e.getValue();
            if (value instanceof Template t) {
                LogCommand single = t.single();
                if (single != null) {
                    Object typed = single.value(v);
                    if (typed == null) {
                        sb.append("null");
                    } else if (typed instanceof Long n && single.typed()) {
                        sb.append(n.longValue());
                    } else if (single.op() == LogOperator.DYNAMIC_METADATA) {
                        jsonValue(sb, typed);   // its own type, as Envoy's typed JSON (the max length ignored)
                    } else {
                        string(sb, typed.toString());
                    }
                } else {
                    StringBuilder text = new StringBuilder();
                    t.renderText(text, v);
                    string(sb, text.toString());
                }
            } else if (value instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked")
                Map<String, Object> nested = (Map<String, Object>) m;
                object(sb, nested, v);
            } else if (value == JsonNull.NULL) {
                sb.append("null");
            } else if (value instanceof Double d && d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e15) {
                sb.append(d.longValue());
            } else {
                sb.append(value);
            }
        }
        sb.append('}');
    }

    /** A metadata value as JSON: a map as an object, a list as an array, a number, a bool, else a string. */
    static void jsonValue(StringBuilder sb, Object value) {
        if (value instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : new TreeMap<>(m).entrySet()) {
                if (!first) {
                    sb.append(',');
                }
                first = false;
                string(sb, String.valueOf(e.getKey()));
                sb.append(':');
                jsonValue(sb, e.getValue());
            }
            sb.append('}');
        } else if (value instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                jsonValue(sb, l.get(i));
            }
            sb.append(']');
        } else if (value == null) {
            sb.append("null");
        } else if (value instanceof Double d && d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 1e15) {
            sb.append(d.longValue());
        } else if (value instanceof Number || value instanceof Boolean) {
            sb.append(value);
        } else {
            string(sb, value.toString());
        }
    }

    /** This machine's name, as Envoy's HOSTNAME (a pod's name in Kubernetes); looked up once, off the request path. */
    private static final class Hostname {
        static final String NAME = lookUp();

        private static String lookUp() {
            String env = System.getenv("HOSTNAME");
            if (env != null && !env.isBlank()) {
                return env;
            }
            try {
                return java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                return null;
            }
        }
    }

    /** {@code s} as a JSON string. */
    public static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** The request headers the format reads (lower case, pseudo-headers excluded), which the fast path keeps. */
    public String[] requestHeaders() {
        return requestHeaders;
    }

    /** Whether a response header other than the measured upstream service time is read (the fast path keeps them). */
    public boolean readsResponseHeaders() {
        return readsResponseHeaders;
    }

    /** Whether a response trailer is read. */
    public boolean readsTrailers() {
        return readsTrailers;
    }

    /** Whether an upstream TLS operator is read (the fast path then keeps the upstream connection's TLS). */
    public boolean readsUpstreamTls() {
        return readsUpstreamTls;
    }

    /** Whether this is a JSON format. */
    public boolean isJson() {
        return json != null;
    }
}
