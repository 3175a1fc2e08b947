package io.mesh.gateway.proxy;

import io.mesh.gateway.upstream.EndpointState;
import io.mesh.gateway.upstream.Upstream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection of the fast path to an upstream endpoint: Netty's request encoder and a
 * response decoder that parses headers into the same header map type the downstream side uses. It carries one
 * exchange at a time and passes what it reads to that exchange; its response bodies are the decoder's slices of
 * the pooled read buffers, written downstream as they are.
 */
final class FastUpstreamConnection extends ChannelInboundHandlerAdapter {

    final FastUpstreamPool pool;
    final Upstream upstream;
    final EndpointState endpoint;
    Channel channel;
    FastExchange exchange;
    boolean inUse;
    long idleSince;
    /**
     * When the connection reaches its cluster's {@code max_connection_duration} ({@code System.nanoTime()} at connect
     * plus it), or {@link Long#MAX_VALUE}: past it the pool closes it instead of handing it out or keeping it.
     */
    long expiresAt = Long.MAX_VALUE;
    /** The request in flight is a HEAD: its response has no body whatever its headers say. */
    boolean headRequest;
    /** Between a read and its readComplete: downstream writes are flushed once, at the end of the read. */
    boolean reading;
    /** The upstream sent bytes past the end of a response: the connection is not reused. */
    boolean broken;
    /** The exchange in flight lets its response be relayed as bytes ({@link RawResponseReader}). */
    boolean rawAllowed;
    private FastPathHandler flushAfterRead;
    private ResponseDecoder decoder;
    private RawResponseReader raw;
    private ChannelHandlerContext encoderCtx;

    /** TLS origination: the context of the connection's {@link #ssl}; null for plaintext. */
    private final SslContext tls;
    /** The connection's TLS, first in its pipeline; null for plaintext. */
    SslHandler ssl;
    /** The upstream's SPIFFE ID from its verified certificate (mesh mTLS), or null (plaintext, or none in it). */
    String peerPrincipal;

    FastUpstreamConnection(FastUpstreamPool pool, Upstream upstream, EndpointState endpoint, SslContext tls) {
        this.pool = pool;
        this.upstream = upstream;
        this.endpoint = endpoint;
        this.tls = tls;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (upstream.spec().keepalive() != null) {
            upstream.spec().keepalive().applyTo(ctx.channel());   // before it connects: SO_KEEPALIVE and its timers
        }
        LoopReadBuffer.install(ctx.channel().config());
        if (tls != null) {
            // SNI: the cluster's, else none (an IP address is never sent as SNI); the peer is checked by the trust
            // manager (the expected SPIFFE IDs or SANs), not by host name.
            String sni = upstream.tls(endpoint).sni();
            ssl = sni == null || sni.isEmpty() ? tls.newHandler(ctx.alloc())
                    : tls.newHandler(ctx.alloc(), sni, endpoint.endpoint().port());
            ctx.pipeline().addFirst("ssl", ssl);
        }
        raw = new RawResponseReader();
        decoder = new ResponseDecoder();
        ctx.pipeline().addBefore(ctx.name(), "raw", raw);
        ctx.pipeline().addBefore(ctx.name(), "decoder", decoder);
        ctx.pipeline().addBefore(ctx.name(), "encoder", new RequestEncoder());
        encoderCtx = ctx.pipeline().context("encoder");
    }

    /** Writes a request part: a decoded one through the request encoder, the bytes of a raw-read one past it. */
    void write(Object msg) {
        if (msg instanceof ByteBuf) {
            encoderCtx.write(msg, channel.voidPromise());
        } else {
            channel.write(msg, channel.voidPromise());
        }
    }

