package io.mesh.gateway.proxy;

import static io.mesh.gateway.proxy.FastUpstreamConnection.COLON_SP;
import static io.mesh.gateway.proxy.FastUpstreamConnection.CRLF;
import static io.mesh.gateway.proxy.FastUpstreamConnection.connectionTokens;
import static io.mesh.gateway.proxy.FastUpstreamConnection.equalsIgnoreCase;
import static io.mesh.gateway.proxy.FastUpstreamConnection.fieldBytes;
import static io.mesh.gateway.proxy.FastUpstreamConnection.isOws;
import static io.mesh.gateway.proxy.FastUpstreamConnection.startsWith;
import static io.mesh.gateway.proxy.FastUpstreamConnection.tokenByte;

import io.netty.buffer.ByteBuf;
import io.vertx.core.MultiMap;
import java.nio.charset.StandardCharsets;

/**
 * A plain HTTP/1.1 request head read from bytes by {@link RawRequestReader}: parsed line by line as the bytes arrive
 * (a line is checked once, when its CRLF is there), kept as offsets into the read buffer, without a String per
 * header or a header map. Plain means: {@code METHOD SP origin-form SP HTTP/1.1}, a token method other than
 * CONNECT, a target of visible ASCII, CRLF line ends, token header names, no obs-fold, no control characters in
 * values, exactly one Host, at most one Content-Length (digits), no Transfer-Encoding, TE, Upgrade, Expect or
 * HTTP2-Settings, a Connection header saying only keep-alive or close, and within the listener's limits (initial line
 * length, header bytes, header count) with a margin, so that whatever exceeds them goes to Vert.x's decoder and gets
 * its 414/431. {@link #parse} says as soon as a line is not plain; everything else goes to the decoder unchanged.
 * One per connection, reused for each head; offsets are relative to the head's first byte, so the bytes may move
 * (a split head is cumulated into a new buffer) between two reads.
 */
final class RawRequestHead {

    static final int NEED_MORE = -1;
    static final int NOT_PLAIN = -2;

    /** Header line kinds: what the upstream head does with the line. */
    private static final byte KEEP = 0;
    private static final byte DROP = 1;
    private static final byte XFF = 2;
    private static final byte XFP = 3;
    private static final byte TRACEPARENT = 4;
    /** Istio's metadata exchange headers: dropped when the chain reads them or sets its own. */
    private static final byte PEER = 5;

    private final int maxLine;
    private final int maxHeaderBytes;
    private final int maxHeaders;

    /** The bytes of the head while it is parsed and offered; {@link #base}: the index of its first byte. */
    private ByteBuf buf;
    private int base;
    /** The next line's first byte. */
    private int pos;
    /** The request line's CR. */
    private int lineEnd;
    private int methodEnd;
    private int targetStart;
    private int targetEnd;
    /** Header lines: start, colon, value start, value end (trimmed) per line; kinds; whether "name: value" exactly. */
    private int count;
    private int[] at = new int[4 * 16];
    private byte[] kind = new byte[16];
    private boolean[] canonical = new boolean[16];
    /** Line numbers of the first line of each of these headers, or -1. */
    int host;
    int contentType;
    int userAgent;
    int traceparent;
    int requestId;
    int xff;
    /** The first x-envoy-peer-metadata line, or -1; whether an x-envoy-peer-metadata-id line came. */
    int peerMetadata;
    boolean peerMetadataId;
    boolean forwardedProto;
    boolean close;
    boolean hasLength;
    long contentLength;

    RawRequestHead(int maxLine, int maxHeaderBytes, int maxHeaders) {
        this.maxLine = maxLine;
        this.maxHeaderBytes = maxHeaderBytes;
        this.maxHeaders = maxHeaders;
        reset();
    }

    /** Ready for the next head. */
    void reset() {
        buf = null;
        pos = 0;
        count = 0;
        host = -1;
        contentType = -1;
        userAgent = -1;
        traceparent = -1;
        requestId = -1;
        xff = -1;
        peerMetadata = -1;
        peerMetadataId = false;
        forwardedProto = false;
        close = false;
        hasLength = false;
        contentLength = 0;
    }

