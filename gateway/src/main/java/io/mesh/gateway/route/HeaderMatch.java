package io.mesh.gateway.route;

/** A header (or pseudo-header such as {@code :method}) or query-parameter condition of a route. */
public record HeaderMatch(String name, StringMatch match, boolean invert) {

    public boolean matches(String actual) {
        boolean m = match.kind() == StringMatch.Kind.PRESENT ? actual != null : match.matches(actual);
        return m != invert;
    }
}
