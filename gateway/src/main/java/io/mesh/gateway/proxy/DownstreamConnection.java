package io.mesh.gateway.proxy;

import io.mesh.gateway.model.ConnectionTls;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the access log and CEL read of a downstream connection rather than of a request: Envoy's connection id and the
 * connection's TLS ({@link ConnectionTls}). Made for a channel the first time a log line or filter asks (an attribute
 * of the channel), never when the connection is accepted, so a connection whose lines read neither costs nothing; every
 * request of the connection, whichever path (Vert.x or fast) carries it, then reads the same object. The id comes from
 * one process-wide counter, so ids are unique and increase in the order connections are first logged (Envoy numbers
 * them when they are accepted). The TLS is read from the channel's {@link SslHandler} once its handshake is done: the
 * router's HTTPS and TLS listeners (Vert.x's or the relay's handler) and a sidecar's mesh mTLS alike.
 *
 * <p>Event-loop confined, as its channel.
 */
final class DownstreamConnection {

    private static final AttributeKey<DownstreamConnection> KEY = AttributeKey.valueOf("mesh.gateway.downstream-connection");
    private static final AtomicLong NEXT_ID = new AtomicLong();

    private final long id = NEXT_ID.incrementAndGet();
    private ConnectionTls tls;
    private boolean tlsRead;

    private DownstreamConnection() {
    }

    /** The connection of {@code ch}, made at the first ask; null for null. */
    static DownstreamConnection of(Channel ch) {
        if (ch == null) {
            return null;
        }
        var attr = ch.attr(KEY);
        DownstreamConnection c = attr.get();
        if (c == null) {
            c = new DownstreamConnection();
            attr.set(c);
        }
        return c;
    }

    /** Envoy's connection id. */
    long id() {
        return id;
    }

    /** The TLS of {@code ch} (this connection's channel), or null: plaintext, or a handshake not (yet) done. */
    ConnectionTls tls(Channel ch) {
        if (!tlsRead) {
            SslHandler ssl = ch.pipeline().get(SslHandler.class);
            if (ssl == null) {
                tlsRead = true;
            } else if (ssl.handshakeFuture().isSuccess()) {
                tls = ConnectionTls.of(ssl.engine());
                tlsRead = true;
            }
        }
        return tls;
    }

    /** The id of {@code ch}'s connection, or null without one. */
    static Long idOf(Channel ch) {
        DownstreamConnection c = of(ch);
        return c == null ? null : c.id;
    }

    /** The TLS of {@code ch}'s connection, or null. */
    static ConnectionTls tlsOf(Channel ch) {
        DownstreamConnection c = of(ch);
        return c == null ? null : c.tls(ch);
    }
}
