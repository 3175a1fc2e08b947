package io.mesh.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.net.HostAndPort;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The fast path's per-connection switch, in a downstream HTTP/1.x channel's pipeline right after Vert.x's codec
 * ({@code httpDecoder}, {@code httpEncoder}) and before Vert.x's own connection handler. Each decoded request head
 * is either taken here ({@link FastExchange}: routed, forwarded over a pooled Netty upstream connection, answered
 * through the same encoder) or passed on unchanged to Vert.x, with its body. The two paths never interleave on a
 * connection: a head is taken only when Vert.x has no response outstanding on it (Vert.x's responses are counted
 * as they pass {@link #write}), and while a fast exchange is in flight, later (pipelined) heads wait here, with
 * reading paused, until it is done. After an upgrade request (WebSocket, h2c) everything goes to Vert.x.
 * In front of the decoder, a {@link RawRequestReader} takes the connection's plain heads as bytes first
 * ({@link #rawHead}, {@link #rawContent}) until the first head it does not take, which it hands to the decoder.
 * All state is touched on the channel's event loop only.
 */
final class FastPathHandler extends ChannelDuplexHandler {

    private static final int NONE = 0;
    private static final int TO_VERTX = 1;
    private static final int TO_FAST = 2;
    private static final int DISCARD = 3;

    /** What the connection serves: the router's listener or a captured connection. */
    final FastSource source;
    final DataPlane plane;
    /** {@link FastSource#inboundSide()}, read once: which drain this connection follows. */
    final boolean inboundSide;
    ChannelHandlerContext ctx;
    /** Vert.x's response encoder's context: raw-relayed response bytes are written from it (past the encoder), or null. */
    ChannelHandlerContext encoderCtx;
    Channel channel;
    /** The connection's request-header timeout, or null. */
    ConnectionGuard guard;
    /** Where the content of the request being read goes. */
    private int inbound = NONE;
    /** Requests handed to Vert.x whose final response has not been written yet. */
    private int vertxOutstanding;
    /** The fast exchange in flight (its request or its response not finished). */
    private FastExchange current;
    /** Decoded messages waiting for {@link #current} to finish (pipelining); reading is paused meanwhile. */
    private ArrayDeque<Object> held;
    /** The request-side byte relay in front of the decoder, until it hands the connection to the decoder. */
    RawRequestReader rawReader;
    /** After an upgrade request: the connection is Vert.x's for good. */
    private boolean passthrough;
    private boolean tracked;
    private boolean readPausedByUs;
    /** Between a read and its readComplete: writes to the upstream are flushed once, at the end of the read. */
    boolean reading;

    private FastPathHandler(DataPlane plane, FastSource source) {
        this.source = source;
        this.plane = plane;
        this.inboundSide = source.inboundSide();
    }

    /** Whether this connection's side of the proxy is draining (a field read per request head). */
    boolean draining() {
        return plane.draining(inboundSide);
    }

    /**
     * Installs the fast path on a just-accepted channel, after Vert.x set it up. Vert.x adds its HTTP/1.x codec
     * either at once or only when the first bytes show HTTP/1.x rather than an h2c preface; in the second case a
     * locator at the end of the pipeline sees the first bytes right after that decision and puts the handler in
     * place (or removes itself for HTTP/2).
     */
    static void install(Channel channel, DataPlane plane, FastSource source) {
        LoopReadBuffer.install(channel.config());   // before the first read, which fixes the channel's read handle
        ChannelPipeline p = channel.pipeline();
        if (p.get("httpDecoder") != null) {
            place(p, plane, source);
            return;
        }
        p.addLast("mesh-fast-path-locator", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ChannelPipeline pipeline = ctx.pipeline();
                if (pipeline.get("httpDecoder") != null && pipeline.get("mesh-fast-path") == null) {
                    place(pipeline, plane, source);
                }
                // Passed on while this handler is still in: the next one is the request reader placed before the
                // decoder (a removed handler's context would still point at the decoder itself).
                ctx.fireChannelRead(msg);
                if (!ctx.isRemoved()) {
                    pipeline.remove(this);   // (an h2c upgrade may have emptied the pipeline meanwhile)
                }
            }
        });
    }

    private static void place(ChannelPipeline p, DataPlane plane, FastSource source) {
        String after = p.get("httpEncoder") != null ? "httpEncoder" : "httpDecoder";
        FastPathHandler h = new FastPathHandler(plane, source);
        p.addAfter(after, "mesh-fast-path", h);
        // Request heads are read from the bytes first; nothing has reached the decoder yet (the locator puts the
        // handlers in place before it passes the connection's first bytes on).
        var limits = plane.config().limits();
        h.rawReader = new RawRequestReader(h, limits.maxUriLength() + 32, limits.maxHeaderBytes(), limits.maxHeaders());
        p.addBefore("httpDecoder", "mesh-raw-request", h.rawReader);
        // Vert.x's idle handler sits after this one, so the fast path's reads and writes never pass it and it would
        // close a busy connection at the idle timeout. This handler sees every read and write of the connection
        // (Vert.x's too) and takes the timeout over; an h2c upgrade removes it and Vert.x adds its own again.
        if (p.get("idle") instanceof IdleStateHandler idle && idle.getReaderIdleTimeInMillis() == 0
                && idle.getWriterIdleTimeInMillis() == 0 && idle.getAllIdleTimeInMillis() > 0) {
            p.remove(idle);
            h.watchIdle(idle.getAllIdleTimeInMillis());
        }
    }

    /** Idle checks per idle timeout: a connection is closed after 1 to 1.25 timeouts without a read or a write. */
    private static final int IDLE_SLICES = 4;
    private long idleSliceNanos;
    private int quietSlices;
    private ScheduledFuture<?> idleTimer;
    /**
     * Set by every read and write on the connection, cleared by each idle check: a field write per event instead
     * of a clock read and (for writes) a promise and listener per write, as Netty's IdleStateHandler does.
     */
    boolean active = true;

    private void watchIdle(long idleMs) {
        idleSliceNanos = Math.max(1, TimeUnit.MILLISECONDS.toNanos(idleMs) / IDLE_SLICES);
        idleTimer = channel.eventLoop().schedule(this::idleCheck, idleSliceNanos, TimeUnit.NANOSECONDS);
    }

    private void idleCheck() {
        idleTimer = null;
        if (!channel.isActive() || ctx.isRemoved()) {
            return;
        }
        if (active) {
            active = false;
            quietSlices = 0;
        } else if (++quietSlices >= IDLE_SLICES) {
            // As Vert.x's idle handler: its connection handler closes the connection on this event.
            ctx.fireUserEventTriggered(IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT);
            return;
        }
        idleTimer = channel.eventLoop().schedule(this::idleCheck, idleSliceNanos, TimeUnit.NANOSECONDS);
    }

    private void stopIdle() {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
    }

    /** The last Host value of this connection that parsed as an authority (clients repeat theirs). */
    private String validHost;
    private String clientIp;

    /** The connection's last valid Host value, or null. */
    String knownHost() {
        return validHost;
    }

    private boolean clientIpKnown;

    /** Whether {@code host} is a valid authority; the connection's last valid one is remembered. */
    boolean validAuthority(String host) {
        if (host.equals(validHost)) {
            return true;
        }
        if (HostAndPort.parseAuthority(host, -1) == null) {
            return false;
        }
        validHost = host;
        return true;
    }

    /** The downstream peer's IP address as text, or null; formatted once per connection. */
    String clientIp() {
        if (!clientIpKnown) {
            clientIpKnown = true;
            InetSocketAddress remote = (InetSocketAddress) channel.remoteAddress();
            clientIp = remote == null ? null : remote.getAddress().getHostAddress();
        }
        return clientIp;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.channel = ctx.channel();
        this.guard = ConnectionGuard.of(channel);
        this.encoderCtx = ctx.pipeline().context("httpEncoder");
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        reading = true;
        active = true;
        if (passthrough || !(msg instanceof HttpObject)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (held != null && !held.isEmpty()) {
            held.add(msg);
            return;
        }
        dispatch(msg);
    }

    private void dispatch(Object msg) {
        if (msg instanceof HttpRequest req) {
            if (current != null) {
                hold(msg);
                return;
            }
            if (vertxOutstanding == 0 && !passthrough) {
                FastExchange ex = FastExchange.take(this, req);
                if (ex != null) {
                    plane.countFast();
                    current = ex;
                    if (!tracked) {
                        tracked = true;
                        plane.trackFast(this);
                    }
                    inbound = msg instanceof LastHttpContent ? NONE : TO_FAST;
                    ex.start(msg instanceof LastHttpContent);
                    return;
                }
            }
            if (req.headers().contains("upgrade")) {
                passthrough = true;
            }
            vertxOutstanding++;
            inbound = msg instanceof LastHttpContent ? NONE : TO_VERTX;
            ctx.fireChannelRead(msg);
            return;
        }
        HttpContent c = (HttpContent) msg;
        content(c, c.content(), c instanceof LastHttpContent);
    }

    /** {@code msg}: an HttpContent, or (raw-read) its bytes. */
    private void content(Object c, ByteBuf bytes, boolean last) {
        int was = inbound;
        if (last) {
            // Before the exchange hears of it: when this completes it, the connection is between requests already.
            inbound = NONE;
        }
        switch (was) {
            case TO_VERTX -> ctx.fireChannelRead(c);
            case TO_FAST -> {
                if (current != null) {
                    current.requestContent(c, bytes, last);
                } else {
                    ReferenceCountUtil.release(c);
                }
            }
            default -> ReferenceCountUtil.release(c);
        }
        if (last && was == DISCARD && current != null) {
            current.requestDiscarded();
        }
    }

    /** For {@link RawRequestReader}: whether a next head may be looked at now (no exchange in flight). */
    boolean rawIdle() {
        return current == null;
    }

    /**
     * A complete plain head read as bytes: taken by the fast path (true), or not (false: the reader hands it and
     * everything after it to the decoder). Only the first heads of a connection come here, all taken so far.
     */
    boolean rawHead(RawRequestHead head) {
        if (current != null || vertxOutstanding != 0 || passthrough || inbound != NONE || (held != null && !held.isEmpty())) {
            return false;
        }
        FastExchange ex = FastExchange.take(this, head);
        if (ex == null) {
            return false;
        }
        plane.countFast();
        current = ex;
        if (!tracked) {
            tracked = true;
            plane.trackFast(this);
        }
        boolean last = head.contentLength == 0;
        inbound = last ? NONE : TO_FAST;
        ex.start(last);
        return true;
    }

    /** A part of a raw-read request body (a slice of the read buffer): as a decoded content part. */
    void rawContent(ByteBuf part, boolean last) {
        content(part, part, last);
    }

    void rawReaderGone() {
        rawReader = null;
    }

    /** The exchange answered before its request body ended: the rest is read and dropped. */
    void discardRequestBody() {
        if (inbound == TO_FAST) {
            inbound = DISCARD;
        }
    }

    private void hold(Object msg) {
        if (held == null) {
            held = new ArrayDeque<>();
        }
        held.add(msg);
        pauseRead();
    }

    void pauseRead() {
        if (!readPausedByUs) {
            readPausedByUs = true;
            channel.config().setAutoRead(false);
        }
    }

    void resumeRead() {
        if (readPausedByUs && (held == null || held.isEmpty()) && (rawReader == null || !rawReader.waiting)) {
            readPausedByUs = false;
            channel.config().setAutoRead(true);
        }
    }

    /**
     * The fast exchange is done (request read, response written): the next request may go. {@code closing}: the
     * exchange closes (or has closed) the connection, so nothing more is read from it.
     */
    void exchangeDone(FastExchange ex, boolean closing) {
        if (current != ex) {
            return;
        }
        current = null;
        if (closing) {
            if (inbound == TO_FAST) {
                inbound = DISCARD;
            }
            releaseHeld();
            if (rawReader != null) {
                rawReader.stop();
            }
            return;
        }
        if (rawReader != null) {
            rawReader.wake();   // a raw head waiting for this exchange (or the decoder, when the reader gives up)
        }
        // Held messages go out in order; a held head waits again if the one before it was taken by the fast path.
        while (held != null && !held.isEmpty() && !(current != null && held.peek() instanceof HttpRequest)) {
            dispatch(held.poll());
        }
        if (current == null && vertxOutstanding == 0 && inbound == NONE && guard != null) {
            guard.idle();
        }
        if ((held == null || held.isEmpty()) && (current == null || !current.pausesDownstream())) {
            resumeRead();
        }
    }

    private void releaseHeld() {
        if (held != null) {
            Object m;
            while ((m = held.poll()) != null) {
                ReferenceCountUtil.release(m);
            }
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        // Only Vert.x's writes pass here: the fast path writes from this handler's own context, below it.
        active = true;
        if (msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
            if (r.status().code() == 101) {
                passthrough = true;
            }
        } else if (msg instanceof LastHttpContent && vertxOutstanding > 0) {
            vertxOutstanding--;
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        reading = false;
        FastExchange ex = current;
        if (ex != null) {
            ex.flushUpstream();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        FastExchange ex = current;
        if (ex != null) {
            ex.downstreamWritabilityChanged(channel.isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stopIdle();
        FastExchange ex = current;
        current = null;
        if (ex != null) {
            ex.downstreamClosed();
        }
        releaseHeld();
        if (tracked) {
            plane.untrackFast(this);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stopIdle();
        releaseHeld();
    }

    /** Drain: closes the connection when nothing is in flight on it (or at once when {@code now}). */
    void closeIfIdle(boolean now) {
        channel.eventLoop().execute(() -> {
            if (now || (current == null && vertxOutstanding == 0 && inbound == NONE)) {
                channel.close();
            }
        });
    }

}
