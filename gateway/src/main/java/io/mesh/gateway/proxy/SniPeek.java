package io.mesh.gateway.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.jboss.logging.Logger;

/**
 * Envoy's tls_inspector for listeners whose filter chains match on server names: reads a connection's TLS ClientHello
 * for its SNI (none for a stream that is not TLS, or a ClientHello without one), then lets the caller pick a chain and
 * start relaying. The bytes read go on, untouched, to the handler the relay put after this one: the TLS stream
 * itself passes through.
 */
final class SniPeek {

    private static final Logger LOG = Logger.getLogger(SniPeek.class);

    private SniPeek() {
    }

    /**
     * Reads {@code ch}'s SNI, then calls {@code relay} with it (null: none), which returns whether it relays (else it
     * has closed the connection). A client that sends no complete ClientHello within {@code timeoutMs} (0 = no limit)
     * is closed, as a silent HTTP client is after the request-header timeout.
     */
    static void then(Channel ch, String listener, long timeoutMs, Predicate<String> relay) {
        AbstractSniHandler<Object> sni = new AbstractSniHandler<>() {
            @Override
            protected io.netty.util.concurrent.Future<Object> lookup(ChannelHandlerContext ctx, String hostname) {
                return ctx.executor().newSucceededFuture(null);
            }

            @Override
            protected void onLookupComplete(ChannelHandlerContext ctx, String hostname,
                    io.netty.util.concurrent.Future<Object> future) {
                if (relay.test(hostname)) {
                    ctx.pipeline().remove(this);   // what it read goes on to the relay, which holds it until connected
                }
            }
        };
        ch.pipeline().addLast("sni", sni);
        if (timeoutMs > 0) {
            ch.eventLoop().schedule(() -> {
                if (ch.pipeline().get("sni") == sni) {
                    LOG.debugf("%s: closing %s: no ClientHello in %d ms", listener, ch.remoteAddress(), timeoutMs);
                    ch.close();
                }
            }, timeoutMs, TimeUnit.MILLISECONDS);
        }
    }
}
