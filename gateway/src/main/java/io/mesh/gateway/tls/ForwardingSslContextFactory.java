package io.mesh.gateway.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.spi.tls.SslContextFactory;
import java.util.List;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/**
 * An engine's Vert.x context factory that passes every setting on to it: the base of factories that change the
 * context it makes ({@link #create}) or note a setting on the way.
 */
abstract class ForwardingSslContextFactory implements SslContextFactory {
    protected final SslContextFactory delegate;

    ForwardingSslContextFactory(SslContextFactory delegate) {
        this.delegate = delegate;
    }

    @Override
    public SslContextFactory useAlpn(boolean useAlpn) {
        delegate.useAlpn(useAlpn);
        return this;
    }

    @Override
    public SslContextFactory clientAuth(ClientAuth clientAuth) {
        delegate.clientAuth(clientAuth);
        return this;
    }

    @Override
    public SslContextFactory forClient(boolean forClient) {
        delegate.forClient(forClient);
        return this;
    }

    @Override
    public SslContextFactory keyMananagerFactory(KeyManagerFactory kmf) {
        delegate.keyMananagerFactory(kmf);
        return this;
    }

    @Override
    public SslContextFactory trustManagerFactory(TrustManagerFactory tmf) {
        delegate.trustManagerFactory(tmf);
        return this;
    }

    @Override
    public SslContextFactory enabledCipherSuites(Set<String> suites) {
        delegate.enabledCipherSuites(suites);
        return this;
    }

    @Override
    public SslContextFactory applicationProtocols(List<String> protocols) {
        delegate.applicationProtocols(protocols);
        return this;
    }

    @Override
    public SslContextFactory serverName(String serverName) {
        delegate.serverName(serverName);
        return this;
    }

    @Override
    public SslContext create() throws SSLException {
        return delegate.create();
    }
}
