package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode: the security.istio.io kinds written as {@code v1beta1} (the repository's CRDs serve v1beta1 beside
 * the storage version v1, as Istio's do; manifests of older Istio releases use it), applied by the real kubectl to the
 * mock API server, reach a sidecar's xDS as their v1 twins do: the RequestAuthentication's issuer in the inbound
 * jwt_authn filter, the AuthorizationPolicy as an RBAC filter, the PeerAuthentication's STRICT mode as an inbound side
 * without a plaintext chain.
 */
class KubernetesSecurityV1beta1Test {
    static final String JWKS = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k1\",\"n\":\"sXch\"}]}";

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
        k8s.kubectl("""
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: demo}
                spec:
                  selector: {app: web}
                  ports: [{name: http, port: 80, targetPort: 8080}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: web-1, namespace: demo, labels: {app: web, security.istio.io/tlsMode: istio}}
                spec:
                  containers: [{name: app, image: app}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: web-abc
                  namespace: demo
                  labels: {kubernetes.io/service-name: web}
                addressType: IPv4
                ports: [{name: http, port: 8080, protocol: TCP}]
                endpoints:
                - {addresses: [10.1.0.1], conditions: {ready: true}, targetRef: {kind: Pod, name: web-1, namespace: demo}}
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> !k8s.harness.pilot.snapshot()
                .endpointsOf("web.demo.svc.cluster.local").isEmpty());
    }

    @Test
    void v1beta1SecurityPoliciesReachTheSidecarsInboundSide() throws Exception {
        k8s.kubectl("""
                apiVersion: security.istio.io/v1beta1
                kind: RequestAuthentication
                metadata: {name: web-jwt, namespace: demo}
                spec:
                  selector: {matchLabels: {app: web}}
                  jwtRules: [{issuer: issuer-beta, jwks: '%s'}]
                ---
                apiVersion: security.istio.io/v1beta1
                kind: AuthorizationPolicy
                metadata: {name: web-allow, namespace: demo}
                spec:
                  selector: {matchLabels: {app: web}}
                  action: ALLOW
                  rules: [{to: [{operation: {methods: [GET]}}]}]
                ---
                apiVersion: security.istio.io/v1beta1
                kind: PeerAuthentication
                metadata: {name: web-strict, namespace: demo}
                spec:
                  selector: {matchLabels: {app: web}}
                  mtls: {mode: STRICT}
                """.formatted(JWKS), "apply", "-f", "-");
        // What the API server holds, read at the storage version v1 (what pilot watches).
        assertEquals("web-jwt", k8s.kubectl(null, "get", "requestauthentications.v1.security.istio.io", "-n", "demo",
                "-o", "jsonpath={.items[*].metadata.name}").trim());
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().requestAuthentications().size() == 1);

        try (RawAdsClient sidecar = new RawAdsClient(k8s.harness.pilot.xdsPort(),
                "sidecar~10.1.0.1~web-1.demo~demo.svc.cluster.local", null)) {
            sidecar.node = sidecar.node.toBuilder().setMetadata(sidecar.node.getMetadata().toBuilder()
                    .putFields("NAMESPACE", com.google.protobuf.Value.newBuilder().setStringValue("demo").build())
                    .putFields("LABELS", com.google.protobuf.Value.newBuilder().setStructValue(
                            com.google.protobuf.Struct.newBuilder().putFields("app",
                                    com.google.protobuf.Value.newBuilder().setStringValue("web").build())).build()))
                    .build();
            sidecar.openSotw();
            sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            List<FilterChain> chains = inbound(next(sidecar));
            // STRICT: only the mTLS chain for the port.
            assertEquals(List.of("inbound|8080||-tls"), chains.stream().map(FilterChain::getName)
                    .filter(n -> n.startsWith("inbound|8080")).toList());
            HttpConnectionManager hcm = chains.stream().filter(c -> c.getName().equals("inbound|8080||-tls")).findFirst()
                    .orElseThrow().getFiltersList().get(0).getTypedConfig().unpack(HttpConnectionManager.class);
            List<String> names = hcm.getHttpFiltersList().stream().map(HttpFilter::getName).toList();
            HttpFilter jwt = hcm.getHttpFiltersList().stream()
                    .filter(f -> f.getName().equals("envoy.filters.http.jwt_authn")).findFirst()
                    .orElseThrow(() -> new AssertionError("no jwt_authn filter in " + names));
            assertTrue(jwt.getTypedConfig().unpack(JwtAuthentication.class).getProvidersMap().values().stream()
                    .anyMatch(p -> p.getIssuer().equals("issuer-beta")), jwt.toString());
            assertTrue(hcm.getHttpFiltersList().stream().filter(f -> f.getName().equals("envoy.filters.http.rbac"))
                    .anyMatch(f -> {
                        try {
                            return f.getTypedConfig().unpack(RBAC.class).getRules().getPoliciesMap().keySet().stream()
                                    .anyMatch(k -> k.contains("web-allow"));
                        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                            throw new AssertionError(e);
                        }
                    }), names.toString());
        }
    }

    /** The next LDS response (ACKed), skipping others on the stream. */
    private static DiscoveryResponse next(RawAdsClient c) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            DiscoveryResponse r = c.next(Duration.ofMillis(500));
            if (r != null) {
                c.ack(r, List.of());
                if (r.getTypeUrl().equals(Resources.V3.LISTENER_TYPE_URL)) {
                    return r;
                }
            }
        }
        throw new AssertionError("no LDS response");
    }

    private static List<FilterChain> inbound(DiscoveryResponse lds) throws Exception {
        for (var any : lds.getResourcesList()) {
            Listener l = any.unpack(Listener.class);
            if (l.getName().equals("virtualInbound")) {
                return l.getFilterChainsList();
            }
        }
        throw new AssertionError("no virtualInbound in LDS");
    }
}
