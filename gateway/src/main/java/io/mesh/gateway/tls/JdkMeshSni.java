package io.mesh.gateway.tls;

import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.StandardConstants;
import org.jboss.logging.Logger;

/**
 * Istio's mesh SNI ({@code outbound_.PORT_._.HOST}) on the JDK's TLS, which takes only host names for a
 * {@code host_name} SNI: the underscores make {@code SNIHostName} refuse it, so the JDK's client sends none for it,
 * and the JDK's server answers a ClientHello that carries it with {@code illegal_parameter}. Netty's netty-tcnative
 * client checks the name with the same {@code SNIHostName} and sends none either.
 * <ul>
 * <li>Client: {@link #request} asks for it as raw bytes of type {@code host_name} (an {@code SNIServerName} of our
 * own, which the JDK's client sends as it is), or on netty-tcnative's engine sets it on the {@code SSL} object, which
 * BoringSSL sends as it is; {@link #clientContext} does it for every engine a context makes, and
 * {@link #clientEngine} for the Vert.x clients' engines;</li>
 * <li>Server: the JDK's server reads no SNI when {@code jdk.tls.server.disableExtensions} names {@code server_name}
 * (read once, when the JDK's TLS first loads: {@link #leaveServerSniToNetty} sets it at startup, before any TLS).
 * The gateway does not need the JDK to read it: Netty's {@code SniHandler} picks a TLS server's certificate and
 * chain from the ClientHello before the engine sees it, and mesh mTLS servers have one certificate.
 * {@link #serverTakesMeshSni} tells whether that took effect in this JVM (a handshake in memory).</li>
 * </ul>
 */
public final class JdkMeshSni {

    private static final Logger LOG = Logger.getLogger(JdkMeshSni.class);

    static final String SERVER_DISABLED_EXTENSIONS = "jdk.tls.server.disableExtensions";
    /** What {@link #serverTakesMeshSni} offers: the longest form, a port and a namespaced host. */
    static final String PROBE_SNI = "outbound_.15443_._.probe.istio-system.svc.cluster.local";

    private static volatile Boolean serverTakesMeshSni;

    private JdkMeshSni() {
    }

    /**
     * Makes the JDK's TLS servers read no SNI ({@code server_name} added to {@code jdk.tls.server.disableExtensions});
     * effective only when called before the JDK's TLS loads (the first line of {@code main}).
     */
    public static void leaveServerSniToNetty() {
        String v = System.getProperty(SERVER_DISABLED_EXTENSIONS);
        if (v == null || v.isBlank()) {
            System.setProperty(SERVER_DISABLED_EXTENSIONS, "server_name");
        } else if (Arrays.stream(v.split(",")).map(String::trim).noneMatch("server_name"::equals)) {
            System.setProperty(SERVER_DISABLED_EXTENSIONS, v + ",server_name");
        }
    }

    /**
     * Asks for {@code sni} on a client {@code engine} before its handshake starts, where the engine would not send it
     * itself: a name that is no LDH host name (Istio's mesh SNI), as raw bytes on the JDK's engine, set on the
     * {@code SSL} object on netty-tcnative's. A host name (or none) is left to the engine, which sends it.
     */
    public static void request(SSLEngine engine, String sni) {
        if (sni == null || sni.isEmpty() || hostName(sni) || io.netty.util.NetUtil.isValidIpV6Address(sni)) {
            return;
        }
        if (engine instanceof ReferenceCountedOpenSslEngine openSsl) {
            io.netty.internal.tcnative.SSL.setTlsExtHostName(openSsl.sslPointer(), sni);
            return;
        }
        SSLParameters p = engine.getSSLParameters();
        p.setServerNames(List.of(new RawHostName(sni)));
        engine.setSSLParameters(p);
    }

