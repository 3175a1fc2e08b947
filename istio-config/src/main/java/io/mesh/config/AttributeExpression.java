package io.mesh.config;

import java.util.Map;
import java.util.Set;

/**
 * The subset of CEL that Istio's metric tag values and access log filters use, over Envoy's attributes: string (raw
 * {@code r'...'} too), int (a uint literal's {@code u} suffix is taken: uints and ints compare as CEL's numbers do),
 * bool and null literals, list literals, attribute paths ({@code request.host}, {@code request.headers['x-team']},
 * {@code upstream_peer.app}), {@code has()}, {@code ==}, {@code !=}, {@code <}, {@code <=}, {@code >}, {@code >=},
 * {@code in} (a list's element, a map's key), {@code !}, {@code &&}, {@code ||}, the ternary, {@code +} on strings,
 * ints and lists, and CEL's functions {@link CelFunctions} serves ({@code startsWith}, {@code matches}, {@code size},
 * {@code string()}, {@code duration()}, ...). Parsed once ({@link #parse}); a parse error, an attribute outside
 * {@link #ATTRIBUTES} or a call no overload takes is an {@link IllegalArgumentException} naming the position.
 * Evaluation ({@link #eval}) asks an {@link Activation} for attribute values; a missing attribute or a type error is an
 * {@link EvalError}, which Istio's stats filter reports as the value "unknown". Immutable and thread-safe.
 */
public final class AttributeExpression {

    /** The attributes served, by root; a map-valued one ({@code request.headers}) is indexed with {@code [...]}. */
    public static final Map<String, Set<String>> ATTRIBUTES = Map.of(
            "request", Set.of("host", "method", "path", "url_path", "protocol", "headers", "id", "useragent",
                    "referer", "size", "scheme", "query", "time", "duration"),
            "response", Set.of("code", "grpc_status", "flags", "code_details", "size", "headers", "trailers"),
            "source", Set.of("address", "port"),
            "destination", Set.of("address", "port"),
            "upstream", Set.of("address", "port", "transport_failure_reason", "local_address"),
            "connection", Set.of("mtls", "requested_server_name", "termination_details", "id", "tls_version",
                    "uri_san_peer_certificate", "uri_san_local_certificate", "dns_san_peer_certificate",
                    "dns_san_local_certificate", "subject_peer_certificate", "subject_local_certificate",
                    "sha256_peer_certificate_digest"),
            "xds", Set.of("cluster_name", "route_name"),
            "upstream_peer", peerFields(),
            "downstream_peer", peerFields());

    private static Set<String> peerFields() {
        return Set.of("app", "version", "service", "revision", "workload", "namespace", "cluster");
    }

    /**
     * Attribute values of one request or connection: a String, Long, Boolean, Map, {@link java.time.Instant} (a
     * timestamp) or {@link java.time.Duration}, or null when absent.
     */
    @FunctionalInterface
    public interface Activation {
        Object attribute(String root, String field);
    }

    /** An evaluation that has no value (an absent attribute, a type error). */
    public static final class EvalError extends RuntimeException {
        EvalError(String message) {
            super(message, null, false, false);
        }
    }

    /** The type of an attribute's value as Envoy's attribute list gives it; DYN for one not listed here. */
    static CelNode.Type typeOf(String root, String field) {
        return switch (field) {
            case "headers", "trailers" -> CelNode.Type.MAP;
            case "code", "grpc_status", "flags", "size", "port" -> CelNode.Type.INT;
            case "time" -> CelNode.Type.TIMESTAMP;
            case "duration" -> CelNode.Type.DURATION;
            case "mtls" -> CelNode.Type.BOOL;
            default -> root.equals("connection") && !field.equals("requested_server_name")
                    && !field.equals("termination_details") ? CelNode.Type.DYN : CelNode.Type.STRING;
        };
    }

    private final String source;
    private final CelNode root;
    private final Set<String> headerNames;
    private final Set<String> responseHeaderNames;

    private AttributeExpression(String source, CelNode root, Set<String> headerNames, Set<String> responseHeaderNames) {
        this.source = source;
        this.root = root;
        this.headerNames = Set.copyOf(headerNames);
        this.responseHeaderNames = Set.copyOf(responseHeaderNames);
    }

    public String source() {
        return source;
    }

    /** The request headers the expression reads (lower case): a proxy can keep just these of a request. */
    public Set<String> headerNames() {
        return headerNames;
    }

    /**
     * The response headers and trailers the expression reads ({@code response.headers['x']},
     * {@code response.trailers['x']}, {@code 'x' in response.headers}; lower case): a proxy keeps the response's only
     * when some expression reads one.
     */
    public Set<String> responseHeaderNames() {
        return responseHeaderNames;
    }

    /** Parses {@code text}; throws {@link IllegalArgumentException} with the reason and the position. */
    public static AttributeExpression parse(String text) {
        CelParser p = new CelParser(text);
        CelNode n = p.ternary();
        if (!p.atEnd()) {
            throw p.error("unexpected '" + p.peek() + "'");
        }
        return new AttributeExpression(text, n, p.requestHeaders, p.responseHeaders);
    }

    /**
     * Whether the value can be a bool, as far as the parser knows its type: false for a literal, an attribute or a call
     * whose type is another, a {@code +}, or a ternary whose branches are neither; true otherwise.
     */
    public boolean mayBeBool() {
        return mayBeBool(root);
    }

    private static boolean mayBeBool(CelNode n) {
        if (n instanceof CelNode.Binary b && b.op().equals("+")) {
            return false;   // never a bool, whatever its operands
        }
        if (n instanceof CelNode.Ternary t) {
            return mayBeBool(t.then()) || mayBeBool(t.otherwise());
        }
        return n.type() == CelNode.Type.BOOL || n.type() == CelNode.Type.DYN;
    }

    /**
     * Whether the expression is true for {@code a}, as Envoy's CEL filters decide: an evaluation without a value (an
     * absent attribute, a type error) or a value that is not a bool is false.
     */
    public boolean test(Activation a) {
        try {
            return Boolean.TRUE.equals(root.eval(a));
        } catch (EvalError | ClassCastException | NullPointerException e) {
            return false;
        }
    }

    /** The value; throws {@link EvalError} when it has none. */
    public Object eval(Activation a) {
        return root.eval(a);
    }

    /**
     * The value as a metric label prints it (CEL's {@code string()}: ints in decimal, bools as true/false, a duration
     * as "1.5s", a timestamp in RFC 3339), or "unknown" (no value, or a list or map).
     */
    public String label(Activation a) {
        try {
            String v = CelValues.print(root.eval(a));
            return v == null ? "unknown" : v;
        } catch (EvalError | ClassCastException e) {
            return "unknown";
        }
    }

    @Override
    public String toString() {
        return source;
    }

}
