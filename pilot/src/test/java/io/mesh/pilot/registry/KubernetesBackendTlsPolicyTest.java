package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.RawAdsClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode, with the mock API server and the real kubectl: a BackendTLSPolicy applied with its CA ConfigMap makes
 * the router's cluster for the Service originate TLS (SNI and name to verify: the policy's hostname; CA: the ConfigMap's
 * ca.crt over SDS); an edited ConfigMap is pushed; the policy's status names the Service (istio.io/mesh-controller) and
 * the Gateway whose route sends to it; a deleted ConfigMap turns both to NoValidCACertificate, and the cluster's CA to
 * one no proxy is sent, while another controller's ancestor in the status stays.
 */
class KubernetesBackendTlsPolicyTest {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    static final String CLUSTER = "outbound|443||api.demo.svc.cluster.local";
    static final String CA_RESOURCE = "configmap://demo/api-ca-cacert";

    static String pem(String file) throws Exception {
        try (var in = KubernetesBackendTlsPolicyTest.class.getResourceAsStream("/backend-tls/" + file)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    static String configMap(String pem) {
        return """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: api-ca, namespace: demo}
                data:
                  ca.crt: |
                %s""".formatted(pem.indent(4));
    }

    static final String CONFIG = KubernetesGatewayApiTest.INGRESS + """
            apiVersion: v1
            kind: Service
            metadata: {name: api, namespace: demo}
            spec:
              selector: {app: api}
              ports: [{name: http, port: 80, targetPort: 8080}, {name: https, port: 443, targetPort: 8443}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
              listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: api, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system}]
              hostnames: [api.example.com]
              rules: [{backendRefs: [{name: api, port: 443}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1
            kind: BackendTLSPolicy
            metadata: {name: api-tls, namespace: demo}
            spec:
              targetRefs: [{group: "", kind: Service, name: api, sectionName: https}]
              validation:
                caCertificateRefs: [{group: "", kind: ConfigMap, name: api-ca}]
                hostname: api.internal.example.com
            """;

    @Test
    void policyAndItsConfigMapReachTheRouterAndItsStatusIsWritten() throws Exception {
        k8s = pilots.startWithGatewayApi(true, r -> r);   // with the registry as pilot's credentials, as deployed
        k8s.kubectl(configMap(pem("ca.crt")), "apply", "-f", "-");
        k8s.kubectl(CONFIG, "apply", "-f", "-");
        Struct labels = Struct.newBuilder().putFields("istio",
                Value.newBuilder().setStringValue("ingressgateway").build()).build();
        try (RawAdsClient router = new RawAdsClient(k8s.harness.pilot.xdsPort(),
                "router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
            router.openSotwWithLabels(labels);
            router.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            await().atMost(Duration.ofSeconds(10)).until(() -> CA_RESOURCE.equals(caOf(router)));
            router.request(Resources.V3.SECRET_TYPE_URL, List.of(CA_RESOURCE), "", "", null);
            assertEquals(pem("ca.crt"), trustedCa(router));

            // The ConfigMap edited: its new CA is pushed.
            k8s.kubectl(configMap(pem("other-ca.crt")), "apply", "-f", "-");
            String other = pem("other-ca.crt");
            await().atMost(Duration.ofSeconds(10)).until(() -> other.equals(trustedCa(router)));

            await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("{.status.ancestors[*].controllerName}")
                    .equals("istio.io/mesh-controller istio.io/gateway-controller"));
            assertEquals("Service demo/api:https, Gateway istio-system/edge:,", jsonpath("{range .status.ancestors[*]}"
                    + "{.ancestorRef.kind} {.ancestorRef.namespace}/{.ancestorRef.name}:{.ancestorRef.sectionName}, {end}"));
            assertEquals("True Accepted True ResolvedRefs", conditions(0));

            // Another controller's ancestor (a second implementation of the policy): pilot's writes keep it.
            k8s.kubectl(null, "patch", "backendtlspolicies.gateway.networking.k8s.io", "api-tls", "-n", "demo",
                    "--subresource=status", "--type=merge", "-p", """
                            {"status": {"ancestors": [{"ancestorRef": {"group": "", "kind": "Service", "name": "api"},
                             "controllerName": "example.com/other", "conditions": [{"type": "Accepted",
                             "status": "True", "reason": "Accepted", "message": "",
                             "lastTransitionTime": "2026-01-01T00:00:00Z"}]}]}}""");

            // The ConfigMap deleted: no CA a proxy could be sent, and the status says why.
            k8s.kubectl(null, "delete", "configmap", "api-ca", "-n", "demo");
            await().atMost(Duration.ofSeconds(10)).until(() -> "invalid://-cacert".equals(caOf(router)));
            await().atMost(Duration.ofSeconds(10)).until(() -> conditions(1)
                    .equals("False NoValidCACertificate False InvalidCACertificateRef"));
            assertEquals("Certificate reference invalid: ConfigMap demo/api-ca not found",
                    jsonpath("{.status.ancestors[1].conditions[0].message}"));
            assertEquals("example.com/other istio.io/mesh-controller istio.io/gateway-controller",
                    jsonpath("{.status.ancestors[*].controllerName}"));
        }
    }

    @Test
    void aClusterThatServesOnlyV1alpha3IsWatchedAndGetsItsStatusThere() throws Exception {
        // Gateway API v1.1-v1.3: BackendTLSPolicy at v1alpha3 only.
        k8s = pilots.start(true, List.of("networking.istio.io", "security.istio.io", "telemetry.istio.io"),
                Duration.ofMillis(200));
        String crds = java.nio.file.Files.readString(java.nio.file.Path.of(
                "src/test/resources/crds/gateway.networking.k8s.io.yaml"));
        int at = crds.indexOf("name: backendtlspolicies.gateway.networking.k8s.io");
        crds = crds.substring(0, at) + crds.substring(at).replaceFirst("- name: v1\n", "- name: v1alpha3\n");
        k8s.kubectl(crds, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.registry.missingKinds().isEmpty());
        assertEquals("v1alpha3", k8s.registry.version(io.mesh.config.Kind.BACKEND_TLS_POLICY));

        k8s.kubectl(configMap(pem("ca.crt")), "apply", "-f", "-");
        k8s.kubectl(CONFIG.replace("gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy",
                "gateway.networking.k8s.io/v1alpha3\nkind: BackendTLSPolicy"), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().destinationRule(
                "api.demo.svc.cluster.local", "istio-system", java.util.Map.of()) != null);
        await().atMost(Duration.ofSeconds(10)).until(() -> conditions(0).equals("True Accepted True ResolvedRefs"));
    }

    /** The SDS name of the CA of the Service's https cluster in the next CDS response (null: no TLS). */
    private static String caOf(RawAdsClient router) throws Exception {
        DiscoveryResponse r = router.nextOf(Resources.V3.CLUSTER_TYPE_URL, List.of());
        for (var any : r.getResourcesList()) {
            Cluster c = any.unpack(Cluster.class);
            if (c.getName().equals(CLUSTER)) {
                if (!c.hasTransportSocket()) {
                    return null;
                }
                UpstreamTlsContext tls = c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
                assertEquals("api.internal.example.com", tls.getSni());
                return tls.getCommonTlsContext().getCombinedValidationContext().getValidationContextSdsSecretConfig()
                        .getName();
            }
        }
        return null;
    }

    /** The CA in the next SDS response. */
    private static String trustedCa(RawAdsClient router) throws Exception {
        DiscoveryResponse r = router.nextOf(Resources.V3.SECRET_TYPE_URL, List.of(CA_RESOURCE));
        assertEquals(1, r.getResourcesCount(), r.toString());
        return r.getResources(0).unpack(Secret.class).getValidationContext().getTrustedCa().getInlineBytes()
                .toString(StandardCharsets.US_ASCII);
    }

    /** The status and reason of ancestor {@code i}'s two conditions. */
    private String conditions(int i) {
        return jsonpath("{.status.ancestors[" + i + "].conditions[0].status} {.status.ancestors[" + i
                + "].conditions[0].reason} {.status.ancestors[" + i + "].conditions[1].status} {.status.ancestors[" + i
                + "].conditions[1].reason}");
    }

    private String jsonpath(String path) {
        return k8s.kubectl(null, "get", "backendtlspolicies.gateway.networking.k8s.io", "api-tls", "-n", "demo", "-o",
                "jsonpath=" + path).strip();
    }
}
