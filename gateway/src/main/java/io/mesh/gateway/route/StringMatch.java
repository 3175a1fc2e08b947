package io.mesh.gateway.route;

import java.util.Locale;
import java.util.regex.Pattern;

/** One compiled Envoy StringMatcher. Regexes are compiled once, when the table is built. */
public record StringMatch(Kind kind, String value, Pattern regex, boolean ignoreCase) {

    public enum Kind { EXACT, PREFIX, SUFFIX, CONTAINS, REGEX, PRESENT }

    public static StringMatch exact(String v) {
        return new StringMatch(Kind.EXACT, v, null, false);
    }

    public static StringMatch present() {
        return new StringMatch(Kind.PRESENT, "", null, false);
    }

    public static StringMatch regex(String v) {
        return new StringMatch(Kind.REGEX, v, Pattern.compile(v), false);
    }

    public boolean matches(String actual) {
        if (actual == null) {
            return false;
        }
        if (kind == Kind.REGEX) {
            return regex.matcher(actual).matches();
        }
        String a = ignoreCase ? actual.toLowerCase(Locale.ROOT) : actual;
        String v = ignoreCase ? value.toLowerCase(Locale.ROOT) : value;
        return switch (kind) {
            case EXACT -> a.equals(v);
            case PREFIX -> a.startsWith(v);
            case SUFFIX -> a.endsWith(v);
            case CONTAINS -> a.contains(v);
            case PRESENT -> true;
            case REGEX -> false;
        };
    }
}
