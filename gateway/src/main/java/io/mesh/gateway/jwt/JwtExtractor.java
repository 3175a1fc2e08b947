package io.mesh.gateway.jwt;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Finds the tokens of a set of providers in a request, as Envoy's extractor: each location (a header with its value
 * prefix, a query parameter, a cookie) remembers the issuers whose providers named it, and a token found there is
 * only accepted from those issuers (a provider without an issuer accepts any). Locations are read headers first, then
 * parameters, then cookies, each kind in name order. Immutable; built once per config.
 */
final class JwtExtractor {

    enum Kind { HEADER, PARAM, COOKIE }

    /** A place tokens are read from, and the issuers allowed there. */
    record Location(Kind kind, String name, String prefix, Set<String> issuers, boolean anyIssuer) {
        boolean allows(String iss) {
            return anyIssuer || issuers.contains(iss == null ? "" : iss);
        }
    }

    /** A token as found, and where. */
    record Token(String value, Location location) {
    }

    /** The characters of a base64url JWT (RFC 4648 §5, plus the dots). */
    private static final String JWT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";

    private final List<Location> locations;
    /** Headers a client may not set itself: a verified token's payload and claim headers (Envoy removes them first). */
    private final Set<String> sanitized;

    JwtExtractor(List<JwtProvider> providers) {
        Map<String, Location> headers = new TreeMap<>();
        Map<String, Location> params = new TreeMap<>();
        Map<String, Location> cookies = new TreeMap<>();
        Set<String> clean = new LinkedHashSet<>();
        for (JwtProvider p : providers) {
            for (JwtProvider.HeaderLocation h : p.fromHeaders()) {
                String name = h.name().toLowerCase(java.util.Locale.ROOT);
                String prefix = h.valuePrefix() == null ? "" : h.valuePrefix();
                add(headers, name + prefix, Kind.HEADER, name, prefix, p.issuer());
            }
            for (String q : p.fromParams()) {
                add(params, q, Kind.PARAM, q, "", p.issuer());
            }
            for (String c : p.fromCookies()) {
                add(cookies, c, Kind.COOKIE, c, "", p.issuer());
            }
            if (p.forwardPayloadHeader() != null) {
                clean.add(p.forwardPayloadHeader().toLowerCase(java.util.Locale.ROOT));
            }
            for (JwtProvider.ClaimToHeader ch : p.claimToHeaders()) {
                clean.add(ch.headerName().toLowerCase(java.util.Locale.ROOT));
            }
        }
        List<Location> all = new ArrayList<>(headers.values());
        all.addAll(params.values());
        all.addAll(cookies.values());
        this.locations = List.copyOf(all);
        this.sanitized = Set.copyOf(clean);
    }

    private static void add(Map<String, Location> into, String key, Kind kind, String name, String prefix, String issuer) {
        Location old = into.get(key);
        Set<String> issuers = new HashSet<>(old == null ? Set.of() : old.issuers());
        boolean any = (old != null && old.anyIssuer()) || issuer.isEmpty();
        if (!issuer.isEmpty()) {
            issuers.add(issuer);
        }
        into.put(key, new Location(kind, name, prefix, Set.copyOf(issuers), any));
    }

    /** Removes the headers only a verified token may set, before any token is looked at. */
    void sanitize(JwtRequest r) {
        for (String h : sanitized) {
            r.removeHeader(h);
        }
    }

    List<Token> extract(JwtRequest r) {
        List<Token> tokens = new ArrayList<>(2);
        Map<String, String> query = null;
        for (Location l : locations) {
            String value = switch (l.kind()) {
                case HEADER -> header(r, l);
                case PARAM -> {
                    if (query == null) {
                        query = query(r.rawQuery());
                    }
                    yield query.get(l.name());
                }
                case COOKIE -> io.mesh.gateway.route.Cookies.value(r.headerValues("cookie"), l.name());
            };
            if (value != null) {
                tokens.add(new Token(value, l));
            }
        }
        return tokens;
    }

    /** All of the header's values joined by ","; with a prefix, the JWT characters after its first occurrence. */
    private static String header(JwtRequest r, Location l) {
        List<String> values = r.headerValues(l.name());
        if (values.isEmpty()) {
            return null;
        }
        String v = values.size() == 1 ? values.get(0) : String.join(",", values);
        if (l.prefix().isEmpty()) {
            return v;
        }
        int at = v.indexOf(l.prefix());
        if (at < 0) {
            return null;
        }
        int start = at + l.prefix().length();
        while (start < v.length() && JWT_CHARS.indexOf(v.charAt(start)) < 0) {
            start++;
        }
        if (start == v.length()) {
            return v;   // nothing token-like after the prefix: the value as it is, as Envoy does
        }
        int end = start;
        while (end < v.length() && JWT_CHARS.indexOf(v.charAt(end)) >= 0) {
            end++;
        }
        return v.substring(start, end);
    }

    /** The first value of each parameter, percent-decoded. */
    static Map<String, String> query(String raw) {
        Map<String, String> out = new java.util.HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = decode(eq < 0 ? pair : pair.substring(0, eq));
            String v = eq < 0 ? "" : decode(pair.substring(eq + 1));
            out.putIfAbsent(k, v);
        }
        return out;
    }

    static String decode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;
        }
    }
}
