package io.mesh.config;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Validates an HTTPRoute's {@code CORS} filter (Gateway API v1.3, experimental) as its CRD schema does, and what the
 * router's translation needs: origins it can match, methods and header names that are tokens.
 */
final class KubernetesHttpCorsParser {
    /**
     * An origin {@code SCHEME://HOST[:PORT]} (no path), whose host may be "*" or start with "*." (the Gateway API's
     * wildcard origins), or an IP address.
     */
    static final Pattern ORIGIN = Pattern.compile(
            "[A-Za-z][A-Za-z0-9+.-]*://(\\*|(\\*\\.)?[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*)(:\\d{1,5})?");
    /** An HTTP header name: RFC 9110's token. */
    static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    /** The CRD's maxItems of allowOrigins, allowHeaders and exposeHeaders. */
    static final int MAX_ITEMS = 64;

    private KubernetesHttpCorsParser() {
    }

    static KubernetesHttpRoute.Cors parse(SpecReader c) {
        Problems p = c.problems();
        c.allow("allowOrigins", "allowCredentials", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge");
        List<String> origins = items(c, "allowOrigins");
        for (int i = 0; i < origins.size(); i++) {
            String o = origins.get(i);
            if (!o.equals("*") && !ORIGIN.matcher(o).matches()) {
                p.error(c.at("allowOrigins") + "[" + i + "]", "must be \"*\" or an origin SCHEME://HOST[:PORT] (the"
                        + " host may be \"*\" or start with \"*.\"), got \"" + o + "\"");
            }
        }
        List<String> methods = c.strings("allowMethods");
        for (int i = 0; i < methods.size(); i++) {
            String m = methods.get(i);
            if (!m.equals("*") && !KubernetesHttpRouteParser.METHODS.contains(m)) {
                p.error(c.at("allowMethods") + "[" + i + "]", "must be \"*\" or one of " + String.join(", ",
                        new java.util.TreeSet<>(KubernetesHttpRouteParser.METHODS)) + ", got \"" + m + "\"");
            }
        }
        if (methods.contains("*") && methods.size() > 1) {
            p.error(c.at("allowMethods"), "\"*\" allows every method and must be the only one");
        }
        List<String> headers = headerNames(c, "allowHeaders");
        List<String> expose = headerNames(c, "exposeHeaders");
        Integer maxAge = c.integer("maxAge");
        if (maxAge != null && maxAge < 1) {
            p.error(c.at("maxAge"), "must be at least 1 (seconds), got " + maxAge);
        }
        Boolean credentials = c.bool("allowCredentials");
        return new KubernetesHttpRoute.Cors(origins, Boolean.TRUE.equals(credentials), methods, headers, expose,
                maxAge);
    }

    private static List<String> headerNames(SpecReader c, String field) {
        List<String> names = items(c, field);
        for (int i = 0; i < names.size(); i++) {
            if (!HEADER_NAME.matcher(names.get(i)).matches()) {
                c.problems().error(c.at(field) + "[" + i + "]", "must be an HTTP header name, got \"" + names.get(i)
                        + "\"");
            }
        }
        return names;
    }

    private static List<String> items(SpecReader c, String field) {
        List<String> items = c.strings(field);
        if (items.size() > MAX_ITEMS) {
            c.problems().error(c.at(field), "must have at most " + MAX_ITEMS + " entries, got " + items.size());
        }
        return items;
    }
}
