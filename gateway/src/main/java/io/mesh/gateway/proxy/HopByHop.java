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
        // Names to drop, collected first (the map cannot change while it is iterated); rarely more than one or two.
        String[] drop = null;
        int drops = 0;
        String connection = null;
        boolean trailers = false;
        boolean seenConnection = false;
        for (Map.Entry<String, String> e : h) {
            String name = e.getKey();
            if (name.isEmpty() || name.charAt(0) == ':' || isHop(name)) {
                if (drop == null) {
                    drop = new String[4];
                } else if (drops == drop.length) {
                    drop = java.util.Arrays.copyOf(drop, drops * 2);
                }
                drop[drops++] = name;
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
        for (int i = 0; i < drops; i++) {
            h.remove(drop[i]);
        }
        if (connection != null) {
            removeNamedIn(connection, h);
        }
        if (trailers) {
            h.set("te", "trailers");
        }
    }

    /** Whether a Connection value names headers to remove (anything but keep-alive, close and upgrade); null: no. */
    static boolean namesHeaders(String connection) {
        return connection != null && named(connection, null);
    }

    /** Removes the headers a Connection value names (as {@link #namedIn}, without building the set). */
    private static void removeNamedIn(String connection, MultiMap h) {
        named(connection, h);
    }

    /**
     * Walks the tokens of a Connection value; each one that names a header is removed from {@code h}, or, when
     * {@code h} is null, the answer is true at the first. Nothing is allocated for the usual keep-alive or close.
     */
    private static boolean named(String connection, MultiMap h) {
        int n = connection.length();
        int start = 0;
        boolean any = false;
        while (true) {
            int comma = connection.indexOf(',', start);
            int a = start;
            int b = comma < 0 ? n : comma;
            while (a < b && connection.charAt(a) <= ' ') {
                a++;
            }
            while (b > a && connection.charAt(b - 1) <= ' ') {
                b--;
            }
            int len = b - a;
            if (len > 0 && !(len == 10 && connection.regionMatches(true, a, "keep-alive", 0, 10))
                    && !(len == 5 && connection.regionMatches(true, a, "close", 0, 5))
                    && !(len == 7 && connection.regionMatches(true, a, "upgrade", 0, 7))) {
                if (h == null) {
                    return true;
                }
                any = true;
                h.remove(connection.substring(a, b).toLowerCase(Locale.ROOT));
            }
            if (comma < 0) {
                return any;
            }
            start = comma + 1;
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
