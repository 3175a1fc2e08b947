package io.mesh.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The subset of CEL that Istio's metric tag values and access log filters use, over Envoy's attributes: string, int
 * (a uint literal's {@code u} suffix is taken: uints and ints compare as CEL's numbers do), bool and null literals,
 * attribute paths ({@code request.host}, {@code request.headers['x-team']}, {@code upstream_peer.app}), {@code has()},
 * {@code ==}, {@code !=}, {@code <}, {@code <=}, {@code >}, {@code >=}, {@code !}, {@code &&}, {@code ||}, the ternary
 * and {@code +} on strings and ints. Parsed once ({@link #parse}); a parse error or an attribute outside
 * {@link #ATTRIBUTES} is an {@link IllegalArgumentException} naming the position. Evaluation ({@link #eval}) asks an
 * {@link Activation} for attribute values; a missing attribute or a type error is an {@link EvalError}, which Istio's
 * stats filter reports as the value "unknown". Immutable and thread-safe.
 */
public final class AttributeExpression {

    /** The attributes served, by root; a map-valued one ({@code request.headers}) is indexed with {@code [...]}. */
    public static final Map<String, Set<String>> ATTRIBUTES = Map.of(
            "request", Set.of("host", "method", "path", "url_path", "protocol", "headers", "id", "useragent",
                    "referer", "size"),
            "response", Set.of("code", "grpc_status", "flags", "code_details", "size"),
            "source", Set.of("address", "port"),
            "destination", Set.of("address", "port"),
            "upstream", Set.of("address", "port", "transport_failure_reason"),
            "connection", Set.of("mtls", "requested_server_name", "termination_details", "id", "tls_version", "uri_san_peer_certificate", "uri_san_local_certificate", "dns_san_peer_certificate", "dns_san_local_certificate", "subject_peer_certificate", "subject_local_certificate", "sha256_peer_certificate_digest"),
            "xds", Set.of("cluster_name", "route_name"),
            "upstream_peer", peerFields(),
            "downstream_peer", peerFields());

    private static Set<String> peerFields() {
        return Set.of("app", "version", "service", "revision", "workload", "namespace", "cluster");
    }

    /** Attribute values of one request or connection: a String, Long, Boolean or Map, or null when absent. */
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

    private final String source;
    private final Node root;
    private final Set<String> headerNames;

    private AttributeExpression(String source, Node root, Set<String> headerNames) {
        this.source = source;
        this.root = root;
        this.headerNames = Set.copyOf(headerNames);
    }

    public String source() {
        return source;
    }

    /** The request headers the expression reads (lower case): a proxy can keep just these of a request. */
    public Set<String> headerNames() {
        return headerNames;
    }

    /** Parses {@code text}; throws {@link IllegalArgumentException} with the reason and the position. */
    public static AttributeExpression parse(String text) {
        Parser p = new Parser(text);
        Node n = p.ternary();
        p.skipSpace();
        if (p.pos < text.length()) {
            throw p.error("unexpected '" + text.charAt(p.pos) + "'");
        }
        return new AttributeExpression(text, n, p.headers);
    }

    /**
     * Whether the value can be a bool, as far as the expression's shape tells: false for a literal that is not one, a
     * {@code +}, an attribute that is not a bool, or a ternary whose branches are neither; true otherwise.
     */
    public boolean mayBeBool() {
        return mayBeBool(root);
    }

    private static boolean mayBeBool(Node n) {
        if (n instanceof Literal l) {
            return l.value() instanceof Boolean;
        }
        if (n instanceof Binary b) {
            return !b.op().equals("+");
        }
        if (n instanceof Attribute a) {
            return a.root().equals("connection") && a.field().equals("mtls");
        }
        if (n instanceof Ternary t) {
            return mayBeBool(t.then()) || mayBeBool(t.otherwise());
        }
        return true;   // !, has()
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

    /** The value as a metric label prints it (CEL's print: ints in decimal, bools as true/false), or "unknown". */
    public String label(Activation a) {
        try {
            Object v = root.eval(a);
            return v == null ? "unknown" : v.toString();
        } catch (EvalError | ClassCastException e) {
            return "unknown";
        }
    }

    @Override
    public String toString() {
        return source;
    }

    private interface Node {
        Object eval(Activation a);
    }

    private record Literal(Object value) implements Node {
        public Object eval(Activation a) {
            return value;
        }
    }

    /** root.field, and root.field[key] when {@code key} is set. */
    private record Attribute(String root, String field, Node key) implements Node {
        public Object eval(Activation a) {
            Object v = a.attribute(root, field);
            if (key != null) {
                if (!(v instanceof Map<?, ?> m)) {
                    throw new EvalError(root + "." + field + " is not a map");
                }
                v = m.get(key.eval(a));
            }
            if (v == null) {
                throw new EvalError("no such key: " + root + "." + field);
            }
            return v;
        }
    }

    private record Has(Attribute attr) implements Node {
        public Object eval(Activation a) {
            try {
                attr.eval(a);
                return true;
            } catch (EvalError e) {
                return false;
            }
        }
    }

    private record Not(Node n) implements Node {
        public Object eval(Activation a) {
            return !bool(n.eval(a));
        }
    }

    private record Ternary(Node cond, Node then, Node otherwise) implements Node {
        public Object eval(Activation a) {
            return bool(cond.eval(a)) ? then.eval(a) : otherwise.eval(a);
        }
    }

    private record Binary(String op, Node left, Node right) implements Node {
        public Object eval(Activation a) {
            switch (op) {
                case "&&":
                case "||": {
                    // CEL's commutative logic: a side that decides (false for &&, true for ||) wins over an error.
                    boolean decides = op.equals("||");
                    EvalError error = null;
                    try {
                        if (bool(left.eval(a)) == decides) {
                            return decides;
                        }
                    } catch (EvalError e) {
                        error = e;
                    }
                    if (bool(right.eval(a)) == decides) {
                        return decides;
                    }
                    if (error != null) {
                        throw error;
                    }
                    return !decides;
                }
                default:
                    break;
            }
            Object l = left.eval(a);
            Object r = right.eval(a);
            return switch (op) {
                case "==" -> l.equals(r);
                case "!=" -> !l.equals(r);
                case "+" -> {
                    if (l instanceof String ls && r instanceof String rs) {
                        yield ls + rs;
                    }
                    if (l instanceof Long li && r instanceof Long ri) {
                        yield li + ri;
                    }
                    throw new EvalError("no matching overload for '+'");
                }
                default -> compare(op, l, r);
            };
        }
    }

    private static boolean compare(String op, Object l, Object r) {
        int c;
        if (l instanceof Long li && r instanceof Long ri) {
            c = Long.compare(li, ri);
        } else if (l instanceof String ls && r instanceof String rs) {
            c = ls.compareTo(rs);
        } else {
            throw new EvalError("no matching overload for '" + op + "'");
        }
        return switch (op) {
            case "<" -> c < 0;
            case "<=" -> c <= 0;
            case ">" -> c > 0;
            default -> c >= 0;
        };
    }

    private static boolean bool(Object v) {
        if (v instanceof Boolean b) {
            return b;
        }
        throw new EvalError("not a bool");
    }

    /** Recursive descent, one method per precedence level (CEL's: ?:, ||, &&, relations, +, unary). */
    private static final class Parser {
        private final String s;
        private int pos;
        /** The header names {@code request.headers['...']} reads, lower case. */
        private final java.util.Set<String> headers = new java.util.TreeSet<>();

        Parser(String s) {
            this.s = s;
        }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at position " + pos + " of \"" + s + "\"");
        }

        void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
        }

        boolean eat(String token) {
            skipSpace();
            if (s.startsWith(token, pos)) {
                pos += token.length();
                return true;
            }
            return false;
        }

        Node ternary() {
            Node cond = or();
            if (eat("?")) {
                Node then = ternary();
                if (!eat(":")) {
                    throw error("expected ':'");
                }
                return new Ternary(cond, then, ternary());
            }
            return cond;
        }

        Node or() {
            Node n = and();
            while (eat("||")) {
                n = new Binary("||", n, and());
            }
            return n;
        }

        Node and() {
            Node n = relation();
            while (eat("&&")) {
                n = new Binary("&&", n, relation());
            }
            return n;
        }

        Node relation() {
            Node n = sum();
            while (true) {
                String op = eat("==") ? "==" : eat("!=") ? "!=" : eat("<=") ? "<=" : eat(">=") ? ">="
                        : eat("<") ? "<" : eat(">") ? ">" : null;
                if (op == null) {
                    return n;
                }
                n = new Binary(op, n, sum());
            }
        }

        Node sum() {
            Node n = unary();
            while (eat("+")) {
                n = new Binary("+", n, unary());
            }
            return n;
        }

        Node unary() {
            skipSpace();
            if (pos < s.length() && s.charAt(pos) == '!' && !s.startsWith("!=", pos)) {
                pos++;
                return new Not(unary());
            }
            return primary();
        }

        Node primary() {
            skipSpace();
            if (pos >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(pos);
            if (c == '(') {
                pos++;
                Node n = ternary();
                if (!eat(")")) {
                    throw error("expected ')'");
                }
                return n;
            }
            if (c == '\'' || c == '"') {
                return new Literal(string());
            }
            if (Character.isDigit(c) || (c == '-' && pos + 1 < s.length() && Character.isDigit(s.charAt(pos + 1)))) {
                int start = pos++;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
                    pos++;
                }
                String digits = s.substring(start, pos);
                if (pos < s.length() && (s.charAt(pos) == 'u' || s.charAt(pos) == 'U')) {
                    // A uint (response.flags is one): a number like the ints here, compared by value.
                    if (digits.startsWith("-")) {
                        throw error("a uint cannot be negative");
                    }
                    pos++;
                }
                try {
                    return new Literal(Long.parseLong(digits));
                } catch (NumberFormatException e) {
                    throw error("integer out of range");
                }
            }
            if (!Character.isLetter(c) && c != '_') {
                throw error("unexpected '" + c + "'");
            }
            int at = pos;
            String name = ident();
            switch (name) {
                case "true": return new Literal(Boolean.TRUE);
                case "false": return new Literal(Boolean.FALSE);
                case "null": return new Literal(null);
                case "has": {
                    if (!eat("(")) {
                        throw error("expected '(' after has");
                    }
                    skipSpace();
                    int argAt = pos;
                    Node arg = attribute(ident(), argAt);
                    if (!eat(")")) {
                        throw error("expected ')'");
                    }
                    return new Has((Attribute) arg);
                }
                default: return attribute(name, at);
            }
        }

        private Node attribute(String rootName, int at) {
            Set<String> fields = ATTRIBUTES.get(rootName);
            if (fields == null) {
                pos = at;
                throw error("unknown attribute \"" + rootName + "\" (served: " + ATTRIBUTES.keySet().stream().sorted()
                        .toList() + ")");
            }
            if (!eat(".")) {
                throw error("expected '.' after " + rootName);
            }
            skipSpace();
            int fieldAt = pos;
            String field = ident();
            if (!fields.contains(field)) {
                pos = fieldAt;
                throw error("unknown attribute \"" + rootName + "." + field + "\" (served: "
                        + fields.stream().sorted().map(f -> rootName + "." + f).toList() + ")");
            }
            Node key = null;
            if (eat("[")) {
                skipSpace();
                int keyAt = pos;
                key = ternary();
                if (!(key instanceof Literal l && l.value() instanceof String)) {
                    pos = keyAt;
                    throw error(rootName + "." + field + " is indexed by a string literal here");
                }
                if (!eat("]")) {
                    throw error("expected ']'");
                }
                headers.add(((String) ((Literal) key).value()).toLowerCase(java.util.Locale.ROOT));
            } else if (eat(".")) {
                throw error("attribute \"" + rootName + "." + field + "\" has no fields (use [\"key\"] on maps)");
            }
            return new Attribute(rootName, field, key);
        }

        private String ident() {
            int start = pos;
            while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) {
                pos++;
            }
            if (start == pos) {
                throw error("expected a name");
            }
            return s.substring(start, pos);
        }

        private String string() {
            char quote = s.charAt(pos++);
            StringBuilder b = new StringBuilder();
            while (pos < s.length()) {
                char c = s.charAt(pos++);
                if (c == quote) {
                    return b.toString();
                }
                if (c == '\\' && pos < s.length()) {
                    char e = s.charAt(pos++);
                    b.append(switch (e) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        default -> e;
                    });
                } else {
                    b.append(c);
                }
            }
            throw error("unterminated string");
        }
    }
}
