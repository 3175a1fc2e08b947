package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.gateway.identity.WorkloadIdentity;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.parsetools.RecordParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A sidecar in front of an app that calls the pods of headless Services (a StatefulSet's), with the config pilot
 * generates for them (ORIGINAL_DST clusters, a TCP listener per pod IP, HTTP routed by the pods' names under the
 * service's) and the outbound traffic policy REGISTRY_ONLY, so that only what is recognised as the service gets
 * through. The app runs in a network namespace whose connections are redirected to the sidecar's capture port, as
 * istio-iptables does; the pods are servers of the test's on addresses outside it. {@code db}'s pods have sidecars
 * (pilot made its clusters ISTIO_MUTUAL): its servers require a mesh client certificate, as a STRICT sidecar does,
 * and answer with the caller's SPIFFE ID. {@code plain}'s pod has none: plaintext servers.
 */
class SidecarHeadlessServiceTest {
    static final String CLIENT_ID = "spiffe://cluster.local/ns/demo/sa/client";
    static final String DB_ID = "spiffe://cluster.local/ns/demo/sa/db";
    static final String DB = "db.demo.svc.cluster.local";
    static final String PLAIN = "plain.demo.svc.cluster.local";

    static Path dir;
    static TestCitadel ca;
    static Vertx vertx;
    static ControlPlane pilot;
    static TestGateway gw;
    static PodNamespace pod;
    static String db0;
    static String plain0;
    static final int DB_TCP = FreePorts.next();
    static final int DB_HTTP = FreePorts.next();
    static final int PLAIN_TCP = FreePorts.next();
    static final int PLAIN_HTTP = FreePorts.next();

    @BeforeAll
    static void start() throws Exception {
        PodNamespace.requireRoot();
        dir = Files.createTempDirectory("sidecar-headless");
        ca = new TestCitadel(Map.of("client-token", CLIENT_ID));
        Path root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "client-token\n");
        int capture = FreePorts.next();
        pod = PodNamespace.create(capture);
        db0 = pod.destinations.get(0);
        plain0 = pod.destinations.get(1);
        vertx = Vertx.vertx();
        startPods();

        pilot = new ControlPlane();
        pilot.set(List.of(originalDst(DB, DB_TCP, true), originalDst(DB, DB_HTTP, true),
                        originalDst(PLAIN, PLAIN_TCP, false), originalDst(PLAIN, PLAIN_HTTP, false), blackHole()),
                List.of(),
                List.of(virtualOutbound(), podListener(db0, DB_TCP, DB), podListener(plain0, PLAIN_TCP, PLAIN),
                        Xds.httpListener("0.0.0.0_" + DB_HTTP, DB_HTTP, Integer.toString(DB_HTTP)).toBuilder()
                                .setAddress(Xds.address("0.0.0.0", DB_HTTP)).setBindToPort(BoolValue.of(false)).build(),
                        Xds.httpListener("0.0.0.0_" + PLAIN_HTTP, PLAIN_HTTP, Integer.toString(PLAIN_HTTP)).toBuilder()
                                .setAddress(Xds.address("0.0.0.0", PLAIN_HTTP)).setBindToPort(BoolValue.of(false)).build()),
                List.of(routes(DB, "db", DB_HTTP), routes(PLAIN, "plain", PLAIN_HTTP)),
                List.of());
        gw = sidecar(pilot, capture, Map.of("mesh.gateway.ca.address", ca.address(),
                "mesh.gateway.ca.token-file", token.toString(), "mesh.gateway.ca.root-cert-file", root.toString()));
    }

    @AfterAll
    static void stop() throws Exception {
        stopAll(gw, pilot, ca, closing(vertx), pod);
    }

    /**
     * The sidecar under test, in this JVM, on pilot's config (which it must ACK): capture on {@code capture} (where
     * the pod's iptables rule sends its connections), one event loop, and {@code extra} settings.
     */
    static TestGateway sidecar(ControlPlane pilot, int capture, Map<String, String> extra) throws Exception {
        Map<String, String> settings = new java.util.HashMap<>(extra);
        settings.put("mesh.gateway.mode", "sidecar");
        settings.put("mesh.gateway.listeners.port-map.\"15001\"", Integer.toString(capture));
        settings.put("mesh.gateway.listeners.event-loops", "1");
        TestGateway started = TestGateway.ready(pilot, settings);
        assertTrue(pilot.nacks().isEmpty(), pilot.nacks().toString());
        return started;
    }

    /** Closes each of {@code parts} in order, skipping those that never started (null). */
    static void stopAll(AutoCloseable... parts) throws Exception {
        for (AutoCloseable p : parts) {
            if (p != null) {
                p.close();
            }
        }
    }

    /** A Vert.x instance as an {@link AutoCloseable} for {@link #stopAll} (null for null). */
    static AutoCloseable closing(Vertx v) {
        return v == null ? null : () -> v.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** db-0 (a mesh pod: mTLS required, as STRICT) and plain-0 (no sidecar: plaintext), each on a TCP and an HTTP port. */
    static void startPods() throws Exception {
        TestCitadel.Issued db = ca.workload(DB_ID);
        NetServerOptions strict = new NetServerOptions().setSsl(true).setClientAuth(ClientAuth.REQUIRED)
                .setKeyCertOptions(new PemKeyCertOptions().addCertValue(Buffer.buffer(db.chainPem()))
                        .addKeyValue(Buffer.buffer(db.keyPem())))
                .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(TestCitadel.pem(ca.root))));
        HttpServerOptions strictHttp = new HttpServerOptions().setSsl(true).setClientAuth(ClientAuth.REQUIRED)
                .setKeyCertOptions(strict.getKeyCertOptions()).setTrustOptions(strict.getTrustOptions());
        Future.all(List.of(
                vertx.createNetServer(strict.setHost(db0).setPort(DB_TCP)).connectHandler(s -> echo("db-0", s)).listen(),
                vertx.createNetServer(new NetServerOptions().setHost(plain0).setPort(PLAIN_TCP))
                        .connectHandler(s -> echo("plain-0", s)).listen(),
                vertx.createHttpServer(strictHttp.setHost(db0).setPort(DB_HTTP)).requestHandler(r -> r.response()
                        .end("db-0 " + peer(r.connection().sslSession()) + " " + r.host() + from(r.remoteAddress())))
                        .listen(),
                vertx.createHttpServer(new HttpServerOptions().setHost(plain0).setPort(PLAIN_HTTP)).requestHandler(r -> r
                        .response().end("plain-0 " + peer(r.connection().sslSession()) + " " + r.host()
                                + from(r.remoteAddress()))).listen()))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /**
     * Answers each line with who this pod is, the caller's SPIFFE ID ("plaintext" without TLS), the line, and whether
     * the connection came from the app itself (not captured) or from the sidecar.
     */
    static void echo(String name, NetSocket s) {
        s.handler(RecordParser.newDelimited("\n", line -> s.write(name + " " + peer(s.sslSession()) + " " + line
                + from(s.remoteAddress()) + "\n")));
    }

    static String from(io.vertx.core.net.SocketAddress remote) {
        return remote.hostAddress().equals(pod.podIp) ? " from the app" : " from the sidecar";
    }

    static String peer(SSLSession session) {
        if (session == null) {
            return "plaintext";
        }
        try {
            return WorkloadIdentity.spiffeIdOf((X509Certificate) session.getPeerCertificates()[0]).orElse("-");
        } catch (Exception e) {
            return "no-client-certificate";
        }
    }

    /** A headless Service's cluster as pilot generates it for a sidecar: ORIGINAL_DST, auto mTLS when in the mesh. */
    static Cluster originalDst(String host, int port, boolean mesh) {
        String name = "outbound|" + port + "||" + host;
        Cluster.Builder c = Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.ORIGINAL_DST)
                .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED).setConnectTimeout(com.google.protobuf.util.Durations.fromSeconds(5));
        if (mesh) {
            CommonTlsContext common = CommonTlsContext.newBuilder()
                    .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default").setSdsConfig(Xds.ADS))
                    .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(CertificateValidationContext.newBuilder()
                                    .addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(DB_ID)))
                            .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName("ROOTCA")
                                    .setSdsConfig(Xds.ADS)))
                    .addAlpnProtocols("istio").build();
            c.setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                    .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setCommonTlsContext(common)
                            .setSni("outbound_." + port + "_._." + host).build())));
        }
        return c.build();
    }

    static Cluster blackHole() {
        return Cluster.newBuilder().setName("BlackHoleCluster").setType(Cluster.DiscoveryType.STATIC)
                .setConnectTimeout(com.google.protobuf.util.Durations.fromSeconds(5))
                .setLoadAssignment(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
                        .setClusterName("BlackHoleCluster")).build();
    }

    static Filter tcpProxy(String cluster) {
        return Filter.newBuilder().setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(TcpProxy.newBuilder()
                .setStatPrefix(cluster).setCluster(cluster).build())).build();
    }

    /** REGISTRY_ONLY: what no listener recognises is dropped. */
    static Listener virtualOutbound() {
        return Listener.newBuilder().setName("virtualOutbound").setAddress(Xds.address("0.0.0.0", 15001))
                .setUseOriginalDst(BoolValue.of(true))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                .addFilterChains(FilterChain.newBuilder().setName("BlackHoleFilterChain").addFilters(tcpProxy("BlackHoleCluster")))
                .build();
    }

    /** istiod's listener for one pod IP of a headless Service's TCP port. */
    static Listener podListener(String ip, int port, String host) {
        return Listener.newBuilder().setName(ip + "_" + port).setAddress(Xds.address(ip, port))
                .setBindToPort(BoolValue.of(false))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND)
                .addFilterChains(FilterChain.newBuilder().addFilters(tcpProxy("outbound|" + port + "||" + host))).build();
    }

    /** The port's route table: the service's names and every name under them, then REGISTRY_ONLY's block_all. */
    static RouteConfiguration routes(String host, String shortName, int port) {
        List<String> names = List.of(host, host + ":" + port, shortName, shortName + ":" + port);
        VirtualHost.Builder vh = VirtualHost.newBuilder().setName(host + ":" + port).addAllDomains(names);
        names.forEach(n -> vh.addDomains("*." + n));
        vh.addRoutes(Xds.prefixTo("/", "outbound|" + port + "||" + host));
        return RouteConfiguration.newBuilder().setName(Integer.toString(port)).addVirtualHosts(vh)
                .addVirtualHosts(VirtualHost.newBuilder().setName("block_all").addDomains("*")
                        .addRoutes(Route.newBuilder().setName("block_all").setMatch(RouteMatch.newBuilder().setPrefix("/"))
                                .setDirectResponse(DirectResponseAction.newBuilder().setStatus(502))))
                .build();
    }

    String curl(String name, String ip, int port) throws Exception {
        return pod.exec(List.of("curl", "-s", "-m", "10", "-w", " %{http_code}", "--resolve", name + ":" + port + ":" + ip,
                "http://" + name + ":" + port + "/")).strip();
    }

    @Test
    void aCapturedTcpConnectionToAMeshPodGoesToItsIpOverMutualTlsWithTheCallersIdentity() throws Exception {
        assertEquals("db-0 " + CLIENT_ID + " hello from the sidecar", pod.tcpLine(db0, DB_TCP, "hello"));
        // Recognised as the service, not as PassthroughCluster: Istio's TCP metrics name it.
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> {
            var c = gw.registry.find("istio_tcp_connections_opened").tag("destination_service", DB).counter();
            return c != null && c.count() >= 1;
        });
    }

    @Test
    void aCapturedTcpConnectionToAPodWithoutASidecarGoesToItsIpInPlaintext() throws Exception {
        assertEquals("plain-0 plaintext hello from the sidecar", pod.tcpLine(plain0, PLAIN_TCP, "hello"));
    }

    @Test
    void anHttpRequestToAMeshPodsOwnNameGoesToItsIpOverMutualTls() throws Exception {
        assertEquals("db-0 " + CLIENT_ID + " db-0.db.demo.svc.cluster.local:" + DB_HTTP + " from the sidecar 200",
                curl("db-0.db.demo.svc.cluster.local", db0, DB_HTTP));
        assertEquals("db-0 " + CLIENT_ID + " db-0.db:" + DB_HTTP + " from the sidecar 200", curl("db-0.db", db0, DB_HTTP));
    }

    @Test
    void anHttpRequestToAPodWithoutASidecarGoesToItsIpInPlaintext() throws Exception {
        assertEquals("plain-0 plaintext plain-0.plain.demo.svc.cluster.local:" + PLAIN_HTTP + " from the sidecar 200",
                curl("plain-0.plain.demo.svc.cluster.local", plain0, PLAIN_HTTP));
    }

    @Test
    void underRegistryOnlyWhatIsNotTheServiceIsStillRefused() throws Exception {
        // A pod IP and port no listener knows (plain's TCP port, on db-0): virtualOutbound's BlackHoleCluster closes
        // it; a name no service has, on db's HTTP port: block_all's 502.
        assertEquals("", pod.tcpLine(db0, PLAIN_TCP, "hello"));
        assertEquals("502", curl("elsewhere.example.com", db0, DB_HTTP).strip());
    }
}
