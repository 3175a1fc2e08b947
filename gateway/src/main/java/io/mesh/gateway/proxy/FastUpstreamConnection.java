package io.mesh.gateway.proxy;

import io.mesh.gateway.upstream.EndpointState;
import io.mesh.gateway.upstream.Upstream;
import io.netty.buffer.ByteBuf;
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
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.impl.headers.HeadersMultiMap;

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
    /** The request in flight is a HEAD: its response has no body whatever its headers say. */
    boolean headRequest;
    /** Between a read and its readComplete: downstream writes are flushed once, at the end of the read. */
    boolean reading;
    private FastPathHandler flushAfterRead;

    FastUpstreamConnection(FastUpstreamPool pool, Upstream upstream, EndpointState endpoint) {
        this.pool = pool;
        this.upstream = upstream;
        this.endpoint = endpoint;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        ctx.pipeline().addBefore(ctx.name(), "decoder", new ResponseDecoder());
        ctx.pipeline().addBefore(ctx.name(), "encoder", new RequestEncoder());
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
            ex.onResponseContent(c, c instanceof LastHttpContent);
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

    private final class ResponseDecoder extends HttpResponseDecoder {

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