    /** Flushes {@code downstream} once this read ends (one flush for a head and its body parts). */
    void flushAfterRead(FastPathHandler downstream) {
        if (flushAfterRead != null && flushAfterRead != downstream) {
            flushAfterRead.ctx.flush();
        }
        flushAfterRead = downstream;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        reading = true;
        FastExchange ex = exchange;
        if (ex == null) {
            // Nothing was asked: an idle connection that speaks is broken.
            ReferenceCountUtil.release(msg);
            ctx.close();
            return;
        }
        if (msg instanceof HttpResponse r) {
            if (r.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            ex.onResponseHead(r);
        }
        if (msg instanceof HttpContent c) {
            boolean last = c instanceof LastHttpContent;
            if (last) {
                raw.decodedResponseDone();
            }
            ex.onResponseContent(c, last);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        reading = false;
        FastPathHandler d = flushAfterRead;
        if (d != null) {
            flushAfterRead = null;
            d.ctx.flush();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        FastExchange ex = exchange;
        if (ex != null) {
            ex.upstreamWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        FastPathHandler d = flushAfterRead;
        if (d != null) {
            flushAfterRead = null;
            d.ctx.flush();
        }
        FastExchange ex = exchange;
        exchange = null;
        if (ex != null) {
            ex.onUpstreamClosed();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    /** Netty's request encoder, writing a Vert.x header map with its own encoder (no entry iterator). */
    private static final class RequestEncoder extends HttpRequestEncoder {

        @Override
        protected void encodeHeaders(HttpHeaders headers, ByteBuf buf) {
            if (headers instanceof HeadersMultiMap m) {
                m.encode(buf);
            } else {
                super.encodeHeaders(headers, buf);
            }
        }
    }

    /**
     * Relays a plain upstream response as bytes, without Netty's decoder and Vert.x's encoder (a header map, a String
     * per name and value, then the same headers encoded again): the head is checked and copied line by line, leaving
     * out hop-by-hop headers (as {@link HopByHop#stripInPlace}), with {@code connection: close} added when the
     * downstream connection ends after it, and the body, framed by its Content-Length, goes on as slices of the read
     * buffers. Anything else goes, bytes untouched, to the decoder behind it and the decoded path of
     * {@link FastExchange}: a request whose response may get header mutations or has no body (HEAD), a status other
     * than 200-599 or 204/304, a version other than HTTP/1.1, chunked or close-delimited bodies, repeated
     * Content-Length, a Connection header naming other headers, obs-folded lines, bare LF line ends, control
     * characters, or a head larger than the decoder's limits.
     */
    private final class RawResponseReader extends ChannelInboundHandlerAdapter {

        private static final int HEAD = 0;
        private static final int BODY = 1;
        private static final int DECODED = 2;
        /** The decoder's initial line and header limits together. */
        private static final int MAX_HEAD = 4096 + 8192;

        private int mode = HEAD;
        private ByteBuf cumulation;
        private long remaining;
        /** {@link #head}'s line table, kept for the connection's next head (grown ones too). */
        private int[] keepTable = new int[32];

        /** The decoder finished the response it was given: the next one may be read raw, unless it holds bytes. */
        void decodedResponseDone() {
            if (mode == DECODED && !decoder.holdsBytes()) {
                mode = HEAD;
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf in) || mode == DECODED) {
                ctx.fireChannelRead(msg);
                return;
            }
            reading = true;   // downstream writes are flushed once, when this read completes
            ByteBuf buf = in;
            if (mode == HEAD) {
                if (exchange == null) {
                    // Nothing was asked: an idle connection that speaks is broken.
                    in.release();
                    release();
                    ctx.close();
                    return;
                }
                if (!rawAllowed) {
                    toDecoder(ctx, in);
                    return;
                }
                if (cumulation != null) {
                    ByteBuf merged = ctx.alloc().buffer(cumulation.readableBytes() + in.readableBytes());
                    merged.writeBytes(cumulation).writeBytes(in);
                    in.release();
                    release();
                    buf = merged;
                }
                int end = headEnd(buf);
                if (end < 0) {
                    if (end == -2 || buf.readableBytes() > MAX_HEAD) {
                        toDecoder(ctx, buf);
                    } else {
                        cumulation = buf;   // the head goes on in the next read
                    }
                    return;
                }
                if (!head(ctx, buf, end)) {
                    toDecoder(ctx, buf);
                    return;
                }
                buf.readerIndex(end);
                if (remaining == 0) {
                    mode = HEAD;
                    body(ctx, buf, Unpooled.EMPTY_BUFFER, true);
                    return;
                }
                mode = BODY;
            }
            int n = (int) Math.min(remaining, buf.readableBytes());
            remaining -= n;
            boolean last = remaining == 0;
            if (last) {
                mode = HEAD;
            }
            body(ctx, buf, buf.readRetainedSlice(n), last);
        }

        /** Hands a body part to the exchange; {@code buf} (read up to here) is released, and any bytes past the end. */
        private void body(ChannelHandlerContext ctx, ByteBuf buf, ByteBuf part, boolean last) {
            boolean extra = last && buf.isReadable();
            if (extra) {
                broken = true;
            }
            buf.release();
            FastExchange ex = exchange;
            if (ex != null) {
                ex.onRawResponseContent(part, last);
            } else {
                part.release();
            }
            if (extra) {
                ctx.close();
            }
        }

        private void toDecoder(ChannelHandlerContext ctx, ByteBuf buf) {
            mode = DECODED;
            ctx.fireChannelRead(buf);
        }

        /** The index just past the head's CRLFCRLF; -1: not all here yet; -2: a bare LF (left to the decoder). */
        private int headEnd(ByteBuf buf) {
            int from = buf.readerIndex();
            int to = buf.writerIndex();
            int i = from;
            while (true) {
                int lf = buf.indexOf(i, to, (byte) '\n');
                if (lf < 0) {
                    return -1;
                }
                if (lf == from || buf.getByte(lf - 1) != '\r') {
                    return -2;
                }
                if (lf - 1 == i) {
                    return lf + 1;   // an empty line: the end of the head
                }
                i = lf + 1;
            }
        }

        /**
         * Checks the head in {@code [readerIndex, end)} and, when it can go raw, hands the exchange the head to
         * write downstream and sets {@link #remaining}; false: the decoder must take the response (nothing done).
         */
        private boolean head(ChannelHandlerContext ctx, ByteBuf buf, int end) {
            int i = buf.readerIndex();
            if (end - i < 14 || !startsWith(buf, i, "HTTP/1.1 ")) {
                return false;
            }
            int d0 = buf.getByte(i + 9) - '0';
            int d1 = buf.getByte(i + 10) - '0';
            int d2 = buf.getByte(i + 11) - '0';
            if (d0 < 2 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
                return false;
            }
            int code = d0 * 100 + d1 * 10 + d2;
            byte after = buf.getByte(i + 12);
            if (code == 204 || code == 304 || (after != ' ' && after != '\r')) {
                return false;
            }
            int lineEnd = buf.indexOf(i, end, (byte) '\n') - 1;   // the CR
            if (!fieldBytes(buf, i + 12, lineEnd)) {
                return false;
            }
            int statusLineEnd = lineEnd + 2;
            FastExchange ex = exchange;
            // Istio's metadata exchange: an outbound chain reads the upstream's workload and drops its headers.
            boolean discover = ex.mx != null && ex.mx.upstreamDiscovery();
            String peer = null;
            long length = -1;
            boolean keepAlive = true;
            // What to copy after the status line, as [start, nameEnd, valueStart, valueEnd) quadruples: a header line
            // to write as "name: value", or (nameEnd -1) a run of consecutive lines already in that exact form, copied
            // as they are in one write (a typical upstream's whole head is one run). At most 64 entries.
            int lines = 0;
            int[] keep = keepTable;
            int runStart = -1;
            int ls = statusLineEnd;
            while (true) {
                int le = buf.indexOf(ls, end, (byte) '\n') - 1;
                if (le == ls) {
                    break;   // the empty line
                }
                byte first = buf.getByte(ls);
                if (first == ' ' || first == '\t') {
                    return false;   // obs-fold
                }
                int colon = ls;
                while (colon < le && tokenByte(buf.getByte(colon))) {
                    colon++;
                }
                if (colon == ls || colon == le || buf.getByte(colon) != ':') {
                    return false;
                }
                int vs = colon + 1;
                int ve = le;
                while (vs < ve && isOws(buf.getByte(vs))) {
                    vs++;
                }
                while (ve > vs && isOws(buf.getByte(ve - 1))) {
                    ve--;
                }
                if (!fieldBytes(buf, vs, ve)) {
                    return false;
                }
                int nameLen = colon - ls;
                if (nameLen == 14 && equalsIgnoreCase(buf, ls, "content-length")) {
                    if (length >= 0 || ve == vs || ve - vs > 18) {
                        return false;
                    }
                    length = 0;
                    for (int k = vs; k < ve; k++) {
                        int digit = buf.getByte(k) - '0';
                        if (digit < 0 || digit > 9) {
                            return false;
                        }
                        length = length * 10 + digit;
                    }
                } else if (nameLen == 17 && equalsIgnoreCase(buf, ls, "transfer-encoding")) {
                    return false;
                } else if (nameLen == 10 && equalsIgnoreCase(buf, ls, "connection")) {
                    int t = connectionTokens(buf, vs, ve);
                    if (t < 0) {
                        return false;   // names headers to drop: the decoded path does that
                    }
                    if (t == 1) {
                        keepAlive = false;
                    }
                    if (runStart >= 0) {
                        keep = keepRun(keep, lines++, runStart, ls);
                        runStart = -1;
                    }
                    ls = le + 2;
                    continue;
                }
                if (hop(buf, ls, nameLen) || discover && (nameLen == 24 && equalsIgnoreCase(buf, ls, PeerMetadata.ID_HEADER)
                        || nameLen == 21 && equalsIgnoreCase(buf, ls, PeerMetadata.HEADER))) {
                    if (discover && nameLen == 21 && peer == null) {
                        peer = buf.toString(vs, ve - vs, StandardCharsets.ISO_8859_1);
                    }
                    if (runStart >= 0) {
                        keep = keepRun(keep, lines++, runStart, ls);
                        runStart = -1;
                    }
                    ls = le + 2;
                    continue;
                }
                if (ve == le && vs == colon + 2 && buf.getByte(colon + 1) == ' ') {
                    if (runStart < 0) {
                        runStart = ls;
                    }
                } else {
                    if (runStart >= 0) {
                        keep = keepRun(keep, lines++, runStart, ls);
                        runStart = -1;
                    }
                    if (keep == null || lines * 4 == keep.length && (keep = grow(keep)) == null) {
                        return false;
                    }
                    keep[lines * 4] = ls;
                    keep[lines * 4 + 1] = colon;
                    keep[lines * 4 + 2] = vs;
                    keep[lines * 4 + 3] = ve;
                    lines++;
                }
                ls = le + 2;
            }
            if (runStart >= 0) {
                keep = keepRun(keep, lines++, runStart, ls);
            }
            if (keep == null) {
                return false;   // more than 64 separate pieces: the decoded path copies it
            }
            keepTable = keep;
            if (length < 0) {
                return false;   // chunked or close-delimited: the decoded path frames it
            }
            if (peer != null) {
                ex.upstreamPeer(peer);
            }
            PeerMetadata own = ex.answersWithPeer();
            boolean close = ex.closesDownstream();
            ByteBuf out = ctx.alloc().directBuffer(end - i + (close ? 19 : 0)
                    + (own == null ? 0 : own.idLine().length + own.valueLine().length));
            out.writeBytes(buf, i, statusLineEnd - i);
            for (int l = 0; l < lines; l++) {
                int s = keep[l * 4];
                if (keep[l * 4 + 1] < 0) {
                    out.writeBytes(buf, s, keep[l * 4 + 3] - s);   // a run of whole lines, CRLFs included
                    continue;
                }
                out.writeBytes(buf, s, keep[l * 4 + 1] - s);
                out.writeShort(COLON_SP);
                out.writeBytes(buf, keep[l * 4 + 2], keep[l * 4 + 3] - keep[l * 4 + 2]);
                out.writeShort(CRLF);
            }
            if (own != null) {
                out.writeBytes(own.idLine());
                out.writeBytes(own.valueLine());
            }
            if (close) {
                out.writeCharSequence("connection: close\r\n", StandardCharsets.US_ASCII);
            }
            out.writeShort(CRLF);
            remaining = length;
            ex.onRawResponseHead(code, keepAlive, out);
            return true;
        }

        /** {@code keep} with room for one more entry, or null past 64 entries. */
        private static int[] grow(int[] keep) {
            return keep.length >= 256 ? null : java.util.Arrays.copyOf(keep, keep.length * 2);
        }

        /** Records the run of whole lines [start, end) as entry {@code at}; null (give up) when there is no room. */
        private static int[] keepRun(int[] keep, int at, int start, int end) {
            if (keep == null || at * 4 == keep.length && (keep = grow(keep)) == null) {
                return null;
            }
            keep[at * 4] = start;
            keep[at * 4 + 1] = -1;
            keep[at * 4 + 2] = start;
            keep[at * 4 + 3] = end;
            return keep;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            release();
            ctx.fireChannelInactive();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            release();
        }

        private void release() {
            if (cumulation != null) {
                cumulation.release();
                cumulation = null;
            }
        }
    }

    static final int COLON_SP = (':' << 8) | ' ';
    static final int CRLF = ('\r' << 8) | '\n';

    static boolean startsWith(ByteBuf buf, int at, String s) {
        for (int k = 0; k < s.length(); k++) {
            if (buf.getByte(at + k) != s.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** {@code lower} (lower case) equals the bytes at {@code at}, ignoring ASCII case. */
    static boolean equalsIgnoreCase(ByteBuf buf, int at, String lower) {
        for (int k = 0; k < lower.length(); k++) {
            int b = buf.getByte(at + k);
            if (b >= 'A' && b <= 'Z') {
                b += 'a' - 'A';
            }
            if (b != lower.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    /** The hop-by-hop names of {@link HopByHop#isHop} other than Connection and Transfer-Encoding (handled apart). */
    private static boolean hop(ByteBuf buf, int at, int len) {
        return switch (len) {
            case 2 -> equalsIgnoreCase(buf, at, "te");
            case 4 -> equalsIgnoreCase(buf, at, "host");
            case 7 -> equalsIgnoreCase(buf, at, "upgrade") || equalsIgnoreCase(buf, at, "trailer");
            case 10 -> equalsIgnoreCase(buf, at, "keep-alive");
            case 14 -> equalsIgnoreCase(buf, at, "http2-settings");
            case 16 -> equalsIgnoreCase(buf, at, "proxy-connection");
            case 18 -> equalsIgnoreCase(buf, at, "proxy-authenticate");
            case 19 -> equalsIgnoreCase(buf, at, "proxy-authorization");
            default -> false;
        };
    }

    /** A Connection value: 1 when it says close, 0 for keep-alive (or nothing), -1 when it names anything else. */
    static int connectionTokens(ByteBuf buf, int from, int to) {
        int result = 0;
        int s = from;
        while (s <= to) {
            int comma = buf.indexOf(s, to, (byte) ',');
            int e = comma < 0 ? to : comma;
            int a = s;
            int b = e;
            while (a < b && isOws(buf.getByte(a))) {
                a++;
            }
            while (b > a && isOws(buf.getByte(b - 1))) {
                b--;
            }
            int len = b - a;
            if (len == 5 && equalsIgnoreCase(buf, a, "close")) {
                result = 1;
            } else if (len != 0 && !(len == 10 && equalsIgnoreCase(buf, a, "keep-alive"))) {
                return -1;
            }
            if (comma < 0) {
                break;
            }
            s = comma + 1;
        }
        return result;
    }

    static boolean isOws(byte b) {
        return b == ' ' || b == '\t';
    }

    /** RFC 9110 field content: visible ASCII, obs-text, space and tab; no other control character. */
    static boolean fieldByte(byte b) {
        return (b >= 0x20 && b != 0x7f) || b == '\t' || b < 0;
    }

    /**
     * Whether every byte of [from, to) is a {@link #fieldByte}, eight at a time: a word with no byte below 0x20 and none
     * equal to 0x7f passes at once (the usual case); any other word (a tab, a control byte) is checked byte by byte.
     */
    static boolean fieldBytes(ByteBuf buf, int from, int to) {
        int k = from;
        for (; k + 8 <= to; k += 8) {
            long x = buf.getLong(k);
            long below20 = (x - 0x2020202020202020L) & ~x & 0x8080808080808080L;
            long y = x ^ 0x7f7f7f7f7f7f7f7fL;
            long del = (y - 0x0101010101010101L) & ~y & 0x8080808080808080L;
            if ((below20 | del) != 0) {
                for (int j = k; j < k + 8; j++) {
                    if (!fieldByte(buf.getByte(j))) {
                        return false;
                    }
                }
            }
        }
        for (; k < to; k++) {
            if (!fieldByte(buf.getByte(k))) {
                return false;
            }
        }
        return true;
    }

    /** RFC 9110 tchar. */
    static boolean tokenByte(byte b) {
        if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')) {
            return true;
        }
        return switch (b) {
            case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~' -> true;
            default -> false;
        };
    }

    private final class ResponseDecoder extends HttpResponseDecoder {

        /** Bytes of a next message are cumulated here (the upstream sent more than one response's worth). */
        boolean holdsBytes() {
            return actualReadableBytes() > 0;
        }


        ResponseDecoder() {
            super(new HttpDecoderConfig().setMaxInitialLineLength(4096).setMaxHeaderSize(8192).setMaxChunkSize(8192));
        }

        @Override
        protected HttpMessage createMessage(String[] initialLine) {
            return new DefaultHttpResponse(HttpVersion.valueOf(initialLine[0]),
                    HttpResponseStatus.valueOf(Integer.parseInt(initialLine[1]), initialLine[2]), HeadersMultiMap.httpHeaders());
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            if (headRequest && msg instanceof HttpResponse r && r.status().code() >= 200) {
                return true;
            }
            return super.isContentAlwaysEmpty(msg);
        }
    }
}
