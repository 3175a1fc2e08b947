package io.mesh.gateway.proxy;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.Promise;
import org.jboss.logging.Logger;

/**
 * Istio's metadata exchange over TCP, wire-compatible with Istio's proxies (istio/proxy's
 * {@code source/extensions/filters/network/metadata_exchange}): on an mTLS connection whose handshake picked the ALPN
 * protocol {@code istio-peer-exchange}, each side sends, before any of the relayed bytes, a header of two big-endian
 * 32-bit words (the magic {@code 0x3D230467} and a length) and that many bytes: a {@code google.protobuf.Any} of a
 * {@code google.protobuf.Struct} holding the proxy's node metadata under {@code x-envoy-peer-metadata} and its node ID
 * under {@code x-envoy-peer-metadata-id} (the same Struct the HTTP exchange sends in headers); and it reads the peer's
 * from the front of what it receives, removing it before the rest is relayed. So Istio's TCP metrics can name the
 * workload at the other end.
 *
 * <p>Placed right after the {@link SslHandler} of a relay's TLS side: a sidecar's inbound mTLS chain with the
 * {@code istio.metadata_exchange} network filter, or an upstream connection of a cluster with that cluster filter.
 * Writes from the relay are held until the handshake is done, so that this proxy's metadata goes first. Without the
 * ALPN protocol (a peer that does not exchange, or plain HTTP over mTLS) it does nothing. As Istio's filter, a peer
 * whose first bytes are not the magic, or whose metadata does not parse, is an unknown peer and its bytes are relayed
 * as they are (after the header, for the latter); a peer that ends its input before sending it is an unknown peer. A
 * length above {@link #MAX_DATA} closes the connection: no proxy's metadata comes near it, and reading it would
 * mean buffering whatever a peer claims. {@link #peer()} completes once with the peer's workload, or null when it is
 * unknown. Event-loop confined.
 */
final class PeerExchange extends ChannelDuplexHandler {

    private static final Logger LOG = Logger.getLogger(PeerExchange.class);

    /** The ALPN protocol both sides offer for the exchange (istiod's {@code ALPNInMeshWithMxc}, first). */
    static final String ALPN = "istio-peer-exchange";
    static final int MAGIC = 0x3D230467;
    /** The largest metadata a peer may send: 64 KiB (a proxy's is 1-2 KB). */
    static final int MAX_DATA = 64 * 1024;
    private static final String STRUCT_TYPE = "type.googleapis.com/google.protobuf.Struct";
    private static final int HEADER = 8;

    /** REFUSED: the peer's metadata was refused and the connection is closing; nothing more is relayed. */
    private enum State { HANDSHAKE, READING, DONE, REFUSED }

    private final byte[] frame;
    private final Promise<PeerWorkload> peer;
    private State state = State.HANDSHAKE;
    /** What the relay wrote during the handshake (counted against the channel's writability, as SslHandler's own). */
    private io.netty.channel.PendingWriteQueue held;
    private boolean flushHeld;
    private ByteBuf cumulation;

    /** {@code frame}: this proxy's header and metadata ({@link #frame(String, Struct)}). */
    PeerExchange(byte[] frame, Promise<PeerWorkload> peer) {
        this.frame = frame;
        this.peer = peer;
    }

    /** The peer's workload once known: null when it is unknown (no exchange, or one that failed). */
    io.netty.util.concurrent.Future<PeerWorkload> peer() {
        return peer;
    }

