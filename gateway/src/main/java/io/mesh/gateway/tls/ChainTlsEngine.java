package io.mesh.gateway.tls;

import io.netty.handler.ssl.SslContext;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.spi.tls.SslContextFactory;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLException;

/**
 * The TLS engine of an HTTP listener that terminates TLS: the data plane's engine, whose server contexts are made per
 * certificate as Vert.x picks it by SNI, with the versions and cipher suites of the filter chain that certificate is
 * for ({@link SniKeyCertOptions#withChainParams}, by the certificate's key manager factory). Contexts of chains without tls_params are the engine's own. It keeps
 * the engine's class (OpenSSL or JDK), which Vert.x and the data plane test for.
 */
public final class ChainTlsEngine {

    private ChainTlsEngine() {
    }

    /** {@code engine} with each context made for a chain's certificate narrowed to that chain's settings. */
    public static SSLEngineOptions of(SSLEngineOptions engine) {
        if (engine instanceof OpenSSLEngineOptions o) {
            return new OpenSsl(o);
        }
        return new Jdk((JdkSSLEngineOptions) engine);
    }

    private static final class OpenSsl extends OpenSSLEngineOptions {
        OpenSsl(OpenSSLEngineOptions engine) {
            super(engine);
        }

        @Override
        public OpenSSLEngineOptions copy() {
            return new OpenSsl(this);
        }

        @Override
        public SslContextFactory sslContextFactory() {
            return new Factory(super.sslContextFactory());
        }
    }

    private static final class Jdk extends JdkSSLEngineOptions {
        Jdk(JdkSSLEngineOptions engine) {
            super(engine);
        }

        @Override
        public JdkSSLEngineOptions copy() {
            return new Jdk(this);
        }

        @Override
        public SslContextFactory sslContextFactory() {
            return new Factory(super.sslContextFactory());
        }
    }

    /** The engine's factory, remembering the certificate so that the context it makes gets that chain's settings. */
    private static final class Factory extends ForwardingSslContextFactory {
        private KeyManagerFactory kmf;

        Factory(SslContextFactory engine) {
            super(engine);
        }

        @Override
        public SslContextFactory keyMananagerFactory(KeyManagerFactory kmf) {
            this.kmf = kmf;
            return super.keyMananagerFactory(kmf);
        }

        @Override
        public SslContext create() throws SSLException {
            return SniKeyCertOptions.withChainParams(kmf, delegate.create());
        }
    }
}
