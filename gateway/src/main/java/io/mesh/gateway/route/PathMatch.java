package io.mesh.gateway.route;

import java.util.regex.Pattern;

/** How a route matches the request path (without the query). */
public record PathMatch(Kind kind, String value, Pattern regex, boolean caseSensitive) {

    public enum Kind { PREFIX, EXACT, REGEX, SEPARATED_PREFIX }

    public boolean matches(String path) {
        return switch (kind) {
            case PREFIX -> caseSensitive ? path.startsWith(value) : path.regionMatches(true, 0, value, 0, value.length());
            case EXACT -> caseSensitive ? path.equals(value) : path.equalsIgnoreCase(value);
            case REGEX -> regex.matcher(path).matches();
            case SEPARATED_PREFIX -> (caseSensitive ? path.startsWith(value) : path.regionMatches(true, 0, value, 0, value.length()))
                    && (path.length() == value.length() || path.charAt(value.length()) == '/');
        };
    }
}
