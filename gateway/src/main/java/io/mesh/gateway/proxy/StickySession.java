package io.mesh.gateway.proxy;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.mesh.gateway.route.StatefulSession;
import io.vertx.core.MultiMap;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * One request's stateful session, as Envoy's stateful session filter and its cookie and header session states keep it
 * (envoy source/extensions/filters/http/stateful_session, source/extensions/http/stateful_session/cookie and header):
 * the endpoint address the request names, and on the response the address actually used, written back when it
 * differs. A header carries base64 of {@code ip:port}. A cookie carries base64 of Envoy's {@code envoy.Cookie} message
 * ({@code address = 1}, {@code expires = 2}: seconds of the monotonic clock, set when the cookie has a TTL); a cookie
 * whose value is not that message is read as the older plain {@code ip:port}, and one past its expiry names nothing.
 * The Set-Cookie is Envoy's: {@code NAME="VALUE"; Max-Age=TTL; Path=PATH; HttpOnly} (Max-Age only with a TTL, Path only
 * when set). A cookie session applies only to request paths its Path covers. Confined to the request's event loop.
 */
final class StickySession {
    /** envoy.Cookie's tags: field 1 length-delimited, field 2 varint. */
    private static final int ADDRESS_TAG = (1 << 3) | WireFormat.WIRETYPE_LENGTH_DELIMITED;
    private static final int EXPIRES_TAG = (2 << 3) | WireFormat.WIRETYPE_VARINT;
    final StatefulSession config;
    /** The address the request names (a valid, unexpired one), or null: the load balancer picks. */
    final String requested;

    private StickySession(StatefulSession config, String requested) {
        this.config = config;
        this.requested = requested;
    }

    /** The request's session under {@code config} (null: none), or null when the config does not apply to its path. */
    static StickySession of(StatefulSession config, MultiMap headers, String path) {
        if (config == null) {
            return null;
        }
        if (config.state() instanceof StatefulSession.Cookie c) {
            if (!pathMatches(c.path(), path)) {
                return null;
            }
            return new StickySession(config, cookieAddress(cookie(headers, c.name()), nowSeconds()));
        }
        StatefulSession.Header h = (StatefulSession.Header) config.state();
        String v = headers.get(h.name());
        String address = v == null ? null : decode(v);
        return new StickySession(config, address == null || address.isEmpty() ? null : address);
    }

    /** Writes the session's new endpoint on the response when it is not the one the request named. */
    void onResponse(MultiMap responseHeaders, String used) {
        if (used.equals(requested)) {
            return;
        }
        if (config.state() instanceof StatefulSession.Cookie c) {
            responseHeaders.add("set-cookie", setCookie(c, encodeCookie(used, c.ttlSeconds(), nowSeconds())));
        } else {
            responseHeaders.set(((StatefulSession.Header) config.state()).name(),
                    Base64.getEncoder().encodeToString(used.getBytes(StandardCharsets.UTF_8)));
        }
    }

    /**
     * Envoy's cookie path matcher: no path or "/" matches every path; a path ending in "/" is a prefix; else the request
     * path equals it or continues it with '/', '?' or '#'.
     */
    static boolean pathMatches(String cookiePath, String requestPath) {
        if (cookiePath.isEmpty() || cookiePath.equals("/")) {
            return true;
        }
        if (!requestPath.startsWith(cookiePath)) {
            return false;
        }
        if (cookiePath.endsWith("/") || requestPath.length() == cookiePath.length()) {
            return true;
        }
        char next = requestPath.charAt(cookiePath.length());
        return next == '/' || next == '?' || next == '#';
    }

    /** The session cookie's value ({@link io.mesh.gateway.route.Cookies}, Envoy's parseCookieValue), or null. */
    static String cookie(MultiMap headers, String name) {
        return io.mesh.gateway.route.Cookies.value(headers.getAll("cookie"), name);
    }

    /** The address a cookie value names at {@code now} (monotonic seconds), or null. */
    static String cookieAddress(String value, long now) {
        if (value == null || value.isEmpty()) {
            return null;
        }
        byte[] bytes = decodeBytes(value);
        if (bytes == null || bytes.length == 0) {
            return null;
        }
        String decoded = new String(bytes, StandardCharsets.UTF_8);
        String address = null;
        long expires = 0;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                if (tag == ADDRESS_TAG) {
                    address = in.readStringRequireUtf8();
                } else if (tag == EXPIRES_TAG) {
                    expires = in.readUInt64();
                } else if (!in.skipField(tag)) {
                    break;
                }
            }
        } catch (IOException notTheMessage) {
            return decoded;   // the older format: the address itself
        }
        if (address == null || address.isEmpty()) {
            return null;
        }
        return expires != 0 && Long.compareUnsigned(now, expires) > 0 ? null : address;
    }

    /** A cookie value naming {@code address}, expiring {@code ttlSeconds} from {@code now} (none for 0). */
    static String encodeCookie(String address, long ttlSeconds, long now) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            out.writeString(1, address);
            if (ttlSeconds != 0) {
                out.writeUInt64(2, now + ttlSeconds);
            }
            out.flush();
            return Base64.getEncoder().encodeToString(bytes.toByteArray());
        } catch (IOException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    static String setCookie(StatefulSession.Cookie c, String value) {
        StringBuilder b = new StringBuilder(c.name()).append("=\"").append(value).append('"');
        if (c.ttlSeconds() != 0) {
            b.append("; Max-Age=").append(c.ttlSeconds());
        }
        if (!c.path().isEmpty()) {
            b.append("; Path=").append(c.path());
        }
        return b.append("; HttpOnly").toString();
    }

    /** Base64 (standard alphabet) as text, or null when it is not base64 (Envoy's decode gives nothing then). */
    private static String decode(String value) {
        byte[] bytes = decodeBytes(value);
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    private static byte[] decodeBytes(String value) {
        try {
            return Base64.getDecoder().decode(value.trim());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Envoy's expiry clock: the monotonic clock (CLOCK_MONOTONIC, as System.nanoTime reads it on Linux), in seconds. */
    static long nowSeconds() {
        return System.nanoTime() / 1_000_000_000L;
    }
}
