package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The router's TCP listeners, in the form pilot sends them for a Gateway's TLS server in PASSTHROUGH mode (chains by
 * SNI, each a tcp_proxy) and for its TCP server (a tcp_proxy over weighted clusters): the TLS stream reaches the
 * backend untouched (the client sees the backend's own certificate), the SNI picks the backend, a name no chain
 * serves is closed, and TCP connections are spread by weight.
 */
class RouterTcpTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static Vertx vertx;
    static ControlPlane pilot;
    static TestGateway gw;
    static int passthrough;
    static int tcp;
    /** A TCP listener whose backend answers at the end of the client's input (after its half-close). */
    static int halfClose;
    static java.net.ServerSocket atEof;
    /** A TCP listener whose chain's network RBAC denies clients from 127.0.0.1 (a DENY AuthorizationPolicy's form). */
    static int denied;
    /** The gateway's connection cap, which TCP connections count under too. */
    static final int CAP = 50;

    @BeforeAll
    static void start() throws Exception {
        vertx = MESH.vertx();
        TlsTermination.dir = Files.createTempDirectory("gateway-passthrough");
        int a = tlsBackend("a.example");
        int b = tlsBackend("b.example");
        int echo1 = echo("echo1");
        int echo2 = echo("echo2");
        int eof = answerAtEof();
        pilot = MESH.pilot();
        passthrough = FreePorts.next();
        tcp = FreePorts.next();
        halfClose = FreePorts.next();
        denied = FreePorts.next();
        Listener sni = Listener.newBuilder().setName("0.0.0.0_" + passthrough).setAddress(Xds.address("127.0.0.1", passthrough))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
                        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
                .addFilterChains(sniChain("a.example", "a")).addFilterChains(sniChain("b.example", "b")).build();
        TcpProxy weighted = TcpProxy.newBuilder().setStatPrefix("echo").setWeightedClusters(TcpProxy.WeightedCluster.newBuilder()
                .addClusters(TcpProxy.WeightedCluster.ClusterWeight.newBuilder().setName("echo1").setWeight(50))
                .addClusters(TcpProxy.WeightedCluster.ClusterWeight.newBuilder().setName("echo2").setWeight(50))).build();
        Listener plain = Listener.newBuilder().setName("0.0.0.0_" + tcp).setAddress(Xds.address("127.0.0.1", tcp))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(weighted)))).build();
        Listener eofListener = Listener.newBuilder().setName("0.0.0.0_" + halfClose).setAddress(Xds.address("127.0.0.1", halfClose))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName("envoy.filters.network.tcp_proxy")
                        .setTypedConfig(Any.pack(TcpProxy.newBuilder().setStatPrefix("eof").setCluster("eof").build())))).build();
        pilot.set(List.of(Xds.edsCluster("a"), Xds.edsCluster("b"), Xds.edsCluster("echo1"), Xds.edsCluster("echo2"),
                        Xds.edsCluster("eof")),
                List.of(Xds.endpoints("a", a), Xds.endpoints("b", b), Xds.endpoints("echo1", echo1), Xds.endpoints("echo2", echo2),
                        Xds.endpoints("eof", eof)),
                List.of(sni, plain, eofListener, deniedListener()), List.of(), List.of());
        gw = MESH.startGateway(Map.of("mesh.gateway.limits.max-connections", Integer.toString(CAP)));
    }

    static FilterChain sniChain(String sni, String cluster) {
        return FilterChain.newBuilder().setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(sni))
                .addFilters(Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(
                        TcpProxy.newBuilder().setStatPrefix(cluster).setCluster(cluster).build()))).build();
    }

    /** An HTTPS server with its own certificate for {@code host}; it answers with the host name. */
    static int tlsBackend(String host) throws Exception {
        String[] cert = TlsTermination.cert(host);
        int port = FreePorts.next();
        vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
                        .addCertValue(Buffer.buffer(cert[0])).addKeyValue(Buffer.buffer(cert[1]))))
                .requestHandler(r -> r.response().end(host)).listen(port, "127.0.0.1")
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        return port;
    }

    /** A TCP server that answers each line with its name and the line. */
    static int echo(String name) throws Exception {
        int port = FreePorts.next();
        NetServer s = vertx.createNetServer().connectHandler(so -> so.handler(b -> so.write(name + ":" + b.toString())));
        s.listen(port, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        return port;
    }

    /** The plain TCP listener's tcp_proxy to echo1, behind an envoy.filters.network.rbac DENY for 127.0.0.1/32. */
    static Listener deniedListener() {
        var rules = io.envoyproxy.envoy.config.rbac.v3.RBAC.newBuilder()
                .setAction(io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.DENY)
                .putPolicies("deny-local", io.envoyproxy.envoy.config.rbac.v3.Policy.newBuilder()
                        .addPermissions(io.envoyproxy.envoy.config.rbac.v3.Permission.newBuilder().setAny(true))
                        .addPrincipals(io.envoyproxy.envoy.config.rbac.v3.Principal.newBuilder().setDirectRemoteIp(
                                io.envoyproxy.envoy.config.core.v3.CidrRange.newBuilder().setAddressPrefix("127.0.0.1")
                                        .setPrefixLen(com.google.protobuf.UInt32Value.of(32)))).build()).build();
        Filter rbac = Filter.newBuilder().setName("envoy.filters.network.rbac.deny").setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder().setStatPrefix("tcp.")
                        .setRules(rules).build())).build();
        return Listener.newBuilder().setName("0.0.0.0_" + denied).setAddress(Xds.address("127.0.0.1", denied))
                .addFilterChains(FilterChain.newBuilder().addFilters(rbac).addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(
                                TcpProxy.newBuilder().setStatPrefix("echo1").setCluster("echo1").build())))).build();
    }

    /**
     * A TCP server that reads until the client's end of input (its FIN), then answers "eof:" and everything it read
     * and closes: the answer reaches a client only if its half-close was passed on and the other direction kept open.
     */
    static int answerAtEof() throws Exception {
        int port = FreePorts.next();
        atEof = MESH.closing(new java.net.ServerSocket(port, 50, java.net.InetAddress.getLoopbackAddress()));
        Thread t = new Thread(() -> {
            while (!atEof.isClosed()) {
                try (Socket s = atEof.accept()) {
                    s.setSoTimeout(10_000);
                    byte[] all = s.getInputStream().readAllBytes();
                    s.getOutputStream().write(("eof:" + new String(all, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                } catch (java.io.IOException e) {
                    // closed, or a client that went away
                }
            }
        }, "answer-at-eof");
        t.setDaemon(true);
        t.start();
        return port;
    }

    static String curl(String host) throws Exception {
        return Run.run(List.of("curl", "-s", "-m", "10", "-k", "--resolve", host + ":" + passthrough + ":127.0.0.1",
                "-w", " %{http_code}", "https://" + host + ":" + passthrough + "/"), null).strip();
    }

    @Test
    void tlsPassesThroughToTheBackendTheSniNames() throws Exception {
        assertEquals("a.example 200", curl("a.example"));
        assertEquals("b.example 200", curl("b.example"));
        String seen = Run.run(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + passthrough, "-servername", "b.example"), "");
        assertTrue(seen.contains("subject=CN=b.example") || seen.contains("subject=CN = b.example"),
                "the backend's own certificate, not the gateway's: " + seen);
        assertTrue(curl("c.example").endsWith("000"), "no chain for the name: closed");
    }

    @Test
    void tcpConnectionsAreSpreadOverTheWeightedClusters() throws Exception {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            try (Socket s = new Socket("127.0.0.1", tcp)) {
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                out.write(("ping " + i).getBytes(StandardCharsets.UTF_8));
                out.flush();
                InputStream in = s.getInputStream();
                byte[] buf = new byte[64];
                int n = in.read(buf);
                String answer = new String(buf, 0, n, StandardCharsets.UTF_8);
                assertTrue(answer.equals("echo1:ping " + i) || answer.equals("echo2:ping " + i), answer);
                seen.add(answer.substring(0, 5));
            }
        }
        assertEquals(Set.of("echo1", "echo2"), seen, "40 connections over both clusters");
    }

    @Test
    void aClientsHalfCloseIsPassedOnAndTheAnswerStillComesBack() throws Exception {
        for (int i = 0; i < 5; i++) {
            try (Socket s = new Socket("127.0.0.1", halfClose)) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(("request " + i).getBytes(StandardCharsets.UTF_8));
                s.getOutputStream().flush();
                s.shutdownOutput();
                assertEquals("eof:request " + i, new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
        }
        // Both directions ended: the gateway closed both connections (none is left counted under the cap).
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> gw.gateway.dataPlane().openConnections() == 0);
    }

    @Test
    void aChainsNetworkRbacClosesTheConnectionsItDenies() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (Socket s = new Socket("127.0.0.1", denied)) {
                s.setSoTimeout(10_000);
                String answer;
                try {
                    answer = ping(s, "denied " + i);
                } catch (java.net.SocketException reset) {
                    answer = null;   // closed before the write: a reset instead of an end of stream
                }
                assertEquals(null, answer, "denied: closed without reaching echo1");
            }
        }
        // The same route without the RBAC filter answers (the plain listener goes to echo1 or echo2).
        try (Socket s = new Socket("127.0.0.1", tcp)) {
            s.setSoTimeout(10_000);
            assertTrue(ping(s, "allowed").endsWith(":allowed"));
        }
    }

    static String ping(Socket s, String text) throws Exception {
        s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
        byte[] buf = new byte[64];
        int n = s.getInputStream().read(buf);
        return n < 0 ? null : new String(buf, 0, n, StandardCharsets.UTF_8);
    }

    @Test
    void tcpConnectionsCountUnderTheConnectionCap() throws Exception {
        List<Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < CAP; i++) {
                Socket s = new Socket("127.0.0.1", tcp);
                s.setSoTimeout(10_000);
                open.add(s);
                assertTrue(ping(s, "hold " + i).endsWith("hold " + i));
            }
            try (Socket over = new Socket("127.0.0.1", tcp)) {
                over.setSoTimeout(10_000);
                String answer;
                try {
                    answer = ping(over, "one too many");
                } catch (java.net.SocketException reset) {
                    answer = null;   // closed before the write: a reset instead of an end of stream
                }
                assertEquals(null, answer, "closed at the cap");
            }
        } finally {
            for (Socket s : open) {
                s.close();
            }
        }
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
            try (Socket again = new Socket("127.0.0.1", tcp)) {
                again.setSoTimeout(5_000);
                return "again".equals(ping(again, "again").substring(6));
            }
        });
    }
}
