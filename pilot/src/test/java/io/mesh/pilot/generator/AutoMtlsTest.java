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
import java.util.List;
import org.junit.jupiter.api.Test;

/** Auto mTLS on outbound clusters: ISTIO_MUTUAL only when every endpoint is a mesh workload, with their SANs. */
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

    static UpstreamTlsContext tls(Cluster c) {
        assertTrue(c.hasTransportSocket(), c.getName() + " has a transport socket");
        assertEquals("envoy.transport_sockets.tls", c.getTransportSocket().getName());
        return unpack(c.getTransportSocket().getTypedConfig(), UpstreamTlsContext.class);
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
    void oneEndpointWithoutTheLabelKeepsTheClusterPlaintext() {
        assertFalse(cluster(POD, snapshot(backend(MESH_A, PLAIN)), CLUSTER).hasTransportSocket());
        assertFalse(cluster(POD, snapshot(backend()), CLUSTER).hasTransportSocket(), "no endpoints: plaintext");
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
        assertFalse(cluster(POD, s, "outbound|80|v2|backend.demo.svc.cluster.local").hasTransportSocket());
        assertFalse(cluster(POD, s, CLUSTER).hasTransportSocket());
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
        assertFalse(cluster(POD, snapshot(backend(MESH_A) + dr.formatted("DISABLE")), CLUSTER).hasTransportSocket());
        // Explicit ISTIO_MUTUAL applies even to endpoints without the label, with the same SANs.
        UpstreamTlsContext explicit = tls(cluster(POD, snapshot(backend(MESH_A, PLAIN) + dr.formatted("ISTIO_MUTUAL")),
                CLUSTER));
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/backend-a", "spiffe://cluster.local/ns/demo/sa/legacy"),
                sans(explicit));
        assertEquals("outbound_.80_._.backend.demo.svc.cluster.local", explicit.getSni());
    }

    @Test
    void routersGetAutoMtlsProxylessClientsDoNot() {
        MeshSnapshot s = snapshot(backend(MESH_A));
        tls(cluster(SidecarFixtures.router(), s, CLUSTER));
        assertFalse(cluster(SidecarFixtures.grpc(), s, CLUSTER).hasTransportSocket());
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
        // Not every endpoint in the mesh: plaintext, as for HTTP.
        assertFalse(cluster(POD, snapshot(backend(MESH_A, PLAIN).replace("ports: [{number: 80, name: http, protocol: HTTP}]",
                "ports: [{number: 5432, name: tcp-db, protocol: TCP}]")), "outbound|5432||backend.demo.svc.cluster.local")
                .hasTransportSocket());
    }
}
