package io.mesh.config;

import io.mesh.config.CelNode.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Recursive descent over {@link AttributeExpression}'s CEL subset, one method per precedence level (CEL's: ?:, ||, &&,
 * relations and {@code in}, +, unary, member calls), checking as it goes: an attribute outside
 * {@link AttributeExpression#ATTRIBUTES}, a call {@link CelFunctions} refuses or a syntax error is an
 * {@link IllegalArgumentException} naming the position. Records the header names the expression reads, so a proxy
 * keeps only those. One use per parse.
 */
final class CelParser {
    private final String s;
    int pos;
    /** The request headers {@code request.headers['...']} and {@code '...' in request.headers} read, lower case. */
    final Set<String> requestHeaders = new TreeSet<>();
    /** The response headers and trailers ({@code response.headers}, {@code response.trailers}) read, lower case. */
    final Set<String> responseHeaders = new TreeSet<>();

    CelParser(String s) {
        this.s = s;
    }

    IllegalArgumentException error(String what) {
        return errorAt(pos, what);
    }

    IllegalArgumentException errorAt(int at, String what) {
        return new IllegalArgumentException(what + " at position " + at + " of \"" + s + "\"");
    }

    boolean atEnd() {
        skipSpace();
        return pos >= s.length();
    }

    char peek() {
        return s.charAt(pos);
    }

    void skipSpace() {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
            pos++;
        }
    }

    private boolean eat(String token) {
        skipSpace();
        if (s.startsWith(token, pos)) {
            pos += token.length();
            return true;
        }
        return false;
    }

    /** The keyword {@code word}, not the start of a longer name. */
    private boolean eatWord(String word) {
        skipSpace();
        int end = pos + word.length();
        if (s.startsWith(word, pos) && (end >= s.length() || !isNameChar(s.charAt(end)))) {
            pos = end;
            return true;
        }
        return false;
    }

    private static boolean isNameChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }

    CelNode ternary() {
        CelNode cond = or();
        if (eat("?")) {
            CelNode then = ternary();
            if (!eat(":")) {
                throw error("expected ':'");
            }
            return new CelNode.Ternary(cond, then, ternary());
        }
        return cond;
    }

    private CelNode or() {
        CelNode n = and();
        while (eat("||")) {
            n = new CelNode.Binary("||", n, and());
        }
        return n;
    }

    private CelNode and() {
        CelNode n = relation();
        while (eat("&&")) {
            n = new CelNode.Binary("&&", n, relation());
        }
        return n;
    }

    private CelNode relation() {
        CelNode n = sum();
        while (true) {
            if (eatWord("in")) {
                skipSpace();
                int containerAt = pos;
                n = in(n, sum(), containerAt);
                continue;
            }
            String op = eat("==") ? "==" : eat("!=") ? "!=" : eat("<=") ? "<=" : eat(">=") ? ">="
                    : eat("<") ? "<" : eat(">") ? ">" : null;
            if (op == null) {
                return n;
            }
            n = new CelNode.Binary(op, n, sum());
        }
    }

    /**
     * {@code element in container}: a list or a map. A map of headers takes a string literal key here, so the proxy
     * knows which headers to keep.
     */
    private CelNode in(CelNode element, CelNode container, int containerAt) {
        Type t = container.type();
        if (t != Type.LIST && t != Type.MAP && t != Type.DYN) {
            throw errorAt(containerAt, "no matching overload for 'in' on " + t.celName + " (takes a list or a map)");
        }
        if (container instanceof CelNode.Attribute a && a.headerMap()) {
            if (!(element instanceof CelNode.Literal l && l.value() instanceof String key)) {
                throw errorAt(containerAt, "'in " + a.root() + "." + a.field() + "' takes a string literal here");
            }
            headerRead(a.root(), key);
        }
        return new CelNode.In(element, container);
    }

    private CelNode sum() {
        CelNode n = unary();
        while (eat("+")) {
            n = new CelNode.Binary("+", n, unary());
        }
        return n;
    }

    private CelNode unary() {
        skipSpace();
        if (pos < s.length() && s.charAt(pos) == '!' && !s.startsWith("!=", pos)) {
            pos++;
            return new CelNode.Not(unary());
        }
        return member();
    }

    /** A primary, then its member calls: {@code x.f(args)}. */
    private CelNode member() {
        skipSpace();
        int at = pos;
        CelNode n = primary();
        while (eat(".")) {
            skipSpace();
            int nameAt = pos;
            String name = ident();
            if (!eat("(")) {
                pos = nameAt;
                if (n instanceof CelNode.Attribute a) {
                    throw error("attribute \"" + a.root() + "." + a.field() + "\" has no fields (use [\"key\"] on maps)");
                }
                throw error("expected a call: ." + name + "(...)");
            }
            CelFunctions.checkName(name, nameAt, true, this::errorAt);
            List<Integer> argAt = new ArrayList<>();
            List<CelNode> args = arguments(argAt);
            n = CelFunctions.call(name, nameAt, n, at, args, argAt, this::errorAt);
        }
        return n;
    }

    /** Arguments up to the closing parenthesis (the opening one eaten), each position into {@code at}. */
    private List<CelNode> arguments(List<Integer> at) {
        List<CelNode> args = new ArrayList<>();
        if (eat(")")) {
            return args;
        }
        do {
            skipSpace();
            at.add(pos);
            args.add(ternary());
        } while (eat(","));
        if (!eat(")")) {
            throw error("expected ')'");
        }
        return args;
    }

    private CelNode primary() {
        skipSpace();
        if (pos >= s.length()) {
            throw error("unexpected end");
        }
        char c = s.charAt(pos);
        if (c == '(') {
            pos++;
            CelNode n = ternary();
            if (!eat(")")) {
                throw error("expected ')'");
            }
            return n;
        }
        if (c == '[') {
            pos++;
            return list();
        }
        if (c == '\'' || c == '"') {
            return new CelNode.Literal(string(false));
        }
        if ((c == 'r' || c == 'R') && pos + 1 < s.length() && (s.charAt(pos + 1) == '\'' || s.charAt(pos + 1) == '"')) {
            pos++;
            return new CelNode.Literal(string(true));
        }
        if (Character.isDigit(c) || (c == '-' && pos + 1 < s.length() && Character.isDigit(s.charAt(pos + 1)))) {
            return new CelNode.Literal(integer());
        }
        if (!Character.isLetter(c) && c != '_') {
            throw error("unexpected '" + c + "'");
        }
        int at = pos;
        String name = ident();
        switch (name) {
            case "true": return new CelNode.Literal(Boolean.TRUE);
            case "false": return new CelNode.Literal(Boolean.FALSE);
            case "null": return new CelNode.Literal(null);
            case "has": {
                if (!eat("(")) {
                    throw error("expected '(' after has");
                }
                skipSpace();
                int argAt = pos;
                CelNode.Attribute arg = attribute(ident(), argAt);
                if (!eat(")")) {
                    throw error("expected ')'");
                }
                return new CelNode.Has(arg);
            }
            default:
                if (eat("(")) {
                    CelFunctions.checkName(name, at, false, this::errorAt);
                    List<Integer> argAt = new ArrayList<>();
                    List<CelNode> args = arguments(argAt);
                    return CelFunctions.call(name, at, null, at, args, argAt, this::errorAt);
                }
                return attribute(name, at);
        }
    }

    /** A list literal (the {@code [} eaten): a constant one is built once, here. */
    private CelNode list() {
        List<CelNode> elements = new ArrayList<>();
        if (!eat("]")) {
            do {
                elements.add(ternary());
            } while (eat(","));
            if (!eat("]")) {
                throw error("expected ']'");
            }
        }
        if (elements.stream().allMatch(e -> e instanceof CelNode.Literal)) {
            return new CelNode.Literal(java.util.Collections.unmodifiableList(java.util.Arrays.asList(
                    elements.stream().map(e -> ((CelNode.Literal) e).value()).toArray())));
        }
        return new CelNode.ListOf(elements.toArray(CelNode[]::new));
    }

    private Long integer() {
        int start = pos++;
        while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
            pos++;
        }
        String digits = s.substring(start, pos);
        if (pos + 1 < s.length() && s.charAt(pos) == '.' && Character.isDigit(s.charAt(pos + 1))
                || pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            throw error("doubles are not served (use an int, or a duration('1.5s'))");
        }
        if (pos < s.length() && (s.charAt(pos) == 'u' || s.charAt(pos) == 'U')) {
            // A uint (response.flags is one): a number like the ints here, compared by value.
            if (digits.startsWith("-")) {
                throw error("a uint cannot be negative");
            }
            pos++;
        }
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw error("integer out of range");
        }
    }

    private CelNode.Attribute attribute(String rootName, int at) {
        Set<String> fields = AttributeExpression.ATTRIBUTES.get(rootName);
        if (fields == null) {
            pos = at;
            throw error("unknown attribute \"" + rootName + "\" (served: " + AttributeExpression.ATTRIBUTES.keySet()
                    .stream().sorted().toList() + ")");
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
        Type type = AttributeExpression.typeOf(rootName, field);
        if (!eat("[")) {
            return new CelNode.Attribute(rootName, field, null, type);
        }
        skipSpace();
        int keyAt = pos;
        CelNode key = ternary();
        if (!(key instanceof CelNode.Literal l && l.value() instanceof String k)) {
            pos = keyAt;
            throw error(rootName + "." + field + " is indexed by a string literal here");
        }
        if (!eat("]")) {
            throw error("expected ']'");
        }
        headerRead(rootName, k);
        return new CelNode.Attribute(rootName, field, k, Type.STRING);
    }

    private void headerRead(String root, String name) {
        (root.equals("request") ? requestHeaders : responseHeaders).add(name.toLowerCase(Locale.ROOT));
    }

    private String ident() {
        int start = pos;
        while (pos < s.length() && isNameChar(s.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a name");
        }
        return s.substring(start, pos);
    }

    /** A quoted string (CEL's escapes), or a raw one ({@code r'...'}, for regexes) when {@code raw}. */
    private String string(boolean raw) {
        char quote = s.charAt(pos++);
        StringBuilder b = new StringBuilder();
        while (pos < s.length()) {
            char c = s.charAt(pos++);
            if (c == quote) {
                return b.toString();
            }
            if (c == '\\' && !raw && pos < s.length()) {
                b.append(escape());
            } else {
                b.append(c);
            }
        }
        throw error("unterminated string");
    }

    /** CEL's escape after a backslash; another one is an error, as in CEL (a regex's {@code \d} is written {@code \\d}). */
    private String escape() {
        int at = pos - 1;
        char e = s.charAt(pos++);
        return switch (e) {
            case 'n' -> "\n";
            case 't' -> "\t";
            case 'r' -> "\r";
            case 'a' -> "\u0007";
            case 'b' -> "\b";
            case 'f' -> "\f";
            case 'v' -> "\u000b";
            case '\\', '\'', '"', '`', '?' -> String.valueOf(e);
            case 'x', 'u', 'U' -> {
                int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                if (pos + digits > s.length()) {
                    throw errorAt(at, "invalid escape \\" + e);
                }
                try {
                    int cp = Integer.parseInt(s.substring(pos, pos + digits), 16);
                    pos += digits;
                    yield new String(Character.toChars(cp));
                } catch (IllegalArgumentException ex) {
                    throw errorAt(at, "invalid escape \\" + e);
                }
            }
            default -> throw errorAt(at, "invalid escape \\" + e + " (a regex's backslash is written \\\\, or use r'...')");
        };
    }
}
