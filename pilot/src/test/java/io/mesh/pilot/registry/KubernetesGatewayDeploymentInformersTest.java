package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The automated deployment driven by informers, as istiod's deployment controller: an event on one of a Gateway's
 * objects (owner reference) reconciles that Gateway from the caches; a hand-deleted Deployment comes back from its
 * delete event alone; the cluster's status updates cause no apply; objects with the managed label whose Gateway is
 * gone, or no longer of class istio, are deleted, at pilot's start too; config changes that touch no Gateway cost no
 * API call, however many Gateways are deployed. pilot's own requests are counted through its client (KubernetesPilot#requests); kubectl's
 * are not among them.
 */
class KubernetesGatewayDeploymentInformersTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A request about a Gateway's objects (watches aside: the informers hold theirs open). */
    private static final String ABOUT_OBJECTS = "[A-Z]+ /(api/v1|apis/apps/v1)(/namespaces/[^/]+)?/"
            + "(deployments|services|serviceaccounts)(/.*|\\?.*|$)";

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;
    GatewayDeploymentController controller;

    private void start() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r.withGatewayDeployments("mesh/gateway:test",
                "istio-pilot.istio-system.svc:15010"));
        controller = k8s.registry.deploymentController();
    }

    private void deploy(String... names) throws Exception {
        for (String name : names) {
            k8s.kubectl(KubernetesGatewayDeploymentTest.gateway(name, KubernetesGatewayDeploymentTest.HTTP_LISTENER),
                    "apply", "-f", "-");
        }
        for (String name : names) {
            await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", name + "-istio") != null
                    && get("service", name + "-istio") != null && get("serviceaccount", name + "-istio") != null);
        }
        await().atMost(Duration.ofSeconds(10)).until(controller::idle);
    }

    @Test
    void aHandDeletedDeploymentIsRecreatedFromItsDeleteEventAlone() throws Exception {
        start();
        deploy("edge");
        String uid = get("deployment", "edge-istio").at("/metadata/uid").asText();
        int seen = k8s.requests.size();

        k8s.kubectl(null, "delete", "deployment", "edge-istio", "-n", "demo");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "edge-istio"),
                d -> d != null && !d.at("/metadata/uid").asText().equals(uid));
        await().atMost(Duration.ofSeconds(10)).until(controller::idle);

        // One apply of the Deployment, nothing read (no Gateway changed: its delete event asked for it, and the Gateway
        // and its other objects came from the caches).
        List<String> made = since(seen);
        assertEquals(1, made.size(), made.toString());
        assertTrue(made.get(0).startsWith("PATCH /apis/apps/v1/namespaces/demo/deployments/edge-istio?"), made.toString());
        assertTrue(made.get(0).contains("fieldManager=istio.io-gateway-controller"), made.toString());
        JsonNode again = get("deployment", "edge-istio");
        assertEquals("edge", again.at("/metadata/ownerReferences/0/name").asText());
        assertEquals("mesh/gateway:test", again.at("/spec/template/spec/containers/0/image").asText());
    }

    @Test
    void aStatusOnlyUpdateOfAnObjectAppliesNothing() throws Exception {
        start();
        deploy("edge");
        long runs = controller.runs();
        int seen = k8s.requests.size();

        // A rollout's status, as the cluster's deployment controller writes it: another resourceVersion, an event.
        String before = get("deployment", "edge-istio").at("/metadata/resourceVersion").asText();
        k8s.kubectl(null, "patch", "deployment", "edge-istio", "-n", "demo", "--subresource=status", "--type", "merge",
                "-p", "{\"status\":{\"replicas\":1,\"readyReplicas\":1,\"availableReplicas\":1,\"observedGeneration\":1}}");
        JsonNode patched = get("deployment", "edge-istio");
        assertEquals(1, patched.at("/status/readyReplicas").asInt(), patched.toString());
        String version = patched.at("/metadata/resourceVersion").asText();
        assertTrue(!version.equals(before), "the status update is a new resourceVersion");

        // Its event reconciles the Gateway, which finds the Deployment as it applied it: no apply, no read.
        await().atMost(Duration.ofSeconds(10)).until(() -> controller.runs() > runs && controller.idle());
        assertEquals(List.of(), since(seen));
        JsonNode after = get("deployment", "edge-istio");
        assertEquals(version, after.at("/metadata/resourceVersion").asText());
        assertEquals(patched.at("/metadata/generation").asText(), after.at("/metadata/generation").asText());

        // A field pilot applies, edited by hand: that is applied again (the same event path).
        k8s.kubectl(null, "patch", "deployment", "edge-istio", "-n", "demo", "--type", "merge", "-p",
                "{\"spec\":{\"replicas\":3}}");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "edge-istio").at("/spec/replicas").asInt(),
                r -> r == 1);
    }

    @Test
    void objectsWhoseGatewayIsGoneOrNotIstiosAreDeleted() throws Exception {
        start();
        deploy("edge", "other");

        // Owned by a Gateway that does not exist (its owner deleted while pilot was away, on a cluster without a
        // garbage collector): its add event reconciles that Gateway, which finds none.
        k8s.kubectl("""
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: ghost-istio
                  namespace: demo
                  labels: {gateway.istio.io/managed: istio.io-gateway-controller}
                  ownerReferences:
                  - {apiVersion: gateway.networking.k8s.io/v1, kind: Gateway, name: ghost, uid: 0000-ghost}
                spec:
                  selector: {matchLabels: {app: ghost}}
                  template:
                    metadata: {labels: {app: ghost}}
                    spec: {containers: [{name: c, image: busybox}]}
                """, "apply", "-f", "-");
        // Labelled with a Gateway's name only.
        k8s.kubectl("""
                apiVersion: v1
                kind: Service
                metadata:
                  name: ghost-istio
                  namespace: demo
                  labels: {gateway.istio.io/managed: istio.io-gateway-controller, gateway.networking.k8s.io/gateway-name: ghost}
                spec: {ports: [{name: http, port: 80}]}
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "ghost-istio") == null
                && get("service", "ghost-istio") == null);

        // A Gateway moved to another class: its objects go, another Gateway's stay.
        k8s.kubectl("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: other, namespace: demo}
                spec:
                  gatewayClassName: other-vendor
                  listeners: [{name: http, port: 80, protocol: HTTP}]
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "other-istio") == null
                && get("service", "other-istio") == null && get("serviceaccount", "other-istio") == null);
        assertTrue(get("deployment", "edge-istio") != null && get("service", "edge-istio") != null
                && get("serviceaccount", "edge-istio") != null);
    }

    @Test
    void configChangesThatTouchNoGatewayCostNoApiCallWithManyGateways() throws Exception {
        start();
        List<String> names = List.of("g1", "g2", "g3", "g4");
        deploy(names.toArray(String[]::new));
        Map<String, String> versions = resourceVersions(names);
        long runs = controller.runs();
        int seen = k8s.requests.size();

        // Config that concerns no Gateway: a Service, its update, an Istio resource, a ConfigMap.
        k8s.kubectl("""
                apiVersion: v1
                kind: Service
                metadata: {name: unrelated, namespace: default}
                spec: {ports: [{name: http, port: 80}]}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: unrelated, namespace: default}
                spec:
                  hosts: [unrelated.default.svc.cluster.local]
                  http: [{route: [{destination: {host: unrelated.default.svc.cluster.local}}]}]
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: unrelated, namespace: default}
                data: {a: b}
                """, "apply", "-f", "-");
        k8s.kubectl(null, "label", "service", "unrelated", "-n", "default", "team=x");
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            var s = k8s.registry.service("default", "unrelated");
            return s != null && "x".equals(s.getMetadata().getLabels().get("team"));
        });
        // The same informer's next event, on one of g1's objects (the cluster writing its Service's status), is
        // delivered after those: once it is reconciled, the controller has seen them all.
        k8s.kubectl(null, "patch", "service", "g1-istio", "-n", "demo", "--subresource=status", "--type", "merge", "-p",
                "{\"status\":{\"conditions\":[{\"type\":\"Example\",\"status\":\"True\",\"reason\":\"Test\","
                        + "\"message\":\"m\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}");
        String g1Service = get("service", "g1-istio").at("/metadata/resourceVersion").asText();
        await().atMost(Duration.ofSeconds(10)).until(() -> controller.runs() > runs && controller.idle());

        assertEquals(List.of(), since(seen), "no request about the Gateways' objects");
        assertTrue(k8s.requests.stream().skip(seen).noneMatch(r -> r.startsWith("GET ") && r.contains("/gateways")
                && !r.contains("watch=true")), "no Gateway read");
        versions.put("service/g1-istio", g1Service);
        assertEquals(versions, resourceVersions(names), "nothing applied");
    }

    @Test
    void atItsStartItReconcilesEveryGatewayAndDeletesWhatWasLeftWithoutOne() throws Exception {
        start();
        deploy("kept", "gone");
        // pilot stops; meanwhile a Gateway is deleted (no garbage collector here: its objects stay), and another one's
        // Service is deleted by hand.
        k8s.registry.close();
        k8s.kubectl(null, "delete", "gateways.gateway.networking.k8s.io", "gone", "-n", "demo");
        k8s.kubectl(null, "delete", "service", "kept-istio", "-n", "demo");
        assertTrue(get("deployment", "gone-istio") != null && get("service", "kept-istio") == null);

        // pilot starts again: its first run reconciles every Gateway, and every managed object's.
        try (KubernetesRegistry again = new KubernetesRegistry(k8s.client)
                .withGatewayDeployments("mesh/gateway:test", "istio-pilot.istio-system.svc:15010")) {
            again.start(new ConfigStore((raw, reason) -> { }), reason -> { }, hosts -> { });
            await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "gone-istio") == null
                    && get("service", "gone-istio") == null && get("serviceaccount", "gone-istio") == null);
            await().atMost(Duration.ofSeconds(10)).until(() -> get("service", "kept-istio") != null);
            assertEquals("kept", get("service", "kept-istio").at("/metadata/ownerReferences/0/name").asText());
            assertTrue(get("deployment", "kept-istio") != null && get("serviceaccount", "kept-istio") != null);
        }
    }

    /** pilot's requests about Deployments, Services and ServiceAccounts since the {@code seen}th, watches aside. */
    private List<String> since(int seen) {
        return List.copyOf(k8s.requests).subList(seen, k8s.requests.size()).stream()
                .filter(r -> !r.contains("watch=true")).filter(r -> r.matches(ABOUT_OBJECTS)).toList();
    }

    private Map<String, String> resourceVersions(List<String> gateways) throws Exception {
        Map<String, String> out = new TreeMap<>();
        for (String gateway : gateways) {
            for (String kind : List.of("deployment", "service", "serviceaccount")) {
                out.put(kind + "/" + gateway + "-istio", get(kind, gateway + "-istio").at("/metadata/resourceVersion")
                        .asText());
            }
        }
        return out;
    }

    private JsonNode get(String kind, String name) throws Exception {
        String out = k8s.kubectl(null, "get", kind, name, "-n", "demo", "-o", "json", "--ignore-not-found").strip();
        return out.isEmpty() ? null : JSON.readTree(out);
    }
}
