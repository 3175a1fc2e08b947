package io.mesh.config;

/**
 * Istio's StringMatch: exactly one of exact, prefix or regex (RE2 syntax; checked with java.util.regex). For headers
 * and query parameters an empty match ({@code {}}) means "present, whatever the value" ({@link Type#PRESENT}), as
 * istiod translates it.
 */
public record StringMatch(Type type, String value) {
    public enum Type { EXACT, PREFIX, REGEX, PRESENT }

    static StringMatch read(SpecReader r) {
        return read(r, false);
    }

    static StringMatch read(SpecReader r, boolean emptyIsPresent) {
        r.allow("exact", "prefix", "regex");
        int set = (r.has("exact") ? 1 : 0) + (r.has("prefix") ? 1 : 0) + (r.has("regex") ? 1 : 0);
        if (set == 0 && emptyIsPresent && !r.node().fieldNames().hasNext()) {
            return new StringMatch(Type.PRESENT, null);
        }
        if (set != 1) {
            r.problems().error(r.path(), "exactly one of exact, prefix or regex must be set"
                    + (emptyIsPresent ? " (or none, {}, for \"present\")" : ""));
            return null;
        }
        if (r.has("exact")) {
            return new StringMatch(Type.EXACT, r.string("exact"));
        }
        if (r.has("prefix")) {
            return new StringMatch(Type.PREFIX, r.string("prefix"));
        }
        String regex = r.string("regex");
        try {
            java.util.regex.Pattern.compile(regex);
        } catch (RuntimeException e) {
            r.problems().error(r.at("regex"), "invalid regex \"" + regex + "\": " + e.getMessage().lines().findFirst().orElse(""));
            return null;
        }
        return new StringMatch(Type.REGEX, regex);
    }
}
