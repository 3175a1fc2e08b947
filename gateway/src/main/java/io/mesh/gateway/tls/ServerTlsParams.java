package io.mesh.gateway.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.util.List;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLEngine;

/**
 * A TLS filter chain's versions and cipher suites (Envoy's {@code tls_params}), applied to each server engine of the
 * chain, with either TLS engine. {@code protocols} are the JDK's names of the versions served (a range within TLSv1.2
 * and TLSv1.3); {@code cipherSuites} the JDK's names of the TLS 1.2 suites allowed, in order, followed by the TLS 1.3
 * ones (Envoy's cipher_suites has no effect on TLS 1.3), or empty for the engine's defaults. Immutable.
 * <p>
 * The settings go on the engine, not the context: Vert.x sets its listener-wide protocols on every engine it makes, so
 * a chain's own are put back when its handler joins the pipeline, before the client's hello is read.
 */
public record ServerTlsParams(List<String> protocols, List<String> cipherSuites) {

    /** The TLS 1.3 suites both engines serve: TLS 1.3 stays available whatever cipher_suites lists, as in Envoy. */
    public static final List<String> TLS13_SUITES = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256");

    public ServerTlsParams {
        protocols = List.copyOf(protocols);
        cipherSuites = List.copyOf(cipherSuites);
    }

    /** Narrows the engine to the chain's suites (first: an OpenSSL engine resets its protocols then) and versions. */
    public void apply(SSLEngine engine) {
        if (!cipherSuites.isEmpty()) {
            engine.setEnabledCipherSuites(cipherSuites.toArray(String[]::new));
        }
        engine.setEnabledProtocols(protocols.toArray(String[]::new));
    }

    /** The chain's server context: the engine's own, whose engines and handlers get these settings. */
    public SslContext wrap(SslContext context) {
        return new Context(context, this);
    }

    private static final class Context extends DelegatingSslContext {

        private final ServerTlsParams params;

        Context(SslContext context, ServerTlsParams params) {
            super(context);
            this.params = params;
        }

        @Override
        protected void initEngine(SSLEngine engine) {
            params.apply(engine);
        }

        /**
         * The handlers Vert.x's SNI handler asks for: Vert.x then sets its listener-wide protocols on the engine, so the
         * chain's are applied again as the handler is added, before the first byte of the handshake is read.
         */
        @Override
        protected SslHandler newHandler(ByteBufAllocator alloc, boolean startTls, Executor executor) {
            return reapplying(newEngine(alloc), startTls, executor);
        }

        /** The same, when Vert.x passes the peer's address (its SNI handler with a proxy protocol address). */
        @Override
        protected SslHandler newHandler(ByteBufAllocator alloc, String peerHost, int peerPort, boolean startTls,
                Executor executor) {
            return reapplying(newEngine(alloc, peerHost, peerPort), startTls, executor);
        }

        private SslHandler reapplying(SSLEngine engine, boolean startTls, Executor executor) {
            return new SslHandler(engine, startTls, executor) {
                @Override
                public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
                    params.apply(engine());
                    super.handlerAdded(ctx);
                }
            };
        }
    }
}
