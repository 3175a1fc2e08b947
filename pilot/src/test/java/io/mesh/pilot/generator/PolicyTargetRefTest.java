package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Policies attached by {@code targetRefs} to a Kubernetes Gateway, as istiod attaches them (WorkloadPolicyMatcher): to
 * the gateway pods labelled {@code gateway.networking.k8s.io/gateway-name} with that name, in the policy's namespace,
 * and never to a sidecar or another gateway; a policy with a selector still applies to such a pod. Read from the LDS
 * pilot sends: the router's server (RBAC, jwt_authn, tracing) and the sidecar's inbound chain.
 */
class PolicyTargetRefTest {

    /** The ingress gateway's pod, also the pod of Kubernetes Gateway {@code edge} (istio-system), by its label. */
    static ProxyInfo edgeRouter(String gatewayName) {
        Struct labels = Struct.newBuilder()
                .putFields("istio", Value.newBuilder().setStringValue("ingressgateway").build())
                .putFields("gateway.networking.k8s.io/gateway-name", Value.newBuilder().setStringValue(gatewayName).build())
                .build();
        return ProxyInfo.from(Node.newBuilder().setId("router~10.0.9.9~edge-1.istio-system~istio-system.svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(labels).build()))
                .build());
    }

    static String authorizationPolicy(String namespace, String target) {
        return "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: admin-off, namespace: %s}
                spec:
                  %s
                  action: DENY
                  rules:
                  - to: [{operation: {paths: ["/admin*"]}}]
                """.formatted(namespace, target);
    }

    static String gatewayRef(String name) {
        return "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: " + name + "}]";
    }

    /** A resource of "API_VERSION KIND" in istio-system naming Gateway edge by targetRefs, with {@code body} in its spec. */
    static String rootResource(String apiVersionAndKind, String body) {
        String[] parts = apiVersionAndKind.split(" ");
        return "---\napiVersion: " + parts[0] + "\nkind: " + parts[1] + "\nmetadata: {name: edge, namespace: istio-system}\n"
                + "spec:\n  " + gatewayRef("edge") + "\n  " + body + "\n";
    }

    static List<String> routerFilters(ProxyInfo router, String yaml) throws Exception {
        return GatewayAuthorizationTest.httpFilters(listener(router, snapshot(yaml), "0.0.0.0_8080"));
    }

    @Test
    void aPolicyNamingTheGatewayGuardsItsPodsAndNoOtherProxy() throws Exception {
        String yaml = GatewayAuthorizationTest.MESH + authorizationPolicy("istio-system", gatewayRef("edge"));
        assertTrue(routerFilters(edgeRouter("edge"), yaml).contains("envoy.filters.http.rbac.deny"));
        assertFalse(routerFilters(edgeRouter("internal"), yaml).contains("envoy.filters.http.rbac.deny"),
                "the pod of another Gateway");
        assertFalse(routerFilters(GeneratorGoldenTest.router(), yaml).contains("envoy.filters.http.rbac.deny"),
                "a gateway pod without the gateway-name label (an Istio ingress gateway)");
        // In the root namespace, a policy without targetRefs would apply to every sidecar; with them, to none.
        assertEquals(List.of(), List.copyOf(RbacTest.filters(yaml).keySet()));
    }

    @Test
    void aPolicyInAnotherNamespaceThanTheGatewaysPodsDoesNotAttach() throws Exception {
        String yaml = GatewayAuthorizationTest.MESH + authorizationPolicy("demo", gatewayRef("edge"));
        assertFalse(routerFilters(edgeRouter("edge"), yaml).contains("envoy.filters.http.rbac.deny"));
        assertEquals(List.of(), List.copyOf(RbacTest.filters(yaml).keySet()), "nor to demo's sidecars");
    }

    @Test
    void aSelectorStillPicksAGatewayApiGatewaysPods() throws Exception {
        // istiod's ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, on by default.
        String yaml = GatewayAuthorizationTest.MESH
                + authorizationPolicy("istio-system", "selector: {matchLabels: {istio: ingressgateway}}");
        assertTrue(routerFilters(edgeRouter("edge"), yaml).contains("envoy.filters.http.rbac.deny"));
    }

    @Test
    void aRequestAuthenticationNamingTheGatewayVerifiesTokensThereOnly() throws Exception {
        String yaml = GatewayAuthorizationTest.MESH + rootResource("security.istio.io/v1 RequestAuthentication",
                "jwtRules: [{issuer: https://issuer.example, jwks: '" + JwtAuthnTest.JWKS + "'}]");
        assertTrue(routerFilters(edgeRouter("edge"), yaml).contains(JwtAuthn.JWT_FILTER));
        assertFalse(routerFilters(edgeRouter("internal"), yaml).contains(JwtAuthn.JWT_FILTER));
        HttpConnectionManager inbound = TelemetryTest.inbound(SidecarInboundTest.WEB_POD, snapshot(yaml));
        assertFalse(inbound.getHttpFiltersList().stream().anyMatch(f -> f.getName().equals(JwtAuthn.JWT_FILTER)),
                "a root-namespace RequestAuthentication with targetRefs applies to no sidecar");
    }

    @Test
    void aTelemetryNamingTheGatewayIsItsWorkloadLevelNotTheNamespaces() throws Exception {
        String yaml = GatewayAuthorizationTest.MESH + rootResource("telemetry.istio.io/v1 Telemetry",
                "tracing: [{randomSamplingPercentage: 7}]");
        assertEquals(7.0, hcm(listener(edgeRouter("edge"), snapshot(yaml), "0.0.0.0_8080")).getTracing()
                .getRandomSampling().getValue());
        // Elsewhere the mesh's default, as if the resource were not there: it is not mesh-wide.
        double meshDefault = io.mesh.pilot.model.MeshSettings.DEFAULT.traceSampling();
        assertEquals(meshDefault, hcm(listener(edgeRouter("internal"), snapshot(yaml), "0.0.0.0_8080")).getTracing()
                .getRandomSampling().getValue());
        assertEquals(meshDefault, TelemetryTest.inbound(SidecarInboundTest.WEB_POD, snapshot(yaml)).getTracing()
                .getRandomSampling().getValue());
    }

    private static HttpConnectionManager hcm(Listener l) throws Exception {
        return l.getFilterChains(0).getFilters(0).getTypedConfig().unpack(HttpConnectionManager.class);
    }
}
