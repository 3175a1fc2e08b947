package io.mesh.gateway.proxy;

import io.vertx.core.MultiMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Copies headers between the two hops of a proxied exchange, leaving out hop-by-hop headers (RFC 9110 7.6.1). */
final class HopByHop {

    private static final Set<String> HOP = Set.of("connection", "keep-alive", "proxy-connection", "transfer-encoding",
            "te", "upgrade", "proxy-authenticate", "proxy-authorization", "trailer", "host", "http2-settings");

    private HopByHop() {
    }

    /** Copies {@code from} into {@code to}, without hop-by-hop headers, pseudo-headers, and headers named by Connection. */
    static void copy(MultiMap from, MultiMap to, boolean keepUpgrade) {
        String connection = from.get("connection");
        Set<String> named = connection == null ? Set.of() : namedIn(connection);
        for (Map.Entry<String, String> e : from) {
            String name = e.getKey();
            if (name.isEmpty() || name.charAt(0) == ':') {
                continue;
            }
            String lower = name.toLowerCase(Locale.ROOT);
            if (HOP.contains(lower) || named.contains(lower)) {
                if (keepUpgrade && (lower.equals("upgrade") || lower.equals("connection"))) {
                    to.add(name, e.getValue());
                }
                continue;
            }
            if (lower.equals("te") && !e.getValue().equalsIgnoreCase("trailers")) {
                continue;
            }
            to.add(name, e.getValue());
        }
        String te = from.get("te");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("trailers")) {
            to.set("te", "trailers");
        }
    }

    private static Set<String> namedIn(String connection) {
        String[] parts = connection.split(",");
        java.util.HashSet<String> s = new java.util.HashSet<>();
        for (String p : parts) {
            String t = p.trim().toLowerCase(Locale.ROOT);
            if (!t.equals("keep-alive") && !t.equals("close") && !t.equals("upgrade")) {
                s.add(t);
            }
        }
        return s;
    }
}
