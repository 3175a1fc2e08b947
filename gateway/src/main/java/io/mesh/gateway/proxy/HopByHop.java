package io.mesh.gateway.proxy;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import java.util.Iterator;
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
        // Names to drop, collected first (the map cannot change while it is iterated): usually one (Connection),
        // kept without an array. Header maps that are also Netty HttpHeaders (Vert.x's) are walked as
        // CharSequences, so decoded names (AsciiString) are not turned into Strings just to be compared.
        Iterator<? extends Map.Entry<? extends CharSequence, ? extends CharSequence>> it =
                h instanceof HttpHeaders hh ? hh.iteratorCharSequence() : h.iterator();
        CharSequence drop0 = null;
        CharSequence[] more = null;
        int mores = 0;
        String connection = null;
        boolean trailers = false;
        while (it.hasNext()) {
            Map.Entry<? extends CharSequence, ? extends CharSequence> e = it.next();
            CharSequence name = e.getKey();
            if (name.length() == 0 || name.charAt(0) == ':' || isHop(name)) {
                if (drop0 == null) {
                    drop0 = name;
                } else {
                    if (more == null) {
                        more = new CharSequence[4];
                    } else if (mores == more.length) {
                        more = java.util.Arrays.copyOf(more, mores * 2);
                    }
                    more[mores++] = name;
                }
                if (name.length() == 2 && e.getValue().toString().toLowerCase(Locale.ROOT).contains("trailers")) {
                    trailers = true;
                } else if (connection == null && name.length() == 10 && AsciiString.contentEqualsIgnoreCase(name, "connection")) {
                    connection = e.getValue().toString();   // the first one, as copy() reads it
                }
            }
        }
        if (drop0 == null) {
            return;
        }
        h.remove(drop0);
        for (int i = 0; i < mores; i++) {
            h.remove(more[i]);
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
    static boolean isHop(CharSequence name) {
        return switch (name.length()) {
            case 2 -> eq(name, "te");
            case 4 -> eq(name, "host");
            case 7 -> eq(name, "upgrade") || eq(name, "trailer");
            case 10 -> eq(name, "connection") || eq(name, "keep-alive");
            case 14 -> eq(name, "http2-settings");
            case 16 -> eq(name, "proxy-connection");
            case 17 -> eq(name, "transfer-encoding");
            case 18 -> eq(name, "proxy-authenticate");
            case 19 -> eq(name, "proxy-authorization");
            default -> false;
        };
    }

    private static boolean eq(CharSequence name, String lower) {
        return name instanceof String s ? s.equalsIgnoreCase(lower) : AsciiString.contentEqualsIgnoreCase(name, lower);
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