    /** Whether the engines send {@code sni} themselves: letters, digits, hyphens and dots only (an LDH host name). */
    static boolean hostName(String sni) {
        for (int i = 0; i < sni.length(); i++) {
            char c = sni.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.')) {
                return false;
            }
        }
        return true;
    }

    /** A client context whose engines ask for their peer host as SNI ({@link #request}) even when it is a mesh SNI. */
    public static io.netty.handler.ssl.SslContext clientContext(io.netty.handler.ssl.SslContext context) {
        return clientContext(context, null);
    }

    /**
     * A client context whose engines send {@code sni} whatever their peer host ({@link #send}), or, for null, their peer
     * host as {@link #clientContext(io.netty.handler.ssl.SslContext)}.
     */
    static io.netty.handler.ssl.SslContext clientContext(io.netty.handler.ssl.SslContext context, String sni) {
        return new io.netty.handler.ssl.DelegatingSslContext(context) {
            @Override
            protected void initEngine(SSLEngine engine) {
                if (sni == null) {
                    clientEngine(engine);
                } else if (engine.getUseClientMode()) {
                    send(engine, sni);
                }
            }
        };
    }

    /**
     * Has a client engine send {@code sni} whatever its peer host (an engine connecting to an address sends none). A
     * host name becomes the engine's own server name, so its HTTPS host name check (the JDK's trust manager reads
     * the SNI it asked for) checks the certificate against it; another name (a mesh SNI) goes as {@link #request}.
     */
    static void send(SSLEngine engine, String sni) {
        if (!hostName(sni)) {
            request(engine, sni);
            return;
        }
        SSLParameters p = engine.getSSLParameters();
        p.setServerNames(List.of(new javax.net.ssl.SNIHostName(sni)));
        engine.setSSLParameters(p);
    }

    /** {@link #request} of a client engine's peer host (the SNI a Vert.x client asks for), before its handshake. */
    public static void clientEngine(SSLEngine engine) {
        if (engine.getUseClientMode()) {
            request(engine, engine.getPeerHost());
        }
    }

    /**
     * Vert.x client engine options of the same engine ({@code null}: the JDK's, Vert.x's default) whose contexts are
     * {@link #clientContext}s, so a request whose peer host is a mesh SNI sends it.
     */
    public static io.vertx.core.net.SSLEngineOptions clientOptions(io.vertx.core.net.SSLEngineOptions engine) {
        return clientOptions(engine, null);
    }

    /**
     * As {@link #clientOptions(io.vertx.core.net.SSLEngineOptions)}, but every client engine sends {@code sni} whatever
     * its peer host: for a client that connects to an address yet must send a name (Vert.x's WebSocket client sends
     * the host it connects to). Null: the peer host.
     */
    public static io.vertx.core.net.SSLEngineOptions clientOptions(io.vertx.core.net.SSLEngineOptions engine, String sni) {
        if (engine instanceof io.vertx.core.net.OpenSSLEngineOptions openSsl) {
            return new OpenSslClient(openSsl, sni);
        }
        return new JdkClient(engine instanceof io.vertx.core.net.JdkSSLEngineOptions jdk ? jdk
                : new io.vertx.core.net.JdkSSLEngineOptions(), sni);
    }

    /** netty-tcnative's engine options (the same class, so Vert.x treats them as such) with mesh SNI contexts. */
    private static final class OpenSslClient extends io.vertx.core.net.OpenSSLEngineOptions {
        private final String sni;

        OpenSslClient(io.vertx.core.net.OpenSSLEngineOptions options, String sni) {
            super(options);
            this.sni = sni;
        }

        @Override
        public OpenSslClient copy() {
            return new OpenSslClient(this, sni);
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory sslContextFactory() {
            return new ClientContextFactory(super.sslContextFactory(), sni);
        }
    }

    /** The JDK's engine options with mesh SNI contexts. */
    private static final class JdkClient extends io.vertx.core.net.JdkSSLEngineOptions {
        private final String sni;

        JdkClient(io.vertx.core.net.JdkSSLEngineOptions options, String sni) {
            super(options);
            this.sni = sni;
        }

        @Override
        public JdkClient copy() {
            return new JdkClient(this, sni);
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory sslContextFactory() {
            return new ClientContextFactory(super.sslContextFactory(), sni);
        }
    }

    /** An engine's context factory whose client contexts are {@link #clientContext(io.netty.handler.ssl.SslContext, String)}s. */
    private static final class ClientContextFactory extends ForwardingSslContextFactory {
        private final String sni;
        private boolean client;

        ClientContextFactory(io.vertx.core.spi.tls.SslContextFactory delegate, String sni) {
            super(delegate);
            this.sni = sni;
        }

        @Override
        public io.vertx.core.spi.tls.SslContextFactory forClient(boolean forClient) {
            client = forClient;
            return super.forClient(forClient);
        }

        @Override
        public io.netty.handler.ssl.SslContext create() throws SSLException {
            io.netty.handler.ssl.SslContext c = delegate.create();
            return client ? clientContext(c, sni) : c;
        }
    }

    /** An SNI of type {@code host_name} that the JDK sends without checking it is a host name. */
    private static final class RawHostName extends SNIServerName {
        RawHostName(String name) {
            super(StandardConstants.SNI_HOST_NAME, name.getBytes(StandardCharsets.US_ASCII));
        }
    }

    /**
     * Whether the JDK's TLS server in this JVM takes a ClientHello with Istio's mesh SNI. Found once per JVM (the
     * setting is read once) by a handshake in memory: a JDK client asks for {@link #PROBE_SNI}, a JDK server without
     * any certificate reads its ClientHello; it gets past the extensions (where it refuses the SNI, with
     * {@code illegal_parameter}) only to fail at picking a certificate ("No available authentication scheme"). Only that
     * failure counts as taken: anything else is false.
     */
    public static boolean serverTakesMeshSni() {
        Boolean known = serverTakesMeshSni;
        if (known == null) {
            known = probe();
            serverTakesMeshSni = known;
            if (!known) {
                LOG.warnf("the JDK's TLS server refuses Istio's mesh SNI here (%s=server_name was not in force when it"
                        + " loaded): TLS that TCP relays terminate stays on the data plane's engine, which cannot pass a"
                        + " half-close on", SERVER_DISABLED_EXTENSIONS);
            }
        }
        return known;
    }

    static boolean probe() {
        try {
            SSLContext c = SSLContext.getInstance("TLS");
            c.init(null, null, null);   // no certificate, no trust: nothing is verified, no handshake completes
            SSLEngine client = c.createSSLEngine();
            client.setUseClientMode(true);
            request(client, PROBE_SNI);
            ByteBuffer hello = ByteBuffer.allocate(client.getSession().getPacketBufferSize());
            client.wrap(ByteBuffer.allocate(0), hello);
            hello.flip();
            SSLEngine server = c.createSSLEngine();
            server.setUseClientMode(false);
            server.unwrap(hello, ByteBuffer.allocate(server.getSession().getApplicationBufferSize()));
            runTasks(server);
            server.wrap(ByteBuffer.allocate(0), ByteBuffer.allocate(server.getSession().getPacketBufferSize() * 4));
            return false;   // a server without a certificate cannot answer
        } catch (SSLException e) {
            LOG.debugf("mesh SNI probe: %s", e.toString());
            return "No available authentication scheme".equals(e.getMessage());
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            LOG.debugf("mesh SNI probe: %s", e.toString());
            return false;
        }
    }

    private static void runTasks(SSLEngine e) {
        for (Runnable t = e.getDelegatedTask(); t != null; t = e.getDelegatedTask()) {
            t.run();
        }
    }
}