    /**
     * Parses the lines of the head at {@code b}'s reader index not parsed yet: the head's length when it is complete
     * and plain, {@link #NEED_MORE}, or {@link #NOT_PLAIN} (as soon as a line, or the bytes so far, show it is not).
     */
    int parse(ByteBuf b) {
        buf = b;
        base = b.readerIndex();
        int end = b.writerIndex();
        while (true) {
            int ls = base + pos;
            int lf = b.indexOf(ls, end, (byte) '\n');
            if (lf < 0) {
                int sofar = end - ls;
                if (pos == 0 ? sofar + 2 >= maxLine : end - base - lineEnd - 2 >= maxHeaderBytes) {
                    return NOT_PLAIN;
                }
                return NEED_MORE;
            }
            if (lf == ls || b.getByte(lf - 1) != '\r') {
                return NOT_PLAIN;   // a bare LF (or a leading empty line): the decoder's business
            }
            int le = lf - 1;
            if (pos == 0) {
                if (le - ls + 2 >= maxLine || !requestLine(b, ls, le)) {
                    return NOT_PLAIN;
                }
                lineEnd = le - base;
            } else if (lf + 1 - base - lineEnd - 2 >= maxHeaderBytes) {
                return NOT_PLAIN;
            } else if (le == ls) {
                return host < 0 ? NOT_PLAIN : lf + 1 - base;
            } else if (!headerLine(b, ls, le)) {
                return NOT_PLAIN;
            }
            pos = lf + 1 - base;
        }
    }

    private boolean requestLine(ByteBuf b, int ls, int le) {
        int i = ls;
        while (i < le && tokenByte(b.getByte(i))) {
            i++;
        }
        if (i == ls || i >= le || b.getByte(i) != ' ') {
            return false;
        }
        if (i - ls == 7 && startsWith(b, ls, "CONNECT")) {
            return false;
        }
        methodEnd = i - base;
        int ts = ++i;
        if (i >= le || b.getByte(i) != '/') {
            return false;
        }
        while (i < le && visible(b.getByte(i))) {
            i++;
        }
        if (le - i != 9 || b.getByte(i) != ' ' || !startsWith(b, i + 1, "HTTP/1.1")) {
            return false;
        }
        targetStart = ts - base;
        targetEnd = i - base;
        return true;
    }

    private static boolean visible(byte c) {
        return c > 0x20 && c < 0x7f;
    }

