package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * istiod's Gateway annotations and {@code status.addresses} beyond the automated deployment's defaults, in Kubernetes
 * mode (mock API server, the real kubectl): a Gateway with {@code spec.addresses} reports the addresses of the Service
 * they name, of the type {@code networking.istio.io/address-type} asks, its external addresses first; a Gateway's
 * {@code gateway.istio.io/name-override} names the Deployment and Service pilot deploys for it, and the translation
 * finds its routers there. A malformed annotation is rejected with a Warning Event naming it, and the Gateway stays as
 * it was.
 */
class KubernetesGatewayAddressesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    @Test
    void aManualGatewayReportsItsServicesAddressesOfTheTypeTheAnnotationAsks() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r);
        k8s.kubectl("""
                apiVersion: v1
                kind: Service
                metadata: {name: ingress, namespace: demo}
                spec:
                  type: ClusterIP
                  clusterIP: 10.96.0.10
                  clusterIPs: [10.96.0.10]
                  selector: {istio: ingress}
                  ports: [{name: http, port: 80}]
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: manual, namespace: demo}
                spec:
                  gatewayClassName: istio
                  addresses: [{type: Hostname, value: ingress}]
                  listeners: [{name: http, port: 80, protocol: HTTP}]
                """, "apply", "-f", "-");
        // The istio class's type: the Service's cluster DNS name.
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("manual"),
                List.of("Hostname:ingress.demo.svc.cluster.local")::equals);

        annotate("manual", "networking.istio.io/address-type=IPAddress");
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("manual"), List.of("IPAddress:10.96.0.10")::equals);
        annotate("manual", "networking.istio.io/address-type=");
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("manual"),
                List.of("IPAddress:10.96.0.10", "Hostname:ingress.demo.svc.cluster.local")::equals);

        // A misspelt type: rejected, naming the annotation; the Gateway and its addresses stay as they were.
        annotate("manual", "networking.istio.io/address-type=hostname");
        String rejection = await().atMost(Duration.ofSeconds(10)).until(() -> rejection("manual"), m -> m != null);
        assertTrue(rejection.contains("metadata.annotations.networking.istio.io/address-type")
                && rejection.contains("must be IPAddress or Hostname"), rejection);
        assertEquals(List.of("IPAddress:10.96.0.10", "Hostname:ingress.demo.svc.cluster.local"), addresses("manual"));

        // External addresses come first, whatever the type: the Service's externalIPs, then a load balancer's too.
        annotate("manual", "networking.istio.io/address-type=Hostname");
        k8s.kubectl(null, "patch", "service", "ingress", "-n", "demo", "--type", "merge", "-p",
                "{\"spec\":{\"externalIPs\":[\"192.0.2.10\"]}}");
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("manual"), List.of("IPAddress:192.0.2.10")::equals);
        k8s.kubectl(null, "patch", "service", "ingress", "-n", "demo", "--type", "merge", "-p",
                "{\"spec\":{\"type\":\"LoadBalancer\"}}");
        k8s.kubectl(null, "patch", "service", "ingress", "-n", "demo", "--subresource=status", "--type", "merge", "-p",
                "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"203.0.113.9\"},{\"hostname\":\"lb.example.com\"}]}}}");
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("manual"),
                List.of("IPAddress:192.0.2.10", "IPAddress:203.0.113.9", "Hostname:lb.example.com")::equals);
    }

    @Test
    void theNameOverrideNamesTheDeployedServiceAndDeploymentWhereTheGatewayIsServedFrom() throws Exception {
        k8s = pilots.startWithGatewayApi(false,
                r -> r.withGatewayDeployments("mesh/gateway:test", "istio-pilot.istio-system.svc:15010"));
        k8s.kubectl(gateway("named", "edge-gw"), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "edge-gw") != null
                && get("service", "edge-gw") != null);
        // istiod's ServiceAccount keeps the default name (its TemplateInput), and nothing is named NAME-istio but it.
        JsonNode deployment = get("deployment", "edge-gw");
        assertEquals("named-istio", deployment.at("/spec/template/spec/serviceAccountName").asText());
        assertTrue(get("serviceaccount", "named-istio") != null);
        assertEquals(null, get("deployment", "named-istio"));
        assertEquals(null, get("service", "named-istio"));
        assertEquals("edge-gw", deployment.at("/spec/template/metadata/labels/service.istio.io~1canonical-name").asText());

        // The translation finds the Gateway's routers through that Service, and its status reports its name.
        await().atMost(Duration.ofSeconds(10)).until(() -> programmed("named"),
                "True:Resource programmed, assigned to service(s) edge-gw.demo.svc.cluster.local"::equals);
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("named"),
                List.of("Hostname:edge-gw.demo.svc.cluster.local")::equals);

        // Renamed: the new objects are deployed, the old ones removed.
        k8s.kubectl(gateway("named", "edge-gw2"), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> get("deployment", "edge-gw2") != null
                && get("service", "edge-gw2") != null && get("deployment", "edge-gw") == null
                && get("service", "edge-gw") == null);
        await().atMost(Duration.ofSeconds(10)).until(() -> addresses("named"),
                List.of("Hostname:edge-gw2.demo.svc.cluster.local")::equals);

        // A name no Service may have: rejected, naming the annotation; what was deployed stays.
        long runs = k8s.registry.deploymentController().runs();
        k8s.kubectl(gateway("named", "Edge_GW"), "apply", "-f", "-");
        String rejection = await().atMost(Duration.ofSeconds(10)).until(() -> rejection("named"), m -> m != null);
        assertTrue(rejection.contains("metadata.annotations.gateway.istio.io/name-override")
                && rejection.contains("\"Edge_GW\""), rejection);
        // The Gateway's event still asks the controller for a run, which keeps the last good Gateway's objects.
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.registry.deploymentController().runs() > runs
                && k8s.registry.deploymentController().idle());
        assertTrue(get("deployment", "edge-gw2") != null && get("service", "edge-gw2") != null);
        assertEquals("True:Resource programmed, assigned to service(s) edge-gw2.demo.svc.cluster.local",
                programmed("named"));
    }

    private static String gateway(String name, String nameOverride) {
        return """
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata:
                  name: %s
                  namespace: demo
                  annotations: {gateway.istio.io/name-override: %s, networking.istio.io/service-type: ClusterIP}
                spec:
                  gatewayClassName: istio
                  listeners: [{name: http, port: 80, protocol: HTTP}]
                """.formatted(name, nameOverride);
    }

    private void annotate(String gateway, String annotation) {
        k8s.kubectl(null, "annotate", "gateways.gateway.networking.k8s.io", gateway, "-n", "demo", "--overwrite",
                annotation);
    }

    /** The message of the Warning Event that rejected the Gateway, or null. */
    private String rejection(String gateway) throws Exception {
        JsonNode events = JSON.readTree(k8s.kubectl(null, "get", "events", "-n", "demo", "-o", "json"));
        for (JsonNode e : events.path("items")) {
            if (e.at("/involvedObject/name").asText().equals(gateway) && e.path("reason").asText().equals("Rejected")
                    && e.path("type").asText().equals("Warning")) {
                return e.path("message").asText();
            }
        }
        return null;
    }

    /** The Gateway's Programmed condition as STATUS:MESSAGE. */
    private String programmed(String gateway) throws Exception {
        for (JsonNode c : get("gateways.gateway.networking.k8s.io", gateway).at("/status/conditions")) {
            if (c.path("type").asText().equals("Programmed")) {
                return c.path("status").asText() + ":" + c.path("message").asText();
            }
        }
        return null;
    }

    /** The Gateway's status.addresses, as TYPE:VALUE. */
    private List<String> addresses(String gateway) throws Exception {
        List<String> out = new ArrayList<>();
        get("gateways.gateway.networking.k8s.io", gateway).at("/status/addresses")
                .forEach(a -> out.add(a.path("type").asText() + ":" + a.path("value").asText()));
        return out;
    }

    private JsonNode get(String kind, String name) throws Exception {
        String out = k8s.kubectl(null, "get", kind, name, "-n", "demo", "-o", "json", "--ignore-not-found").strip();
        return out.isEmpty() ? null : JSON.readTree(out);
    }
}
