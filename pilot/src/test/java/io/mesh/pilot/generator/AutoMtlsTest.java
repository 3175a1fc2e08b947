package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.config.PolicyConfig;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Auto mTLS on outbound clusters, per endpoint as istiod does it: CDS gives the cluster transport_socket_matches
 * (ISTIO_MUTUAL for {@code tlsMode: istio}, else raw_buffer) with the endpoints' SANs; EDS marks the endpoints that
 * take mesh mTLS (a sidecar, and no PeerAuthentication DISABLE on their port).
 */
class AutoMtlsTest {
    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");
    static final String CLUSTER = "outbound|80||backend.demo.svc.cluster.local";

    static String backend(String... endpoints) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: backend, namespace: demo}
                spec:
                  hosts: [backend.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: STATIC
                  endpoints:
                """ + String.join("", List.of(endpoints).stream().map(e -> "  - " + e + "\n").toList());
    }

    static final String MESH_A = "{address: 10.0.0.2, serviceAccount: backend-a, labels: {security.istio.io/tlsMode: istio, version: v1}}";
    static final String MESH_B = "{address: 10.0.0.3, serviceAccount: backend-b, labels: {security.istio.io/tlsMode: istio, version: v1}}";
    static final String PLAIN = "{address: 10.0.0.4, serviceAccount: legacy, labels: {version: v2}}";

    /** The ISTIO_MUTUAL context of an auto-mTLS cluster, after checking istiod's two matches and nothing else. */
    static UpstreamTlsContext tls(Cluster c) {
        assertFalse(c.hasTransportSocket(), c.getName() + ": auto mTLS is per endpoint, no cluster transport socket");
        assertEquals(2, c.getTransportSocketMatchesCount(), c.getName() + " has istiod's two transport socket matches");
        Cluster.TransportSocketMatch istio = c.getTransportSocketMatches(0);
        assertEquals("tlsMode-istio", istio.getName());
        assertEquals(Struct.newBuilder().putFields("tlsMode", Value.newBuilder().setStringValue("istio").build()).build(),
                istio.getMatch());
        assertEquals("envoy.transport_sockets.tls", istio.getTransportSocket().getName());
        Cluster.TransportSocketMatch plain = c.getTransportSocketMatches(1);
        assertEquals("tlsMode-disabled", plain.getName());
        assertEquals(Struct.getDefaultInstance(), plain.getMatch());
        assertEquals("envoy.transport_sockets.raw_buffer", plain.getTransportSocket().getName());
        unpack(plain.getTransportSocket().getTypedConfig(), RawBuffer.class);
        return unpack(istio.getTransportSocket().getTypedConfig(), UpstreamTlsContext.class);
    }

    /** The explicit (DestinationRule) TLS of a cluster: one transport socket, no matches. */
    static UpstreamTlsContext explicitTls(Cluster c) {
        assertEquals(0, c.getTransportSocketMatchesCount(), c.getName() + " has no transport socket matches");
        assertTrue(c.hasTransportSocket(), c.getName() + " has a transport socket");
        return unpack(c.getTransportSocket().getTypedConfig(), UpstreamTlsContext.class);
    }

    static boolean plaintext(Cluster c) {
        return !c.hasTransportSocket() && c.getTransportSocketMatchesCount() == 0;
    }

    /** Each endpoint address of an EDS assignment with its match metadata's tlsMode ("" for none). */
    static Map<String, String> tlsModes(ProxyInfo proxy, MeshSnapshot s, String cluster) {
        List<? extends Message> out = XdsGenerators.generate(Resources.V3.ENDPOINT_TYPE_URL, proxy, s, Set.of(cluster));
        assertEquals(1, out.size());
        Map<String, String> modes = new TreeMap<>();
        for (LocalityLbEndpoints l : ((ClusterLoadAssignment) out.get(0)).getEndpointsList()) {
            for (LbEndpoint e : l.getLbEndpointsList()) {
                Struct m = e.getMetadata().getFilterMetadataMap().get("envoy.transport_socket_match");
                modes.put(e.getEndpoint().getAddress().getSocketAddress().getAddress(),
                        m == null ? "" : m.getFieldsOrThrow("tlsMode").getStringValue());
            }
        }
        return modes;
    }

    static List<String> sans(UpstreamTlsContext ctx) {
        CommonTlsContext.CombinedCertificateValidationContext v = ctx.getCommonTlsContext().getCombinedValidationContext();
        assertEquals("ROOTCA", v.getValidationContextSdsSecretConfig().getName());
        return v.getDefaultValidationContext().getMatchSubjectAltNamesList().stream().map(StringMatcher::getExact).toList();
    }

    @Test
    void allEndpointsInTheMeshGiveIstioMutualWithTheirSpiffeIds() {
        UpstreamTlsContext ctx = tls(cluster(POD, snapshot(backend(MESH_B, MESH_A)), CLUSTER));
        assertEquals("outbound_.80_._.backend.demo.svc.cluster.local", ctx.getSni());
        assertEquals("default", ctx.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/backend-a", "spiffe://cluster.local/ns/demo/sa/backend-b"),
                sans(ctx));
    }

    @Test
    void theTrustDomainComesFromTheMeshSettings() {
        MeshSnapshot s = snapshot(backend(MESH_A), new MeshSettings("example.org",
                PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY));
        assertEquals(List.of("spiffe://example.org/ns/demo/sa/backend-a"), sans(tls(cluster(POD, s, CLUSTER))));
    }

    @Test
    void aPartlyInjectedServiceGetsMtlsToItsSidecarsAndPlaintextToTheRest() {
        MeshSnapshot s = snapshot(backend(MESH_A, PLAIN));
        UpstreamTlsContext ctx = tls(cluster(POD, s, CLUSTER));
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/backend-a", "spiffe://cluster.local/ns/demo/sa/legacy"),
                sans(ctx), "the SANs are every endpoint's, as istiod's service accounts");
        assertEquals(List.of("istio-peer-exchange", "istio"), ctx.getCommonTlsContext().getAlpnProtocolsList());
        assertEquals(Map.of("10.0.0.2", "istio", "10.0.0.4", ""), tlsModes(POD, s, CLUSTER));
        tls(cluster(POD, snapshot(backend()), CLUSTER));   // no endpoints yet: the matches do not depend on them
        tls(cluster(POD, snapshot(backend(PLAIN)), CLUSTER));
    }

    @Test
    void aPeerAuthenticationDisableDropsTheEndpointsMatchMetadata() {
        String pa = """
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: pa, namespace: demo}
                spec:
                  selector: {matchLabels: {app: b}}
                  mtls: {mode: STRICT}
                  portLevelMtls: {8080: {mode: DISABLE}}
                """;
        String a = "{address: 10.0.0.2, ports: {http: 8080}, serviceAccount: a, labels: {security.istio.io/tlsMode: istio, app: a}}";
        String b = "{address: 10.0.0.3, ports: {http: 8080}, serviceAccount: b, labels: {security.istio.io/tlsMode: istio, app: b}}";
        String c = "{address: 10.0.0.5, ports: {http: 9090}, serviceAccount: b, labels: {security.istio.io/tlsMode: istio, app: b}}";
        MeshSnapshot s = snapshot(backend(a, b, c) + pa);
        // b's port 8080 is DISABLE (its port-level mode, on the endpoint's own port); c serves 9090, STRICT.
        assertEquals(Map.of("10.0.0.2", "istio", "10.0.0.3", "", "10.0.0.5", "istio"), tlsModes(POD, s, CLUSTER));
        tls(cluster(POD, s, CLUSTER));
        String nsDisable = """
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: demo}
                spec: {mtls: {mode: DISABLE}}
                """;
        assertEquals(Map.of("10.0.0.2", "", "10.0.0.3", "", "10.0.0.5", ""),
                tlsModes(POD, snapshot(backend(a, b, c) + nsDisable), CLUSTER));
    }

    @Test
    void subsetsAreDecidedByTheirOwnEndpoints() {
        MeshSnapshot s = snapshot(backend(MESH_A, PLAIN) + """
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: backend, namespace: demo}
                spec:
                  host: backend.demo.svc.cluster.local
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v2, labels: {version: v2}}
                """);
        UpstreamTlsContext v1 = tls(cluster(POD, s, "outbound|80|v1|backend.demo.svc.cluster.local"));
        assertEquals("outbound_.80_.v1_.backend.demo.svc.cluster.local", v1.getSni());
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/backend-a"), sans(v1));
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/legacy"),
                sans(tls(cluster(POD, s, "outbound|80|v2|backend.demo.svc.cluster.local"))));
        assertEquals(Map.of("10.0.0.2", "istio"), tlsModes(POD, s, "outbound|80|v1|backend.demo.svc.cluster.local"));
        assertEquals(Map.of("10.0.0.4", ""), tlsModes(POD, s, "outbound|80|v2|backend.demo.svc.cluster.local"));
        tls(cluster(POD, s, CLUSTER));
    }

    @Test
    void workloadEntryLabelsCount() {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: backend, namespace: demo}
                spec:
                  hosts: [backend.demo.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: STATIC
                  workloadSelector: {labels: {app: backend}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: vm-1, namespace: demo}
                spec:
                  address: 10.0.0.7
                  serviceAccount: vm
                  labels: {app: backend, security.istio.io/tlsMode: istio}
                """);
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/vm"), sans(tls(cluster(POD, s, CLUSTER))));
    }

    @Test
    void aDestinationRuleTlsSettingWins() {
        String dr = """
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: backend, namespace: demo}
                spec:
                  host: backend.demo.svc.cluster.local
                  trafficPolicy: {tls: {mode: %s}}
                """;
        MeshSnapshot disabled = snapshot(backend(MESH_A) + dr.formatted("DISABLE"));
        assertTrue(plaintext(cluster(POD, disabled, CLUSTER)));
        assertEquals(Map.of("10.0.0.2", ""), tlsModes(POD, disabled, CLUSTER), "istiod's mtlsChecker: DR mode not ISTIO_MUTUAL");
        // Explicit ISTIO_MUTUAL applies even to endpoints without the label, with the same SANs: a plain transport
        // socket, as istiod keeps for user-supplied settings.
        MeshSnapshot mutual = snapshot(backend(MESH_A, PLAIN) + dr.formatted("ISTIO_MUTUAL"));
        UpstreamTlsContext explicit = explicitTls(cluster(POD, mutual, CLUSTER));
        assertEquals(Map.of("10.0.0.2", "istio", "10.0.0.4", ""), tlsModes(POD, mutual, CLUSTER));
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/backend-a", "spiffe://cluster.local/ns/demo/sa/legacy"),
                sans(explicit));
        assertEquals("outbound_.80_._.backend.demo.svc.cluster.local", explicit.getSni());
        assertEquals("envoy.transport_sockets.tls", cluster(POD, snapshot(backend(MESH_A) + dr.formatted("SIMPLE")),
                CLUSTER).getTransportSocket().getName());
        assertEquals(0, cluster(POD, snapshot(backend(MESH_A) + dr.formatted("SIMPLE")), CLUSTER)
                .getTransportSocketMatchesCount(), "SIMPLE: the user's TLS for every endpoint");
    }

    @Test
    void meshExternalServicesGetNoAutoMtls() {
        MeshSnapshot s = snapshot(backend(MESH_A).replace("location: MESH_INTERNAL", "location: MESH_EXTERNAL"));
        assertTrue(plaintext(cluster(POD, s, CLUSTER)));
    }

    @Test
    void routersGetAutoMtlsProxylessClientsDoNot() {
        MeshSnapshot s = snapshot(backend(MESH_A));
        tls(cluster(SidecarFixtures.router(), s, CLUSTER));
        assertTrue(plaintext(cluster(SidecarFixtures.grpc(), s, CLUSTER)));
    }

    @Test
    void tcpPortsGetAutoMtlsLikeHttpOnes() {
        String tcp = backend(MESH_B, MESH_A).replace("ports: [{number: 80, name: http, protocol: HTTP}]",
                "addresses: [198.51.100.10]\n  ports: [{number: 80, name: http, protocol: HTTP}, {number: 5432, name: tcp-db, protocol: TCP}]");
        MeshSnapshot s = snapshot(tcp);
        UpstreamTlsContext ctx = tls(cluster(POD, s, "outbound|5432||backend.demo.svc.cluster.local"));
        assertEquals("outbound_.5432_._.backend.demo.svc.cluster.local", ctx.getSni());
        assertEquals("default", ctx.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/backend-a", "spiffe://cluster.local/ns/demo/sa/backend-b"),
                sans(ctx));
        // Not every endpoint in the mesh: per endpoint, as for HTTP.
        MeshSnapshot mixed = snapshot(backend(MESH_A, PLAIN).replace("ports: [{number: 80, name: http, protocol: HTTP}]",
                "ports: [{number: 5432, name: tcp-db, protocol: TCP}]"));
        tls(cluster(POD, mixed, "outbound|5432||backend.demo.svc.cluster.local"));
        assertEquals(Map.of("10.0.0.2", "istio", "10.0.0.4", ""),
                tlsModes(POD, mixed, "outbound|5432||backend.demo.svc.cluster.local"));
    }
}