    private boolean headerLine(ByteBuf b, int ls, int le) {
        if (count >= maxHeaders) {
            return false;   // past the limit Vert.x answers 431
        }
        int colon = ls;
        while (colon < le && tokenByte(b.getByte(colon))) {
            colon++;
        }
        if (colon == ls || colon == le || b.getByte(colon) != ':') {
            return false;   // also an obs-fold (a leading SP or HTAB) and a space before the colon
        }
        int vs = colon + 1;
        int ve = le;
        while (vs < ve && isOws(b.getByte(vs))) {
            vs++;
        }
        while (ve > vs && isOws(b.getByte(ve - 1))) {
            ve--;
        }
        if (!fieldBytes(b, vs, ve)) {
            return false;
        }
        int n = count;
        byte k = KEEP;
        switch (colon - ls) {
            case 2 -> {
                if (equalsIgnoreCase(b, ls, "te")) {
                    return false;
                }
            }
            case 4 -> {
                if (equalsIgnoreCase(b, ls, "host")) {
                    if (host >= 0) {
                        return false;
                    }
                    host = n;
                    k = DROP;
                }
            }
            case 6 -> {
                if (equalsIgnoreCase(b, ls, "expect")) {
                    return false;
                }
            }
            case 7 -> {
                if (equalsIgnoreCase(b, ls, "upgrade")) {
                    return false;
                }
                if (equalsIgnoreCase(b, ls, "trailer")) {
                    k = DROP;
                }
            }
            case 10 -> {
                if (equalsIgnoreCase(b, ls, "connection")) {
                    int t = connectionTokens(b, vs, ve);
                    if (t < 0) {
                        return false;   // names other headers (or upgrade): the decoded path does that
                    }
                    close |= t == 1;
                    k = DROP;
                } else if (equalsIgnoreCase(b, ls, "keep-alive")) {
                    k = DROP;
                } else if (userAgent < 0 && equalsIgnoreCase(b, ls, "user-agent")) {
                    userAgent = n;
                }
            }
            case 11 -> {
                if (equalsIgnoreCase(b, ls, "traceparent")) {
                    if (traceparent < 0) {
                        traceparent = n;
                    }
                    k = TRACEPARENT;
                }
            }
            case 12 -> {
                if (contentType < 0 && equalsIgnoreCase(b, ls, "content-type")) {
                    contentType = n;
                } else if (requestId < 0 && equalsIgnoreCase(b, ls, "x-request-id")) {
                    requestId = n;
                }
            }
            case 14 -> {
                if (equalsIgnoreCase(b, ls, "content-length")) {
                    if (hasLength || ve == vs || ve - vs > 18) {
                        return false;
                    }
                    hasLength = true;
                    long length = 0;
                    for (int d = vs; d < ve; d++) {
                        int digit = b.getByte(d) - '0';
                        if (digit < 0 || digit > 9) {
                            return false;
                        }
                        length = length * 10 + digit;
                    }
                    contentLength = length;
                } else if (equalsIgnoreCase(b, ls, "http2-settings")) {
                    return false;
                }
            }
            case 15 -> {
                if (equalsIgnoreCase(b, ls, "x-forwarded-for")) {
                    if (xff < 0) {
                        xff = n;
                    }
                    k = XFF;
                }
            }
            case 16 -> {
                if (equalsIgnoreCase(b, ls, "proxy-connection")) {
                    k = DROP;
                }
            }
            case 17 -> {
                if (equalsIgnoreCase(b, ls, "transfer-encoding")) {
                    return false;
                }
                if (equalsIgnoreCase(b, ls, "x-forwarded-proto")) {
                    forwardedProto = true;
                    k = XFP;
                }
            }
            case 18 -> {
                if (equalsIgnoreCase(b, ls, "proxy-authenticate")) {
                    k = DROP;
                }
            }
            case 21 -> {
                if (equalsIgnoreCase(b, ls, PeerMetadata.HEADER)) {
                    if (peerMetadata < 0) {
                        peerMetadata = n;
                    }
                    k = PEER;
                }
            }
            case 24 -> {
                if (equalsIgnoreCase(b, ls, PeerMetadata.ID_HEADER)) {
                    peerMetadataId = true;
                    k = PEER;
                }
            }
            case 19 -> {
                if (equalsIgnoreCase(b, ls, "proxy-authorization")) {
                    k = DROP;
                }
            }
            default -> {
            }
        }
        if (n == kind.length) {
            at = java.util.Arrays.copyOf(at, at.length * 2);
            kind = java.util.Arrays.copyOf(kind, kind.length * 2);
            canonical = java.util.Arrays.copyOf(canonical, canonical.length * 2);
        }
        at[n * 4] = ls - base;
        at[n * 4 + 1] = colon - base;
        at[n * 4 + 2] = vs - base;
        at[n * 4 + 3] = ve - base;
        kind[n] = k;
        canonical[n] = vs == colon + 2 && b.getByte(colon + 1) == ' ' && ve == le;
        count = n + 1;
        return true;
    }

    /** The method as a String (the usual ones without a new String). */
    String method() {
        int len = methodEnd;
        int s = base;
        return switch (len) {
            case 3 -> startsWith(buf, s, "GET") ? "GET" : startsWith(buf, s, "PUT") ? "PUT" : text(0, len);
            case 4 -> startsWith(buf, s, "POST") ? "POST" : startsWith(buf, s, "HEAD") ? "HEAD" : text(0, len);
            case 5 -> startsWith(buf, s, "PATCH") ? "PATCH" : startsWith(buf, s, "TRACE") ? "TRACE" : text(0, len);
            case 6 -> startsWith(buf, s, "DELETE") ? "DELETE" : text(0, len);
            case 7 -> startsWith(buf, s, "OPTIONS") ? "OPTIONS" : text(0, len);
            default -> text(0, len);
        };
    }

    String target() {
        return text(targetStart, targetEnd - targetStart);
    }

