package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * istiod's automated deployment, in Kubernetes mode: a Gateway of class istio without addresses, applied by the real
 * kubectl to the mock API server, gets a ServiceAccount, Service and Deployment {@code NAME-istio} (read back with
 * kubectl), owned by the Gateway; the deployed pods' labels (what the proxy sends as its node's labels) make pilot serve
 * the Gateway's listeners to them over ADS, and the Gateway reports Programmed; a listener added changes the Service's
 * ports; a Gateway with addresses or of another class gets nothing; a deleted Gateway's objects are removed.
 */
class KubernetesGatewayDeploymentTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    static String gateway(String name, String listeners) {
        return """
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata:
                  name: %s
                  namespace: demo
                  annotations: {networking.istio.io/service-type: ClusterIP}
                spec:
                  gatewayClassName: istio
                  listeners:
                %s""".formatted(name, listeners.indent(2));
    }

    static final String HTTP_LISTENER = "- {name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}\n";
    static final String HTTPS_LISTENER = "- {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: edge-cert}]}}\n";

    @Test
    void aGatewayWithoutAddressesIsDeployedServedAndRemovedWithIt() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r.withGatewayDeployments("mesh/gateway:test", "istio-pilot.istio-system.svc:15010"));
        k8s.kubectl(gateway("edge", HTTP_LISTENER), "apply", "-f", "-");
        String uid = k8s.kubectl(null, "get", "gateways.gateway.networking.k8s.io", "edge", "-n", "demo", "-o",
                "jsonpath={.metadata.uid}").strip();

        JsonNode deployment = await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "edge-istio"),
                d -> d != null);
        JsonNode service = get("service", "edge-istio");
        JsonNode account = get("serviceaccount", "edge-istio");
        for (JsonNode o : List.of(deployment, service, account)) {
            assertEquals("edge", o.at("/metadata/labels/gateway.networking.k8s.io~1gateway-name").asText(), o.toString());
            assertEquals("istio.io-gateway-controller", o.at("/metadata/labels/gateway.istio.io~1managed").asText());
            JsonNode owner = o.at("/metadata/ownerReferences/0");
            assertEquals(List.of("Gateway", "edge", uid), List.of(owner.path("kind").asText(), owner.path("name").asText(),
                    owner.path("uid").asText()));
        }
        // The Service: the annotation's type, the status port then the listener's, selecting the deployment's pods.
        assertEquals("ClusterIP", service.at("/spec/type").asText());
        assertEquals(List.of("status-port:15021:tcp", "http:80:http"), ports(service));
        assertEquals(Map.of("gateway.networking.k8s.io/gateway-name", "edge"),
                JSON.convertValue(service.at("/spec/selector"), Map.class));
        JsonNode pod = deployment.at("/spec/template");
        assertEquals("edge", pod.at("/metadata/labels/gateway.networking.k8s.io~1gateway-name").asText());
        JsonNode proxy = pod.at("/spec/containers/0");
        assertEquals("mesh/gateway:test", proxy.path("image").asText());
        assertEquals("router", env(proxy, "MESH_GATEWAY_MODE"));
        assertEquals("istio-pilot.istio-system.svc:15010", env(proxy, "MESH_GATEWAY_XDS_ADDRESS"));
        assertEquals("edge-istio", pod.at("/spec/serviceAccountName").asText());
        Map<?, ?> nodeLabels = JSON.readValue(env(proxy, "ISTIO_METAJSON_LABELS"), Map.class);
        assertEquals(JSON.convertValue(pod.at("/metadata/labels"), Map.class), nodeLabels,
                "the proxy's node labels are its pod's");

        // A proxy with those labels is the Gateway's router: pilot serves it the listener.
        Struct.Builder labels = Struct.newBuilder();
        nodeLabels.forEach((k, v) -> labels.putFields((String) k, Value.newBuilder().setStringValue((String) v).build()));
        try (RawAdsClient router = new RawAdsClient(k8s.harness.pilot.xdsPort(),
                "router~10.0.9.9~edge-istio-1.demo~demo.svc.cluster.local", null)) {
            router.openSotwWithLabels(labels.build());
            router.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            DiscoveryResponse lds = router.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of());
            assertEquals(List.of("0.0.0.0_80"), names(lds));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.kubectl(null, "get", "gateways.gateway.networking.k8s.io",
                "edge", "-n", "demo", "-o", "jsonpath={.status.conditions[?(@.type==\"Programmed\")].status}").strip()
                .equals("True"));
        // Its address: the ClusterIP Service's cluster DNS name.
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("edge"),
                List.of("Hostname:edge-istio.demo.svc.cluster.local")::equals);

        // A second listener: the Service gets its port.
        k8s.kubectl(gateway("edge", HTTP_LISTENER + HTTPS_LISTENER), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> ports(get("service", "edge-istio")),
                p -> p.equals(List.of("status-port:15021:tcp", "http:80:http", "https:443:https")));

        // Addresses name the workloads (manual deployment), another class is another controller's: nothing deployed.
        k8s.kubectl("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: manual, namespace: demo}
                spec:
                  gatewayClassName: istio
                  addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
                  listeners: [{name: http, port: 8080, protocol: HTTP}]
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: other, namespace: demo}
                spec:
                  gatewayClassName: other-vendor
                  listeners: [{name: http, port: 8080, protocol: HTTP}]
                """, "apply", "-f", "-");
        k8s.kubectl(gateway("later", HTTP_LISTENER), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "later-istio") != null);
        assertEquals(null, get("deployment", "manual-istio"));
        assertEquals(null, get("deployment", "other-other-vendor"));

        // The Gateway deleted: its objects go (a cluster's garbage collector would too, by the owner reference).
        k8s.kubectl(null, "delete", "gateways.gateway.networking.k8s.io", "edge", "-n", "demo");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "edge-istio") == null
                && get("service", "edge-istio") == null && get("serviceaccount", "edge-istio") == null);
        assertTrue(get("deployment", "later-istio") != null, "another Gateway's deployment stays");
    }

    @Test
    void aDeployedGatewayIsKeptFromInformerCachesWithoutApiCallsAndRepairedWhenChangedByHand() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r.withGatewayDeployments("mesh/gateway:test", "istio-pilot.istio-system.svc:15010"));
        GatewayDeploymentController controller = k8s.registry.deploymentController();
        k8s.kubectl(gateway("edge", HTTP_LISTENER), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "edge-istio") != null
                && get("service", "edge-istio") != null && get("serviceaccount", "edge-istio") != null);
        await().atMost(Duration.ofSeconds(10)).until(controller::idle);
        Map<String, String> versions = resourceVersions();

        // A change of config that concerns no deployed Gateway: no run, no request about Gateways or their objects
        // (KubernetesGatewayDeploymentInformersTest counts them with several Gateways).
        long runs = controller.runs();
        int seen = k8s.requests.size();
        k8s.kubectl("""
                apiVersion: v1
                kind: Service
                metadata: {name: unrelated, namespace: default}
                spec: {ports: [{name: http, port: 80}]}
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.registry.service("default", "unrelated") != null);
        // The Service informer's next event, on the Gateway's Service, reconciles the Gateway after that one.
        k8s.kubectl(null, "annotate", "service", "edge-istio", "-n", "demo", "example.com/by-hand=yes");
        await().atMost(Duration.ofSeconds(10)).until(() -> controller.runs() > runs && controller.idle());
        List<String> made = List.copyOf(k8s.requests).subList(seen, k8s.requests.size()).stream()
                .filter(r -> !r.contains("watch=true"))
                .filter(r -> r.matches(".*/(deployments|serviceaccounts|services|gateways)(/.*|\\?.*|$)")).toList();
        assertEquals(List.of(), made, "a run with nothing of pilot's changed reads the caches only");
        versions.put("service", get("service", "edge-istio").at("/metadata/resourceVersion").asText());
        assertEquals(versions, resourceVersions(), "nothing applied again (an annotation of someone else's stays)");

        // Deleted by hand: its delete event brings it back.
        String uid = get("deployment", "edge-istio").at("/metadata/uid").asText();
        k8s.kubectl(null, "delete", "deployment", "edge-istio", "-n", "demo");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "edge-istio"),
                d -> d != null && !d.at("/metadata/uid").asText().equals(uid));

        // Changed by someone else: its update event has what pilot applies applied again.
        k8s.kubectl(null, "patch", "service", "edge-istio", "-n", "demo", "--type", "merge", "-p",
                "{\"spec\":{\"type\":\"NodePort\"}}");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("service", "edge-istio").at("/spec/type").asText(),
                "ClusterIP"::equals);
        k8s.kubectl(null, "label", "serviceaccount", "edge-istio", "-n", "demo", "--overwrite",
                "gateway.networking.k8s.io/gateway-name=someone-else");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("serviceaccount", "edge-istio")
                .at("/metadata/labels/gateway.networking.k8s.io~1gateway-name").asText(), "edge"::equals);

        // An object marked as pilot's whose Gateway does not exist (left by an earlier pilot): found in the cache, removed.
        k8s.kubectl("""
                apiVersion: v1
                kind: ServiceAccount
                metadata:
                  name: gone-istio
                  namespace: demo
                  labels: {gateway.istio.io/managed: istio.io-gateway-controller}
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("serviceaccount", "gone-istio") == null);
    }

    @Test
    void theGatewaysInfrastructureLabelsAnnotationsAndServiceAccountShapeItsObjectsAsIstiods() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r.withGatewayDeployments("mesh/gateway:test", "istio-pilot.istio-system.svc:15010"));
        // The user's own ServiceAccount (say, bound to a cloud role), which the annotation names.
        k8s.kubectl("""
                apiVersion: v1
                kind: ServiceAccount
                metadata: {name: edge-sa, namespace: demo, annotations: {example.com/role: edge}}
                """, "apply", "-f", "-");
        k8s.kubectl("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata:
                  name: infra
                  namespace: demo
                  labels: {team: a}
                  annotations:
                    gateway.istio.io/service-account: edge-sa
                    networking.istio.io/service-type: NodePort
                    example.com/note: copied
                spec:
                  gatewayClassName: istio
                  infrastructure:
                    labels: {example.com/zone: z1, gateway.networking.k8s.io/reserved: dropped}
                  listeners:
                  - {name: http, port: 80, protocol: HTTP}
                """, "apply", "-f", "-");
        JsonNode deployment = await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "infra-istio"),
                d -> d != null);
        JsonNode service = get("service", "infra-istio");
        assertEquals("NodePort", service.at("/spec/type").asText());
        Map<String, String> labels = Map.of("example.com/zone", "z1", "gateway.networking.k8s.io/gateway-name", "infra",
                "gateway.istio.io/managed", "istio.io-gateway-controller");
        // spec.infrastructure.labels replace the Gateway's own (team); its reserved prefix is dropped.
        assertEquals(labels, JSON.convertValue(service.at("/metadata/labels"), Map.class));
        assertEquals(labels, JSON.convertValue(deployment.at("/metadata/labels"), Map.class));
        // No spec.infrastructure.annotations: the Gateway's own, but kubectl's and the service-account override.
        Map<String, String> annotations = Map.of("networking.istio.io/service-type", "NodePort",
                "example.com/note", "copied");
        assertEquals(annotations, JSON.convertValue(service.at("/metadata/annotations"), Map.class));
        assertEquals(annotations, JSON.convertValue(deployment.at("/metadata/annotations"), Map.class));
        JsonNode pod = deployment.at("/spec/template");
        assertEquals("z1", pod.at("/metadata/labels/example.com~1zone").asText());
        assertEquals("infra", pod.at("/metadata/labels/gateway.networking.k8s.io~1gateway-name").asText());
        assertEquals("copied", pod.at("/metadata/annotations/example.com~1note").asText());
        assertEquals("true", pod.at("/metadata/annotations/prometheus.io~1scrape").asText());
        Map<?, ?> nodeLabels = JSON.readValue(env(pod.at("/spec/containers/0"), "ISTIO_METAJSON_LABELS"), Map.class);
        assertEquals(JSON.convertValue(pod.at("/metadata/labels"), Map.class), nodeLabels);
        // The pods run as the named ServiceAccount, which is the user's: not taken over, none made.
        assertEquals("edge-sa", pod.at("/spec/serviceAccountName").asText());
        JsonNode account = get("serviceaccount", "edge-sa");
        assertEquals("edge", account.at("/metadata/annotations/example.com~1role").asText());
        assertTrue(account.at("/metadata/annotations/example.com~1note").isMissingNode(), account.toString());
        assertTrue(account.at("/metadata/labels").isMissingNode() && account.at("/metadata/ownerReferences").isMissingNode(),
                account.toString());
        assertEquals(null, get("serviceaccount", "infra-istio"));

        // spec.infrastructure.annotations set: they replace the Gateway's own on its objects.
        k8s.kubectl(null, "patch", "gateways.gateway.networking.k8s.io", "infra", "-n", "demo", "--type", "merge", "-p",
                "{\"spec\":{\"infrastructure\":{\"annotations\":{\"example.com/only\":\"this\"}}}}");
        await().atMost(Duration.ofSeconds(10)).until(() -> JSON.convertValue(
                get("service", "infra-istio").at("/metadata/annotations"), Map.class), Map.of("example.com/only", "this")::equals);

        // Without spec.infrastructure, the Gateway's own labels, followed when only they change.
        k8s.kubectl(gateway("plain", HTTP_LISTENER), "apply", "-f", "-");
        k8s.kubectl(null, "label", "gateways.gateway.networking.k8s.io", "plain", "-n", "demo", "team=b");
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            JsonNode a = get("serviceaccount", "plain-istio");
            return a != null && a.at("/metadata/labels/team").asText().equals("b");
        });
        k8s.kubectl(null, "label", "gateways.gateway.networking.k8s.io", "plain", "-n", "demo", "--overwrite", "team=c");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "plain-istio")
                .at("/spec/template/metadata/labels/team").asText(), "c"::equals);

        // A LoadBalancer Service: no address until the load balancer has one, then that address.
        k8s.kubectl("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: lb, namespace: demo}
                spec:
                  gatewayClassName: istio
                  listeners: [{name: http, port: 80, protocol: HTTP}]
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("gateways.gateway.networking.k8s.io", "lb")
                .at("/status/conditions").size() > 0 && get("service", "lb-istio") != null);
        assertTrue(get("gateways.gateway.networking.k8s.io", "lb").at("/status/addresses").isMissingNode());
        k8s.kubectl(null, "patch", "service", "lb-istio", "-n", "demo", "--subresource=status", "--type", "merge", "-p",
                "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.7\"},{\"hostname\":\"lb.example.com\"}]}}}");
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("lb"),
                List.of("IPAddress:203.0.113.7", "Hostname:lb.example.com")::equals);

        // Malformed infrastructure (which a real API server's schema would refuse): logged, the objects stay as they were.
        long runs = k8s.registry.deploymentController().runs();
        k8s.kubectl(null, "patch", "gateways.gateway.networking.k8s.io", "infra", "-n", "demo", "--type", "merge", "-p",
                "{\"spec\":{\"infrastructure\":{\"labels\":\"oops\"}}}");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.registry.deploymentController().runs() > runs
                && k8s.registry.deploymentController().idle());
        assertEquals("z1", get("deployment", "infra-istio").at("/metadata/labels/example.com~1zone").asText());
        assertTrue(get("service", "infra-istio") != null);
    }

    /** The Gateway's status.addresses, as TYPE:VALUE. */
    private List<String> addresses(String gateway) throws Exception {
        List<String> out = new ArrayList<>();
        get("gateways.gateway.networking.k8s.io", gateway).at("/status/addresses")
                .forEach(a -> out.add(a.path("type").asText() + ":" + a.path("value").asText()));
        return out;
    }

    private Map<String, String> resourceVersions() throws Exception {
        Map<String, String> out = new java.util.TreeMap<>();
        for (String kind : List.of("deployment", "service", "serviceaccount")) {
            out.put(kind, get(kind, "edge-istio").at("/metadata/resourceVersion").asText());
        }
        return out;
    }

    private JsonNode get(String kind, String name) throws Exception {
        String out = k8s.kubectl(null, "get", kind, name, "-n", "demo", "-o", "json", "--ignore-not-found").strip();
        return out.isEmpty() ? null : JSON.readTree(out);
    }

    private static List<String> ports(JsonNode service) {
        List<String> out = new ArrayList<>();
        service.at("/spec/ports").forEach(p -> out.add(p.path("name").asText() + ":" + p.path("port").asInt() + ":"
                + p.path("appProtocol").asText()));
        return out;
    }

    private static String env(JsonNode container, String name) {
        for (JsonNode e : container.path("env")) {
            if (e.path("name").asText().equals(name)) {
                return e.path("value").asText();
            }
        }
        throw new AssertionError(name + " not in " + container.path("env"));
    }

    private static List<String> names(DiscoveryResponse lds) throws Exception {
        List<String> out = new ArrayList<>();
        for (com.google.protobuf.Any a : lds.getResourcesList()) {
            out.add(a.unpack(Listener.class).getName());
        }
        return out;
    }
}
