package io.mesh.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * The fast path's request-side byte relay, right before Vert.x's HTTP/1.x decoder ({@code httpDecoder}) on a
 * connection where {@link FastPathHandler} is installed. It reads request heads from the bytes
 * ({@link RawRequestHead}); a complete plain head is offered to the fast path ({@link FastPathHandler#rawHead}),
 * which forwards it as bytes (no decoder, header map or encoder) with its Content-Length body as slices of the read
 * buffers. The first head that is not plain, or that the fast path does not take, ends raw reading on the connection
 * for good: this handler leaves the pipeline and hands everything it holds, from that head's first byte, to the
 * decoder, so the connection goes on exactly as without it (the decoded fast path, Vert.x, its 400/414/431 answers).
 * Pipelined heads wait here, with reading paused, until the exchange before them is done, as the decoded ones wait
 * in {@link FastPathHandler}. Event-loop confined.
 */
final class RawRequestReader extends ChannelInboundHandlerAdapter {

    private final FastPathHandler handler;
    private final RawRequestHead head;
    private ChannelHandlerContext ctx;
    /** Bytes read and not yet consumed (a partial head, a waiting head, or what follows a body), or null. */
    private ByteBuf cumulation;
    /** Body bytes of the taken request still to come. */
    private long remaining;
    private boolean processing;
    private boolean inRead;
    /** Raw reading ended: given up (the decoder has the connection) or the connection is closing. */
    private boolean done;
    /** A complete or partial head waits for the exchange in flight; reading is paused. */
    boolean waiting;

    RawRequestReader(FastPathHandler handler, int maxLine, int maxHeaderBytes, int maxHeaders) {
        this.handler = handler;
        this.head = new RawRequestHead(maxLine, maxHeaderBytes, maxHeaders);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (done) {
            in.release();   // closing: nothing more is read (the decoder never had this connection)
            return;
        }
        handler.reading = true;
        handler.active = true;
        if (cumulation == null) {
            cumulation = in;
        } else {
            ByteBuf merged = ctx.alloc().buffer(cumulation.readableBytes() + in.readableBytes());
            merged.writeBytes(cumulation).writeBytes(in);
            cumulation.release();
            in.release();
            cumulation = merged;
        }
        inRead = true;
        try {
            process();
        } finally {
            inRead = false;
        }
    }

    /** The exchange in flight is done: a head waiting here may go now. */
    void wake() {
        if (waiting && !done) {
            waiting = false;
            process();
        }
    }

    /** The connection closes: what is held or read from now on is dropped. */
    void stop() {
        done = true;
        waiting = false;
        if (!processing) {
            releaseCumulation();
        }
    }

    private void process() {
        if (processing) {
            return;
        }
        processing = true;
        try {
            while (!done && cumulation != null && cumulation.isReadable()) {
                if (remaining > 0) {
                    int n = (int) Math.min(remaining, cumulation.readableBytes());
                    remaining -= n;
                    handler.rawContent(cumulation.readRetainedSlice(n), remaining == 0);
                    continue;
                }
                if (!handler.rawIdle()) {
                    waiting = true;
                    handler.pauseRead();
                    return;
                }
                int length = head.parse(cumulation);
                if (length == RawRequestHead.NEED_MORE) {
                    return;
                }
                if (length == RawRequestHead.NOT_PLAIN || !handler.rawHead(head)) {
                    head.release();
                    giveUp();
                    return;
                }
                handler.plane.countRawRelayed();
                head.release();
                long body = head.contentLength;
                head.reset();
                if (done) {
                    return;   // the exchange closes the connection already (an answer of its own)
                }
                cumulation.skipBytes(length);
                remaining = body;
            }
        } finally {
            processing = false;
            if (cumulation != null && (done || !cumulation.isReadable())) {
                releaseCumulation();
            }
        }
    }

    /**
     * Raw reading ends for good: this handler leaves and the decoder gets the held bytes, starting with the first
     * byte of the head not taken (an empty read-complete follows when this is not inside a read, so the decoded
     * messages are flushed as at the end of any read).
     */
    private void giveUp() {
        done = true;
        waiting = false;
        handler.rawReaderGone();
        ByteBuf rest = cumulation;
        cumulation = null;
        ctx.pipeline().remove(this);
        if (rest != null && rest.isReadable()) {
            ctx.fireChannelRead(rest);
            if (!inRead) {
                ctx.fireChannelReadComplete();
            }
        } else if (rest != null) {
            rest.release();
        }
    }

    private void releaseCumulation() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        done = true;
        if (!processing) {
            releaseCumulation();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (!processing) {
            releaseCumulation();
        }
    }
}
