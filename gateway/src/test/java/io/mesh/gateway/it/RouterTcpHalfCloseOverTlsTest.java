package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.mesh.testing.FreePorts;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A router's TCP routes with TLS on a side pass a client's half-close on, as Envoy's tcp_proxy does: a Gateway TLS
 * server that terminates TLS for a tcp route (the client's TLS 1.3 close_notify becomes a FIN to the plain backend),
 * and a tcp route whose cluster originates TLS (DestinationRule tls SIMPLE: the client's FIN becomes a close_notify to
 * the TLS backend). Each backend reads to the end of the client's input and only then answers; the client must get
 * the whole answer. Clients and backends are the JDK's sockets ({@code SSLSocket.shutdownOutput}: a close_notify,
 * then a FIN; an {@code SSLSocket} reads -1 on a TLS 1.3 close_notify and can still write).
 */
class RouterTcpHalfCloseOverTlsTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static TestGateway gw;
    /** TLS (db.example) terminated by the gateway, then plain TCP to the backend that answers at its end of input. */
    static int terminating;
    /** Plain TCP, then TLS the gateway originates (SIMPLE, SNI backend.local) to a JDK TLS backend that does the same. */
    static int originating;
    static String[] db;

    @BeforeAll
    static void start() throws Exception {
        TlsTermination.dir = Files.createTempDirectory("router-tcp-half-close-tls");
        db = TlsTermination.cert("db.example");
        String[] backendCert = TlsTermination.cert("backend.local");
        int plainBackend = answerAtEof(MESH.closing(new ServerSocket(0, 50, InetAddress.getLoopbackAddress())));
        int tlsBackend = answerAtEof(MESH.closing(tlsServer(backendCert)));
        terminating = FreePorts.next();
        originating = FreePorts.next();
        ControlPlane pilot = MESH.pilot();
        Listener tls = GatewayTlsServersTest.tcp("tls-eof", terminating, "db.example", DownstreamTlsContext.newBuilder()
                .setCommonTlsContext(CommonTlsContext.newBuilder()
                        .addTlsCertificateSdsSecretConfigs(GatewayTlsServersTest.sds("kubernetes://db"))).build());
        tls = tls.toBuilder().setFilterChains(0, tls.getFilterChains(0).toBuilder().clearFilters()
                .addFilters(TcpHalfCloseOverMeshTlsTest.tcpProxy("eof"))).build();
        pilot.set(List.of(Xds.edsCluster("eof"), UpstreamTlsTest.tls("eof-tls", backendCert[0], null)),
                List.of(Xds.endpoints("eof", plainBackend), Xds.endpoints("eof-tls", tlsBackend)),
                List.of(tls, TcpHalfCloseOverMeshTlsTest.plainTcp("plain-to-tls", originating, "eof-tls")), List.of(),
                List.of(Xds.secret("kubernetes://db", db[0], db[1])));
        gw = MESH.startGateway(Map.of());
    }

    /** A JDK TLS 1.3 server for {@code cert} ({cert, key} PEM). */
    static ServerSocket tlsServer(String[] cert) throws Exception {
        Certificate c = CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(cert[0].getBytes(StandardCharsets.US_ASCII)));
        String pem = cert[1].replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("backend", KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(
                Base64.getDecoder().decode(pem))), new char[0], new Certificate[] {c});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        SSLContext tls = SSLContext.getInstance("TLSv1.3");
        tls.init(kmf.getKeyManagers(), null, null);
        SSLServerSocket s = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        s.setEnabledProtocols(new String[] {"TLSv1.3"});
        return s;
    }

    /**
     * Serves on {@code server}: reads until the client's end of input (a FIN, or on TLS its close_notify), then answers
     * "eof:" and everything it read, and closes. The answer reaches a client only if its half-close was passed on and
     * the other direction kept open.
     */
    static int answerAtEof(ServerSocket server) {
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    byte[] all = s.getInputStream().readAllBytes();
                    s.getOutputStream().write(("eof:" + new String(all, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                    s.getOutputStream().flush();
                } catch (java.io.IOException e) {
                    // closed, or a client that went away
                }
            }
        }, "answer-at-eof");
        t.setDaemon(true);
        t.start();
        return server.getLocalPort();
    }

    /** Sends {@code request}, shuts its output, and returns all it reads until the end of the stream. */
    static String requestThenHalfClose(Socket s, String request) throws Exception {
        s.setSoTimeout(10_000);
        s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        s.shutdownOutput();
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void aTlsClientsCloseNotifyCrossesTheGatewaysTlsServerAsAFinAndTheAnswerComesBack() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("db", CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(db[0].getBytes(StandardCharsets.US_ASCII))));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext tls = SSLContext.getInstance("TLSv1.3");
        tls.init(null, tmf.getTrustManagers(), null);
        for (int i = 0; i < 3; i++) {
            try (SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", terminating)) {
                SSLParameters p = s.getSSLParameters();
                p.setServerNames(List.of(new SNIHostName("db.example")));
                p.setProtocols(new String[] {"TLSv1.3"});
                s.setSSLParameters(p);
                s.startHandshake();
                assertEquals("TLSv1.3", s.getSession().getProtocol());
                assertEquals("eof:request " + i, requestThenHalfClose(s, "request " + i));
            }
        }
        // Both directions ended: the gateway closed both connections.
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().openConnections() == 0);
    }

    @Test
    void aClientsFinCrossesTheClustersTlsAsACloseNotifyAndTheTlsBackendsAnswerComesBack() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (Socket s = new Socket("127.0.0.1", originating)) {
                assertEquals("eof:request " + i, requestThenHalfClose(s, "request " + i));
            }
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().openConnections() == 0);
    }
}
