package io.mesh.gateway.proxy;

import io.vertx.core.MultiMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Copies headers between the two hops of a proxied exchange, leaving out hop-by-hop headers (RFC 9110 7.6.1). */
final class HopByHop {

    private HopByHop() {
    }

    /** Copies {@code from} into {@code to}, without hop-by-hop headers, pseudo-headers, and headers named by Connection. */
    static void copy(MultiMap from, MultiMap to, boolean keepUpgrade) {
        String connection = from.get("connection");
        Set<String> named = connection == null ? Set.of() : namedIn(connection);
        boolean trailers = false;
        for (Map.Entry<String, String> e : from) {
            String name = e.getKey();
            if (name.isEmpty() || name.charAt(0) == ':') {
                continue;
            }
            if (isHop(name)) {
                if (keepUpgrade && (name.equalsIgnoreCase("upgrade") || name.equalsIgnoreCase("connection"))) {
                    to.add(name, e.getValue());
                } else if (name.length() == 2 && e.getValue().toLowerCase(Locale.ROOT).contains("trailers")) {
                    trailers = true;
                }
                continue;
            }
            if (!named.isEmpty() && named.contains(name.toLowerCase(Locale.ROOT))) {
                continue;
            }
            to.add(name, e.getValue());
        }
        if (trailers) {
            to.set("te", "trailers");
        }
    }

    /**
     * The same result as {@link #copy} into an empty map, done in place (the fast path reuses the decoded header map
     * of one hop for the next): hop-by-hop headers, pseudo-headers and headers named by Connection are removed,
     * {@code te: trailers} is kept, the rest keeps its order.
     */
    static void stripInPlace(MultiMap h) {
        java.util.List<String> drop = null;
        String connection = null;
        boolean trailers = false;
        boolean seenConnection = false;
        for (Map.Entry<String, String> e : h) {
            String name = e.getKey();
            if (name.isEmpty() || name.charAt(0) == ':' || isHop(name)) {
                if (drop == null) {
                    drop = new java.util.ArrayList<>(4);
                }
                drop.add(name);
                if (name.length() == 2 && e.getValue().toLowerCase(Locale.ROOT).contains("trailers")) {
                    trailers = true;
                } else if (!seenConnection && name.length() == 10 && name.equalsIgnoreCase("connection")) {
                    seenConnection = true;   // the first one, as copy() reads it
                    connection = e.getValue();
                }
            }
        }
        if (drop == null) {
            return;
        }
        for (int i = 0; i < drop.size(); i++) {
            h.remove(drop.get(i));
        }
        if (connection != null) {
            for (String named : namedIn(connection)) {
                h.remove(named);
            }
        }
        if (trailers) {
            h.set("te", "trailers");
        }
    }

    /** A case-insensitive membership test that allocates nothing: it runs for every header of every request. */
    static boolean isHop(String name) {
        return switch (name.length()) {
            case 2 -> name.equalsIgnoreCase("te");
            case 4 -> name.equalsIgnoreCase("host");
            case 7 -> name.equalsIgnoreCase("upgrade") || name.equalsIgnoreCase("trailer");
            case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
            case 14 -> name.equalsIgnoreCase("http2-settings");
            case 16 -> name.equalsIgnoreCase("proxy-connection");
            case 17 -> name.equalsIgnoreCase("transfer-encoding");
            case 18 -> name.equalsIgnoreCase("proxy-authenticate");
            case 19 -> name.equalsIgnoreCase("proxy-authorization");
            default -> false;
        };
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
