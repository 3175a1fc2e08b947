package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.logging.Logger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The connection and TLS command operators on a sidecar's mesh mTLS, both ends: an app in a pod network namespace
 * calls a mesh pod's IP and HTTP port with curl (two requests on one keep-alive connection, then another connection);
 * the outbound capture routes it over ISTIO_MUTUAL (the sidecar's citadel certificate) to that address, which an
 * iptables DNAT (the server pod's istio-iptables) sends to the same sidecar's inbound capture, which terminates the mTLS
 * and serves the HTTP to the app on 127.0.0.1. The outbound line has the upstream's TLS (its peer's SPIFFE ID, version,
 * protocol), the inbound line the downstream's (the caller's SPIFFE ID, the SNI the outbound side sent, the version); a
 * second inbound access log writes only when its CEL filter on the peer's URI SAN holds. Run on the fast path
 * ({@link SidecarMeshTlsAccessLogTest}) and on the Vert.x path ({@link SidecarMeshTlsAccessLogVertxPathTest}). Needs
 * root.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class SidecarMeshTlsAccessLog {
    static final String CLIENT_ID = MeshTcpPod.CLIENT_ID;
    static final String SNI = "outbound_.80_._.backend.demo.svc.cluster.local";
    static final Map<String, String> FORMAT = new LinkedHashMap<>();

    static {
        FORMAT.put("path", "%REQ(:PATH)%");
        FORMAT.put("cluster", "%UPSTREAM_CLUSTER%");
        FORMAT.put("conn", "%CONNECTION_ID%");
        FORMAT.put("sni", "%REQUESTED_SERVER_NAME%");
        FORMAT.put("peer_uri", "%DOWNSTREAM_PEER_URI_SAN%");
        FORMAT.put("local_uri", "%DOWNSTREAM_LOCAL_URI_SAN%");
        FORMAT.put("version", "%DOWNSTREAM_TLS_VERSION%");
        FORMAT.put("upstream_peer_uri", "%UPSTREAM_PEER_URI_SAN%");
        FORMAT.put("upstream_local_uri", "%UPSTREAM_LOCAL_URI_SAN%");
        FORMAT.put("upstream_issuer", "%UPSTREAM_PEER_ISSUER%");
        FORMAT.put("upstream_tls", "%UPSTREAM_TLS_VERSION%");
        FORMAT.put("upstream_protocol", "%UPSTREAM_PROTOCOL%");
    }

    final int dbPort = FreePorts.next();
    final String outboundCluster = "outbound|" + dbPort + "||" + MeshTcpPod.DB;
    final String inboundCluster = "inbound|" + dbPort + "||";
    final AccessLogCapture capture = new AccessLogCapture();
    PodNamespace pod;
    String db0;
    Vertx vertx;
    TestCitadel ca;
    ControlPlane pilot;
    TestGateway gw;
    private List<String> dnat;

    /** The gateway's settings beyond the sidecar's (the path under test). */
    abstract Map<String, String> pathSettings();

    /** Checks, after the calls, that they went the path under test. */
    abstract void afterCalls();

    @BeforeAll
    void start() throws Exception {
        PodNamespace.requireRoot();
        Logger.getLogger("io.mesh.gateway.access").addHandler(capture);
        Path dir = Files.createTempDirectory("sidecar-mesh-tls-log");
        ca = new TestCitadel(Map.of("client-token", CLIENT_ID));
        Path root = ca.writeRoot(dir);
        Path token = Files.writeString(dir.resolve("istio-token"), "client-token\n");
        int outboundCapture = FreePorts.next();
        int inboundCapture = FreePorts.next();
        pod = PodNamespace.create(outboundCapture);
        db0 = pod.destinations.get(0);
        dnat = List.of("OUTPUT", "-d", db0 + "/32", "-p", "tcp", "--dport", Integer.toString(dbPort), "-m", "comment",
                "--comment", pod.name, "-j", "DNAT", "--to-destination", db0 + ":" + inboundCapture);
        iptables("-A");
        vertx = Vertx.vertx();
        new Backend(vertx, "app", dbPort);
        pilot = new ControlPlane();
        pilot.set(List.of(IstioMutualTest.istioMutual(outboundCluster, CLIENT_ID), Xds.edsCluster(inboundCluster),
                        SidecarHeadlessServiceTest.blackHole()),
                List.of(podEndpoint(), Xds.endpoints(inboundCluster, dbPort)),
                List.of(SidecarHeadlessServiceTest.virtualOutbound(), outboundListener(), virtualInbound()),
                List.of(Xds.routes(Integer.toString(dbPort), Xds.vhost("db", List.of("*"),
                        Xds.prefixTo("/", outboundCluster)))),
                List.of());
        Map<String, String> settings = new HashMap<>(pathSettings());
        settings.putAll(Map.of("mesh.gateway.mode", "sidecar",
                "mesh.gateway.listeners.port-map.\"15001\"", Integer.toString(outboundCapture),
                "mesh.gateway.listeners.port-map.\"15006\"", Integer.toString(inboundCapture),
                "mesh.gateway.ca.address", ca.address(), "mesh.gateway.ca.token-file", token.toString(),
                "mesh.gateway.ca.root-cert-file", root.toString(), "mesh.gateway.listeners.event-loops", "1"));
        gw = TestGateway.ready(pilot, settings);
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> gw.gateway.identity().orElseThrow().isReady());
        assertTrue(pilot.nacks().isEmpty(), pilot.nacks().toString());
    }

    @AfterAll
    void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(capture);
        SidecarHeadlessServiceTest.stopAll(gw, pilot, ca, SidecarHeadlessServiceTest.closing(vertx));
        if (dnat != null) {
            iptables("-D");
        }
        if (pod != null) {
            pod.close();
        }
    }

    private void iptables(String action) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("iptables", "-t", "nat", action));
        cmd.addAll(dnat);
        Run.run(cmd, null);
    }

    /** The mesh pod's endpoint: its IP and port, which the DNAT above sends to the inbound capture. */
    ClusterLoadAssignment podEndpoint() {
        return ClusterLoadAssignment.newBuilder().setClusterName(outboundCluster).addEndpoints(LocalityLbEndpoints
                .newBuilder().setLoadBalancingWeight(UInt32Value.of(1)).addLbEndpoints(LbEndpoint.newBuilder()
                        .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                .setAddress(Xds.address(db0, dbPort))))).build();
    }

    /** istiod's outbound HTTP listener of the port (not bound: the capture hands it connections), with the log. */
    Listener outboundListener() {
        HttpConnectionManager hcm = Xds.hcm(Integer.toString(dbPort)).toBuilder()
                .addAccessLog(AccessLogFormatsTest.log(AccessLogFormatsTest.json(FORMAT))).build();
        return Listener.newBuilder().setName("0.0.0.0_" + dbPort).setAddress(Xds.address("0.0.0.0", dbPort))
                .setBindToPort(BoolValue.of(false))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
    }

    /** virtualInbound: the port's mesh mTLS chain (ISTIO_MUTUAL, STRICT), HTTP to the app, with the two logs. */
    Listener virtualInbound() {
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("inbound_" + dbPort)
                .setRouteConfig(Xds.routes(inboundCluster, Xds.vhost("inbound|http|" + dbPort, List.of("*"),
                        Xds.prefixTo("/", inboundCluster))))
                .addHttpFilters(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter
                        .newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(
                                io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDefaultInstance())))
                .addAccessLog(AccessLogFormatsTest.log(AccessLogFormatsTest.json(FORMAT)))
                .addAccessLog(AccessLogFormatsTest.filtered(AccessLogFormatsTest.log(AccessLogFormatsTest.text(
                        "cel-inbound %REQ(:PATH)% %DOWNSTREAM_PEER_URI_SAN%\n")),
                        "connection.uri_san_peer_certificate == '" + CLIENT_ID + "' && connection.mtls"
                                + " && connection.tls_version == 'TLSv1.3'"))
                .build();
        return Listener.newBuilder().setName("virtualInbound").setAddress(Xds.address("0.0.0.0", 15006))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
                        .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
                .addFilterChains(FilterChain.newBuilder().setName(inboundCluster + "tls")
                        .setFilterChainMatch(FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(dbPort))
                                .setTransportProtocol("tls"))
                        .setTransportSocket(GatewayTlsServersTest.socket(GatewayTlsServersTest.meshTls(List.of())))
                        .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                                .setTypedConfig(Any.pack(hcm))))
                .build();
    }

    /** curl in the app's namespace: these paths, one keep-alive connection; the statuses. */
    String curl(String... paths) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-m", "10", "-o", "/dev/null", "-o", "/dev/null",
                "-w", "%{http_code} "));
        for (String p : paths) {
            cmd.add("http://" + db0 + ":" + dbPort + p);
        }
        return pod.exec(cmd).strip();
    }

    JsonObject line(Predicate<JsonObject> which) {
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> json().stream().anyMatch(which));
        return json().stream().filter(which).findFirst().orElseThrow();
    }

    JsonObject outbound(String path) {
        return line(j -> path.equals(j.getString("path")) && outboundCluster.equals(j.getString("cluster")));
    }

    JsonObject inbound(String path) {
        return line(j -> path.equals(j.getString("path")) && inboundCluster.equals(j.getString("cluster")));
    }

    private List<JsonObject> json() {
        return capture.lines.stream().filter(l -> l.startsWith("{")).map(JsonObject::new).toList();
    }

    @Test
    void theOutboundLineHasTheUpstreamsMeshTlsAndTheInboundLineTheCallersWithOneIdPerConnection() throws Exception {
        assertEquals("200 200", curl("/one", "/two"));
        JsonObject one = outbound("/one");
        JsonObject two = outbound("/two");
        assertEquals(one.getLong("conn"), two.getLong("conn"), "the app's one keep-alive connection: " + one.encode());
        assertEquals(CLIENT_ID, one.getString("upstream_peer_uri"), one.encode());
        assertEquals(CLIENT_ID, one.getString("upstream_local_uri"));
        assertEquals(gw.gateway.identity().orElseThrow().current().orElseThrow().leaf().getIssuerX500Principal()
                .getName(javax.security.auth.x500.X500Principal.RFC2253), one.getString("upstream_issuer"), one.encode());
        assertEquals("TLSv1.3", one.getString("upstream_tls"));
        assertEquals("HTTP/1.1", one.getString("upstream_protocol"));
        assertNull(one.getString("peer_uri"), "the app's connection is plaintext");
        assertNull(one.getString("version"));

        JsonObject in = inbound("/one");
        assertEquals(CLIENT_ID, in.getString("peer_uri"), in.encode());
        assertEquals(CLIENT_ID, in.getString("local_uri"));
        assertEquals("TLSv1.3", in.getString("version"));
        assertEquals(SNI, in.getString("sni"), "the calling sidecar sends Istio's mesh SNI: " + in.encode());
        assertNull(in.getString("upstream_tls"), "the app is plaintext");
        assertEquals("HTTP/1.1", in.getString("upstream_protocol"));
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> capture.lines.contains(
                "cel-inbound /one " + CLIENT_ID) && capture.lines.contains("cel-inbound /two " + CLIENT_ID));

        assertEquals("200", curl("/three"));
        JsonObject three = outbound("/three");
        assertNotEquals(one.getLong("conn"), three.getLong("conn"), "another connection: " + three.encode());
        afterCalls();
    }

    /**
     * A mesh client that sends Istio's SNI (openssl s_client with a workload certificate from the mesh's CA, as an
     * Envoy sidecar's ISTIO_MUTUAL cluster): the inbound line has that SNI ({@code requested_server_name}, which a
     * sidecar's inbound mTLS requests did not have) and the caller's identity, over the TLS version openssl negotiated.
     */
    @Test
    void aMeshClientsSniAndIdentityAreInTheInboundLine() throws Exception {
        String caller = "spiffe://cluster.local/ns/demo/sa/caller";
        TestCitadel.Issued issued = ca.workload(caller);
        Path dir = Files.createTempDirectory("sidecar-mesh-client");
        Files.writeString(dir.resolve("caller.crt"), issued.chainPem());
        Files.writeString(dir.resolve("caller.key"), issued.keyPem());
        String out = Run.run(List.of("timeout", "20", "openssl", "s_client", "-connect", db0 + ":" + dbPort,
                "-servername", SNI, "-cert", dir.resolve("caller.crt").toString(), "-key",
                dir.resolve("caller.key").toString(), "-ign_eof"),
                "GET /sni HTTP/1.1\r\nHost: db\r\nConnection: close\r\n\r\n");
        assertTrue(out.contains("HTTP/1.1 200"), out);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("New, (TLSv[0-9.]+), Cipher is").matcher(out);
        assertTrue(m.find(), out);
        JsonObject in = inbound("/sni");
        assertEquals(SNI, in.getString("sni"), in.encode());
        assertEquals(caller, in.getString("peer_uri"));
        assertEquals(CLIENT_ID, in.getString("local_uri"), "the sidecar's own identity");
        assertEquals(m.group(1), in.getString("version"));
    }
}
