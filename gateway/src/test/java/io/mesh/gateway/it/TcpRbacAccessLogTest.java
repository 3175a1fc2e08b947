package io.mesh.gateway.it;

import static io.mesh.gateway.it.TcpProxyFixtures.cluster;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.mesh.testing.FreePorts;
import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A connection the router's network RBAC (an AuthorizationPolicy on a TCP server) refuses still gets its access log
 * line, as Envoy's tcp_proxy writes one for a connection its network RBAC filter closed: no upstream host (the cluster
 * is never dialled), no response flag, and Envoy's {@code connection_termination_details}
 * {@code rbac_access_denied_matched_policy[NAME]}, NAME the policy that matched ({@code none} when no ALLOW policy
 * did); on a plain TCP server and on a TLS server the router terminates (denied once the handshake is done, its SNI in
 * the line). The CEL filter reads Envoy's attributes of the connection: {@code connection.termination_details},
 * {@code response.flags} (Envoy's bit vector), {@code upstream.port}. Real sockets and a JDK TLS client against a
 * real gateway; lines read from {@code io.mesh.gateway.access}.
 */
class TcpRbacAccessLogTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static final Map<String, CompletableFuture<Void>> backendClosed = new ConcurrentHashMap<>();
    static final String DENY_POLICY = "ns[demo]-policy[no-local]-rule[0]";
    static int echo;
    static int refusedPort;
    /** A DENY policy matches the client; an ALLOW policy matches nobody; TLS terminated, then the DENY. */
    static int denied;
    static int allowMissed;
    static int tlsDenied;
    /** Filtered listeners: denied ones only (one with RBAC, one without); failed ones only (to echo, to nothing). */
    static int onlyDeniedRbac;
    static int onlyDeniedOpen;
    static int onlyFailedEcho;
    static int onlyFailedRefused;
    static int onlyToEchoPort;
    static String[] db;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        TlsTermination.dir = Files.createTempDirectory("tcp-rbac-access-log");
        db = TlsTermination.cert("db.example");
        echo = TcpProxyFixtures.echo(MESH.vertx(), backendClosed);
        refusedPort = FreePorts.next();   // nothing listens there
        denied = FreePorts.next();
        allowMissed = FreePorts.next();
        tlsDenied = FreePorts.next();
        onlyDeniedRbac = FreePorts.next();
        onlyDeniedOpen = FreePorts.next();
        onlyFailedEcho = FreePorts.next();
        onlyFailedRefused = FreePorts.next();
        onlyToEchoPort = FreePorts.next();
        String deniedOnly = "has(connection.termination_details)";
        String failedOnly = "response.flags != 0u";
        Listener tls = GatewayTlsServersTest.tcp("tls-rbac", tlsDenied, "db.example", DownstreamTlsContext.newBuilder()
                .setCommonTlsContext(CommonTlsContext.newBuilder()
                        .addTlsCertificateSdsSecretConfigs(GatewayTlsServersTest.sds("kubernetes://db"))).build());
        tls = tls.toBuilder().setFilterChains(0, tls.getFilterChains(0).toBuilder().clearFilters()
                .addFilters(rbac(RBAC.Action.DENY, DENY_POLICY, "127.0.0.1"))
                .addFilters(tcpProxy("echo", null))).build();
        MESH.pilot().set(List.of(Xds.edsCluster(cluster("echo")), Xds.edsCluster(cluster("refused"))),
                List.of(Xds.endpoints(cluster("echo"), echo), Xds.endpoints(cluster("refused"), refusedPort)),
                List.of(withRbac(denied, "echo", rbac(RBAC.Action.DENY, DENY_POLICY, "127.0.0.1"), null),
                        withRbac(allowMissed, "echo", rbac(RBAC.Action.ALLOW, "ns[demo]-policy[far]-rule[0]", "10.9.8.7"),
                                null),
                        tls,
                        withRbac(onlyDeniedRbac, "echo", rbac(RBAC.Action.DENY, DENY_POLICY, "127.0.0.1"), deniedOnly),
                        TcpProxyFixtures.listener(onlyDeniedOpen, "echo", t -> t.addAccessLog(
                                TcpAccessLogTest.log(deniedOnly))),
                        TcpProxyFixtures.listener(onlyFailedEcho, "echo", t -> t.addAccessLog(
                                TcpAccessLogTest.log(failedOnly))),
                        TcpProxyFixtures.listener(onlyFailedRefused, "refused", t -> t.addAccessLog(
                                TcpAccessLogTest.log(failedOnly))),
                        TcpProxyFixtures.listener(onlyToEchoPort, "echo", t -> t.addAccessLog(
                                TcpAccessLogTest.log("upstream.port == " + echo + " && upstream.address == '127.0.0.1'")))),
                List.of(), List.of(Xds.secret("kubernetes://db", db[0], db[1])));
        MESH.startGateway(Map.of());
    }

    @AfterAll
    static void stop() {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
    }

    /** istiod's network RBAC filter: one policy whose one principal is the client's address {@code ip}/32. */
    static Filter rbac(RBAC.Action action, String policy, String ip) {
        RBAC rules = RBAC.newBuilder().setAction(action).putPolicies(policy, Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setAny(true))
                .addPrincipals(Principal.newBuilder().setDirectRemoteIp(CidrRange.newBuilder().setAddressPrefix(ip)
                        .setPrefixLen(UInt32Value.of(32)))).build()).build();
        return Filter.newBuilder().setName("envoy.filters.network.rbac").setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder().setStatPrefix("tcp.")
                        .setRules(rules).build())).build();
    }

    /** A tcp_proxy to {@code name}'s cluster with pilot's access log under {@code filter} (null: none). */
    static Filter tcpProxy(String name, String filter) {
        return Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(
                TcpProxy.newBuilder().setStatPrefix(cluster(name)).setCluster(cluster(name))
                        .addAccessLog(TcpAccessLogTest.log(filter)).build())).build();
    }

    /** A plain TCP listener: {@code rbac}, then a logged tcp_proxy to {@code name}. */
    static Listener withRbac(int port, String name, Filter rbac, String filter) {
        Listener l = TcpProxyFixtures.listener(port, name, t -> t);
        return l.toBuilder().setFilterChains(0, l.getFilterChains(0).toBuilder().clearFilters().addFilters(rbac)
                .addFilters(tcpProxy(name, filter))).build();
    }

    /** Connects from a fresh port, sends a line, and reads until the gateway ends the connection; the client's port. */
    static int refusedConnection(int port) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            sendThenAwaitEnd(s);
            return s.getLocalPort();
        }
    }

    /** Sends a line, then reads until the gateway ends the connection (an end of stream, a reset, a TLS alert). */
    static void sendThenAwaitEnd(Socket s) {
        try {
            s.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            while (s.getInputStream().read() != -1) {
                // nothing is relayed; whatever arrives before the end
            }
        } catch (java.io.IOException ended) {
            // closed under the write or the read
        }
    }

    /** The line of the connection from this client port, once written. */
    static String lineOf(int clientPort) {
        String from = "\"downstream_remote_address\":\"127.0.0.1:" + clientPort + "\"";
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> CAPTURE.lines.stream().anyMatch(l -> l.contains(from)));
        return CAPTURE.lines.stream().filter(l -> l.contains(from)).findFirst().orElseThrow();
    }

    static boolean loggedFrom(int clientPort) {
        return CAPTURE.lines.stream().anyMatch(l -> l.contains("\"downstream_remote_address\":\"127.0.0.1:" + clientPort
                + "\""));
    }

    @Test
    void aConnectionTheNetworkRbacDeniesIsLoggedWithThePolicyAndNoUpstream() throws Exception {
        String line = lineOf(refusedConnection(denied));
        assertTrue(line.contains("\"connection_termination_details\":\"rbac_access_denied_matched_policy[" + DENY_POLICY
                + "]\""), line);
        assertTrue(line.contains("\"response_flags\":\"-\""), line);
        assertTrue(line.contains("\"upstream_host\":null"), line);
        assertTrue(line.contains("\"upstream_cluster\":\"" + cluster("echo") + "\""), line);
        assertTrue(line.contains("\"bytes_sent\":0,"), line);
        assertTrue(line.contains("\"downstream_local_address\":\"127.0.0.1:" + denied + "\""), line);
    }

    @Test
    void aConnectionNoAllowPolicyMatchesIsLoggedWithPolicyNone() throws Exception {
        String line = lineOf(refusedConnection(allowMissed));
        assertTrue(line.contains("\"connection_termination_details\":\"rbac_access_denied_matched_policy[none]\""), line);
        assertTrue(line.contains("\"upstream_host\":null"), line);
    }

    @Test
    void aTlsConnectionDeniedAfterTheHandshakeIsLoggedWithItsServerName() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("db", CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(db[0].getBytes(StandardCharsets.US_ASCII))));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLSv1.3");
        context.init(null, tmf.getTrustManagers(), null);
        int client;
        try (SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", tlsDenied)) {
            s.setSoTimeout(10_000);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName("db.example")));
            s.setSSLParameters(p);
            s.startHandshake();
            client = s.getLocalPort();
            sendThenAwaitEnd(s);
        }
        String line = lineOf(client);
        assertTrue(line.contains("\"connection_termination_details\":\"rbac_access_denied_matched_policy[" + DENY_POLICY
                + "]\""), line);
        assertTrue(line.contains("\"requested_server_name\":\"db.example\""), line);
        assertTrue(line.contains("\"upstream_host\":null"), line);
    }

    @Test
    void aFilterOnTheTerminationDetailsLogsOnlyDeniedConnections() throws Exception {
        int deniedClient = refusedConnection(onlyDeniedRbac);
        int servedClient;
        try (Socket s = TcpProxyFixtures.open(onlyDeniedOpen, "open-1")) {
            servedClient = s.getLocalPort();
        }
        backendClosed.get("open-1").get(10, TimeUnit.SECONDS);
        assertTrue(lineOf(deniedClient).contains("rbac_access_denied_matched_policy[" + DENY_POLICY + "]"));
        // The served connection's line, had it been written, was written before its backend saw the end.
        assertFalse(loggedFrom(servedClient), "not denied: filtered out");
    }

    @Test
    void aFilterOnEnvoysResponseFlagsBitVectorLogsOnlyFailedConnections() throws Exception {
        int failedClient = refusedConnection(onlyFailedRefused);
        int servedClient;
        try (Socket s = TcpProxyFixtures.open(onlyFailedEcho, "flags-1")) {
            servedClient = s.getLocalPort();
        }
        backendClosed.get("flags-1").get(10, TimeUnit.SECONDS);
        assertTrue(lineOf(failedClient).contains("\"response_flags\":\"UF\""));
        assertFalse(loggedFrom(servedClient), "no flag: filtered out");
    }

    @Test
    void aFilterReadsTheUpstreamsAddressAndPort() throws Exception {
        int client;
        try (Socket s = TcpProxyFixtures.open(onlyToEchoPort, "upstream-1")) {
            client = s.getLocalPort();
        }
        String line = lineOf(client);
        assertTrue(line.contains("\"upstream_host\":\"127.0.0.1:" + echo + "\""), line);
        assertTrue(line.contains("\"connection_termination_details\":null"), line);
    }
}