    /** The first value of header line {@code n}, as the decoder makes it (bytes as ISO-8859-1, trimmed), or null. */
    String value(int n) {
        return n < 0 ? null : text(at[n * 4 + 2], at[n * 4 + 3] - at[n * 4 + 2]);
    }

    /** Whether the Host value is exactly {@code s} (the connection's last valid one, compared without a String). */
    boolean hostIs(String s) {
        if (s == null || host < 0) {
            return false;
        }
        int vs = at[host * 4 + 2];
        int len = at[host * 4 + 3] - vs;
        if (len != s.length()) {
            return false;
        }
        for (int i = 0; i < len; i++) {
            if ((buf.getByte(base + vs + i) & 0xff) != s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** The first value of a header (case-insensitive name, lower case), as {@code MultiMap.get}; null when absent. */
    String header(String lower) {
        int len = lower.length();
        for (int n = 0; n < count; n++) {
            int s = at[n * 4];
            if (at[n * 4 + 1] - s == len && equalsIgnoreCase(buf, base + s, lower)) {
                return value(n);
            }
        }
        return null;
    }

    private String text(int from, int len) {
        return buf.toString(base + from, len, StandardCharsets.ISO_8859_1);
    }

    /** The head's bytes, from its first byte, not counting the final empty line: for sizing the upstream head. */
    int size() {
        return pos;
    }

    /** Writes the request line, with {@code uri} instead of the target when not null (a rewrite). */
    void writeRequestLine(ByteBuf out, String uri) {
        if (uri == null) {
            out.writeBytes(buf, base, lineEnd + 2);
            return;
        }
        out.writeBytes(buf, base, methodEnd + 1);
        out.writeCharSequence(uri, StandardCharsets.UTF_8);
        out.writeBytes(buf, base + targetEnd, lineEnd + 2 - targetEnd);
    }

    /**
     * Writes the header lines that go upstream as they are, in order: all but hop-by-hop ones, x-forwarded-proto,
     * traceparent and (when {@code dropXff}) x-forwarded-for, which the upstream head sets anew at its end, as the
     * decoded path's {@code set} does, and (when {@code dropPeer}) Istio's metadata exchange headers. Lines written as
     * {@code name: value} are copied in runs; others are written so.
     */
    void writeKeptLines(ByteBuf out, boolean dropXff, boolean dropPeer) {
        int runStart = -1;
        int runEnd = -1;
        for (int n = 0; n < count; n++) {
            if (!kept(kind[n], dropXff, dropPeer)) {
                continue;
            }
            int s = at[n * 4];
            if (canonical[n]) {
                int e = at[n * 4 + 3] + 2;
                if (runEnd == s) {
                    runEnd = e;
                } else {
                    if (runStart >= 0) {
                        out.writeBytes(buf, base + runStart, runEnd - runStart);
                    }
                    runStart = s;
                    runEnd = e;
                }
                continue;
            }
            if (runStart >= 0) {
                out.writeBytes(buf, base + runStart, runEnd - runStart);
                runStart = -1;
                runEnd = -1;
            }
            out.writeBytes(buf, base + s, at[n * 4 + 1] - s);
            out.writeShort(COLON_SP);
            out.writeBytes(buf, base + at[n * 4 + 2], at[n * 4 + 3] - at[n * 4 + 2]);
            out.writeShort(CRLF);
        }
        if (runStart >= 0) {
            out.writeBytes(buf, base + runStart, runEnd - runStart);
        }
    }

    /** The lines {@link #writeKeptLines} writes, added to {@code h} instead (for routes that edit request headers). */
    void addKeptLines(MultiMap h, boolean dropXff, boolean dropPeer) {
        for (int n = 0; n < count; n++) {
            if (kept(kind[n], dropXff, dropPeer)) {
                int s = at[n * 4];
                h.add(text(s, at[n * 4 + 1] - s), value(n));
            }
        }
    }

    private static boolean kept(byte k, boolean dropXff, boolean dropPeer) {
        return k == KEEP || (k == XFF && !dropXff) || (k == PEER && !dropPeer);
    }

    /** The head is done with (taken and written, or left to the decoder): its bytes are not read any more. */
    void release() {
        buf = null;
    }
}