    /** This proxy's side of the exchange: the header, then the Any of the Struct with its metadata and node ID. */
    static byte[] frame(String nodeId, Struct metadata) {
        Struct.Builder data = Struct.newBuilder()
                .putFields(PeerMetadata.HEADER, Value.newBuilder().setStructValue(metadata).build());
        if (nodeId != null && !nodeId.isEmpty()) {
            data.putFields(PeerMetadata.ID_HEADER, Value.newBuilder().setStringValue(nodeId).build());
        }
        byte[] any = Any.newBuilder().setTypeUrl(STRUCT_TYPE).setValue(data.build().toByteString()).build().toByteArray();
        ByteBuf b = Unpooled.buffer(HEADER + any.length);
        b.writeInt(MAGIC).writeInt(any.length).writeBytes(any);
        return b.array();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        held = new io.netty.channel.PendingWriteQueue(ctx);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (held != null) {
            held.add(msg, promise);
        } else {
            ctx.write(msg, promise);
        }
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        if (held != null) {
            flushHeld = true;
        } else {
            ctx.flush();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent done && state == State.HANDSHAKE) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (done.isSuccess() && ssl != null && ALPN.equals(ssl.applicationProtocol())) {
                ctx.write(Unpooled.wrappedBuffer(frame), ctx.voidPromise());
                state = State.READING;
                flushHeld = true;
                release(ctx);
            } else {
                finish(null);
                release(ctx);
                ctx.pipeline().remove(this);
            }
        } else if (state == State.READING
                && (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent)) {
            LOG.debugf("metadata exchange: %s ended its input before its metadata", ctx.channel().remoteAddress());
            passOn(ctx);
        }
        ctx.fireUserEventTriggered(evt);
    }

    /** Sends what the relay wrote during the handshake, after this proxy's metadata (if it went out). */
    private void release(ChannelHandlerContext ctx) {
        io.netty.channel.PendingWriteQueue q = held;
        held = null;
        if (q != null && !q.isEmpty()) {
            q.removeAndWriteAll();
        }
        if (flushHeld) {
            ctx.flush();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.REFUSED) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        if (state != State.READING || !(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (cumulation == null) {
            cumulation = in;
        } else {
            cumulation = ctx.alloc().compositeBuffer().addComponents(true, cumulation, in);
        }
        ByteBuf b = cumulation;
        if (b.readableBytes() < HEADER) {
            return;
        }
        int at = b.readerIndex();
        if (b.getInt(at) != MAGIC) {
            LOG.debugf("metadata exchange: %s did not send Istio's magic: an unknown peer", ctx.channel().remoteAddress());
            passOn(ctx);
            return;
        }
        long length = b.getUnsignedInt(at + 4);
        if (length > MAX_DATA) {
            LOG.warnf("metadata exchange: %s announced %d bytes of metadata (at most %d): connection closed",
                    ctx.channel().remoteAddress(), length, MAX_DATA);
            finish(null);
            state = State.REFUSED;
            releaseCumulation();
            ctx.close();
            return;
        }
        if (b.readableBytes() < HEADER + length) {
            return;
        }
        b.skipBytes(HEADER);
        PeerWorkload p = null;
        boolean parsed = false;
        try {
            Any any = Any.parseFrom(io.netty.buffer.ByteBufUtil.getBytes(b, b.readerIndex(), (int) length, false));
            if (STRUCT_TYPE.equals(any.getTypeUrl())) {
                Struct data = Struct.parseFrom(any.getValue());
                Value md = data.getFieldsMap().get(PeerMetadata.HEADER);
                p = md == null || md.getKindCase() != Value.KindCase.STRUCT_VALUE ? null : PeerWorkload.of(md.getStructValue());
                parsed = true;
            }
        } catch (InvalidProtocolBufferException e) {
            parsed = false;
        }
        if (parsed) {
            b.skipBytes((int) length);
        } else {
            LOG.debugf("metadata exchange: %s sent metadata that is not a Struct: an unknown peer", ctx.channel().remoteAddress());
        }
        state = State.DONE;
        peer.trySuccess(p);
        passOn(ctx);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (state == State.READING && cumulation != null) {
            ctx.read();   // the metadata is not all here yet: ask for more, whatever the relay's auto-read says
        }
        ctx.fireChannelReadComplete();
    }

    /** Ends the exchange (an unknown peer unless already known) and relays what is left of what was read. */
    private void passOn(ChannelHandlerContext ctx) {
        finish(null);
        ByteBuf rest = cumulation;
        cumulation = null;
        ctx.pipeline().remove(this);
        if (rest != null) {
            if (rest.isReadable()) {
                ctx.fireChannelRead(rest);
            } else {
                rest.release();
            }
        }
    }

    private void finish(PeerWorkload p) {
        if (state != State.REFUSED) {
            state = State.DONE;
        }
        peer.trySuccess(p);
    }

    private void releaseCumulation() {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        finish(null);
        releaseCumulation();
        io.netty.channel.PendingWriteQueue q = held;
        held = null;
        if (q != null) {
            q.removeAndFailAll(new java.nio.channels.ClosedChannelException());
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseCumulation();
    }
}
