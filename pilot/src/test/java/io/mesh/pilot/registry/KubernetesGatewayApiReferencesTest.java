package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode, with the mock API server and the real kubectl: a ReferenceGrant (v1beta1, the CRD serving no v1)
 * applied in the backend's namespace lets an HTTPRoute's backendRef there through (RDS names the Service's cluster,
 * status ResolvedRefs True), and deleting it refuses it again (RefNotPermitted); relabelling a Namespace attaches and
 * detaches its route on a listener with a namespace selector; an HTTPS listener's Secret in the Gateway's own namespace
 * (not istio-system) is served over SDS as {@code kubernetes-gateway://NAMESPACE/NAME}.
 */
class KubernetesGatewayApiReferencesTest {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    static String config() {
        Base64.Encoder b64 = Base64.getEncoder();
        return """
                apiVersion: v1
                kind: Namespace
                metadata: {name: istio-system}
                ---
                apiVersion: v1
                kind: Namespace
                metadata: {name: edge}
                ---
                apiVersion: v1
                kind: Namespace
                metadata: {name: backends}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: istio-ingressgateway, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  ports: [{name: http, port: 80, targetPort: 8080}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: api, namespace: backends}
                spec:
                  selector: {app: api}
                  ports: [{name: http, port: 80, targetPort: 8081}]
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: edge-cert, namespace: edge}
                type: kubernetes.io/tls
                data: {tls.crt: %s, tls.key: %s}
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: edge}
                spec:
                  gatewayClassName: istio
                  addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
                  listeners:
                  - name: http
                    port: 8080
                    protocol: HTTP
                    allowedRoutes:
                      namespaces:
                        from: Selector
                        selector: {matchExpressions: [{key: shared-gateway, operator: In, values: ["true"]}]}
                  - name: https
                    port: 8443
                    protocol: HTTPS
                    tls: {certificateRefs: [{name: edge-cert}]}
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web, namespace: demo}
                spec:
                  parentRefs: [{name: edge, namespace: edge, sectionName: http}]
                  hostnames: [web.example.com]
                  rules: [{backendRefs: [{name: api, namespace: backends, port: 80}]}]
                """.formatted(b64.encodeToString("CERT-PEM".getBytes()), b64.encodeToString("KEY-PEM".getBytes()));
    }

    static final String GRANT = """
            apiVersion: gateway.networking.k8s.io/v1beta1
            kind: ReferenceGrant
            metadata: {name: from-demo, namespace: backends}
            spec:
              from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: demo}]
              to: [{group: "", kind: Service, name: api}]
            """;

    @Test
    void grantsNamespaceLabelsAndTheGatewaysOwnSecretAreFollowed() throws Exception {
        k8s = pilots.startWithGatewayApi(true, r -> r);
        k8s.kubectl(config(), "apply", "-f", "-");
        k8s.kubectl(null, "label", "namespace", "demo", "shared-gateway=true");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .anyMatch(vs -> vs.hosts().equals(List.of("web.example.com"))));

        Struct labels = Struct.newBuilder().putFields("istio",
                Value.newBuilder().setStringValue("ingressgateway").build()).build();
        try (RawAdsClient router = new RawAdsClient(k8s.harness.pilot.xdsPort(),
                "router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
            router.openSotwWithLabels(labels);
            // The certificate of the Gateway's own namespace, over SDS.
            String name = "kubernetes-gateway://edge/edge-cert";
            router.request(Resources.V3.SECRET_TYPE_URL, List.of(name), "", "", null);
            DiscoveryResponse sds = router.nextOf(Resources.V3.SECRET_TYPE_URL, List.of(name));
            assertEquals(1, sds.getResourcesCount(), sds.toString());
            Secret secret = sds.getResources(0).unpack(Secret.class);
            assertEquals(name, secret.getName());
            assertEquals("KEY-PEM", secret.getTlsCertificate().getPrivateKey().getInlineBytes().toStringUtf8());

            // No grant: the backend in another namespace is refused (a cluster of no service, answering 500).
            router.request(Resources.V3.ROUTE_TYPE_URL, List.of("http.8080"), "", "", null);
            assertEquals("outbound|80||api.backends.not-permitted.svc.cluster.local", cluster(router));
            await().atMost(Duration.ofSeconds(10)).until(() -> resolvedRefs().equals("False RefNotPermitted"));

            k8s.kubectl(GRANT, "apply", "-f", "-");
            await().atMost(Duration.ofSeconds(10)).until(() -> "outbound|80||api.backends.svc.cluster.local"
                    .equals(cluster(router)));
            await().atMost(Duration.ofSeconds(10)).until(() -> resolvedRefs().equals("True ResolvedRefs"));

            k8s.kubectl(null, "delete", "referencegrant", "-n", "backends", "from-demo");
            await().atMost(Duration.ofSeconds(10)).until(() -> "outbound|80||api.backends.not-permitted.svc.cluster.local"
                    .equals(cluster(router)));
            await().atMost(Duration.ofSeconds(10)).until(() -> resolvedRefs().equals("False RefNotPermitted"));

            // The namespace selector: unlabelled, demo's route is not attached; labelled again, it is.
            k8s.kubectl(null, "label", "namespace", "demo", "shared-gateway-");
            await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices()
                    .stream().noneMatch(vs -> vs.hosts().equals(List.of("web.example.com"))));
            await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("httproutes.gateway.networking.k8s.io",
                    "demo", "web", "{.status.parents[0].conditions[0].reason}").equals("NotAllowedByListeners"));
            k8s.kubectl(null, "label", "namespace", "demo", "shared-gateway=true");
            await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices()
                    .stream().anyMatch(vs -> vs.hosts().equals(List.of("web.example.com"))));
            await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("httproutes.gateway.networking.k8s.io",
                    "demo", "web", "{.status.parents[0].conditions[0].reason}").equals("Accepted"));
        }
    }

    /** The cluster of the route of "web.example.com" in the next RDS response, or null when it has none. */
    private static String cluster(RawAdsClient router) throws Exception {
        DiscoveryResponse r = router.nextOf(Resources.V3.ROUTE_TYPE_URL, List.of("http.8080"));
        RouteConfiguration rc = r.getResources(0).unpack(RouteConfiguration.class);
        return rc.getVirtualHostsList().stream().filter(v -> v.getDomainsList().contains("web.example.com"))
                .findFirst().map(v -> v.getRoutes(0).getRoute().getCluster()).orElse(null);
    }

    private String resolvedRefs() {
        return jsonpath("httproutes.gateway.networking.k8s.io", "demo", "web",
                "{.status.parents[0].conditions[1].status} {.status.parents[0].conditions[1].reason}");
    }

    private String jsonpath(String resource, String namespace, String name, String path) {
        return k8s.kubectl(null, "get", resource, name, "-n", namespace, "-o", "jsonpath=" + path).strip();
    }
}
