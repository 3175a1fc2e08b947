package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * istiod's GatewayClass status, in Kubernetes mode: GatewayClasses applied by the real kubectl to the mock API server
 * (whose GatewayClass CRD is installed after pilot started) whose controllerName is istiod's get {@code Accepted}: True
 * for the class istio, False (Invalid) for another, whose Gateways pilot does not serve; written once and again only
 * when it changed (counted through pilot's client), merged into what their status already had. A class of another
 * controller is left alone. With istiod's class controller, the class istio is created when missing, never updated.
 */
class KubernetesGatewayClassStatusTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    static String gatewayClass(String name, String controller, String description) {
        return """
                apiVersion: gateway.networking.k8s.io/v1
                kind: GatewayClass
                metadata: {name: %s}
                spec: {controllerName: %s, description: %s}
                """.formatted(name, controller, description);
    }

    @Test
    void theClassesOfIstiodsControllerGetAcceptedOnlyWhereItChangedAndOthersAreLeftAlone() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r);
        k8s.kubectl(gatewayClass("istio", "istio.io/gateway-controller", "default")
                + "---\n" + gatewayClass("istio-internal", "istio.io/gateway-controller", "internal")
                + "---\n" + gatewayClass("other", "example.com/gateway-controller", "another vendor's"),
                "apply", "-f", "-");

        JsonNode accepted = await().atMost(Duration.ofSeconds(15)).until(() -> accepted("istio"), c -> c != null);
        assertEquals("True", accepted.path("status").asText());
        assertEquals("Accepted", accepted.path("reason").asText());
        assertEquals("Handled by Istio controller", accepted.path("message").asText());
        assertEquals(get("istio").at("/metadata/generation").asLong(), accepted.path("observedGeneration").asLong());
        assertTrue(accepted.path("lastTransitionTime").asText().matches("\\d{4}-\\d\\d-\\d\\dT.*Z"), accepted.toString());
        // As istiod's since the Gateway API changed the field's type: no supportedFeatures.
        assertTrue(get("istio").at("/status/supportedFeatures").isMissingNode(), get("istio").toString());
        // Another class of istiod's controller: pilot serves only the class istio's Gateways, and says so.
        JsonNode internal = await().atMost(Duration.ofSeconds(10)).until(() -> accepted("istio-internal"), c -> c != null);
        assertEquals(List.of("False", "Invalid", GatewayClassController.NOT_SERVED), List.of(
                internal.path("status").asText(), internal.path("reason").asText(), internal.path("message").asText()));
        GatewayClassController classes = k8s.registry.gatewayClasses();
        await().atMost(Duration.ofSeconds(10)).until(classes::idle);
        assertTrue(get("other").at("/status").isMissingNode(), "another controller's class: " + get("other"));

        // A class event that changes nothing pilot writes (a label): a run, no status write.
        String version = get("istio").at("/metadata/resourceVersion").asText();
        String since = get("istio").at("/status/conditions/0/lastTransitionTime").asText();
        long runs = classes.runs();
        int seen = k8s.requests.size();
        k8s.kubectl(null, "label", "gatewayclasses.gateway.networking.k8s.io", "istio", "team=edge");
        await().atMost(Duration.ofSeconds(10)).until(() -> classes.runs() > runs && classes.idle());
        List<String> writes = List.copyOf(k8s.requests).subList(seen, k8s.requests.size()).stream()
                .filter(r -> r.contains("/gatewayclasses/") && !r.startsWith("GET")).toList();
        assertEquals(List.of(), writes, "nothing changed: no status written");
        assertEquals(since, get("istio").at("/status/conditions/0/lastTransitionTime").asText());
        assertTrue(!version.equals(get("istio").at("/metadata/resourceVersion").asText()), "the label was applied");

        // Someone else's condition on the class stays; a stale Accepted (another message) is put right.
        k8s.kubectl(null, "patch", "gatewayclasses.gateway.networking.k8s.io", "istio", "--subresource=status",
                "--type", "merge", "-p", """
                {"status":{"conditions":[
                  {"type":"Accepted","status":"True","reason":"Accepted","message":"old text","observedGeneration":%d,
                   "lastTransitionTime":"2020-01-01T00:00:00Z"},
                  {"type":"example.com/Audited","status":"True","reason":"Audited","message":"by a tool",
                   "lastTransitionTime":"2021-01-01T00:00:00Z"}]}}""".formatted(
                        get("istio").at("/metadata/generation").asLong()));
        await().atMost(Duration.ofSeconds(10)).until(() -> accepted("istio").path("message").asText(),
                "Handled by Istio controller"::equals);
        JsonNode conditions = get("istio").at("/status/conditions");
        assertEquals(2, conditions.size(), conditions.toString());
        assertEquals("2020-01-01T00:00:00Z", accepted("istio").path("lastTransitionTime").asText(),
                "still True: its transition time is kept, as istiod's UpdateConditionIfChanged");
        assertEquals("by a tool", conditions.get(1).path("message").asText());

        // A class that turns to istiod's controller gets its status then.
        k8s.kubectl(gatewayClass("other", "istio.io/gateway-controller", "now istio's"), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> accepted("other"), c -> c != null);
        assertEquals("Invalid", accepted("other").path("reason").asText());
    }

    @Test
    void theDefaultClassIsCreatedWhenMissingAndNeverUpdated() throws Exception {
        k8s = pilots.startWithGatewayApi(false, KubernetesRegistry::withDefaultGatewayClass);
        // Created once its CRD is served (after pilot started), then accepted as any class of istiod's controller.
        JsonNode created = await().atMost(Duration.ofSeconds(15)).until(() -> getOrNull("istio"), c -> c != null);
        assertEquals("istio.io/gateway-controller", created.at("/spec/controllerName").asText());
        assertEquals("The default Istio GatewayClass", created.at("/spec/description").asText());
        await().atMost(Duration.ofSeconds(10)).until(() -> accepted("istio"), c -> c != null
                && c.path("status").asText().equals("True"));

        // Changed by its user: left as it is (istiod only creates it).
        k8s.kubectl(gatewayClass("istio", "istio.io/gateway-controller", "ours now"), "apply", "-f", "-");
        GatewayClassController classes = k8s.registry.gatewayClasses();
        await().atMost(Duration.ofSeconds(10)).until(() -> get("istio").at("/spec/description").asText()
                .equals("ours now") && classes.idle());
        assertEquals("ours now", get("istio").at("/spec/description").asText());

        // Deleted: created again.
        String uid = get("istio").at("/metadata/uid").asText();
        k8s.kubectl(null, "delete", "gatewayclasses.gateway.networking.k8s.io", "istio");
        JsonNode again = await().atMost(Duration.ofSeconds(10)).until(() -> getOrNull("istio"),
                c -> c != null && !c.at("/metadata/uid").asText().equals(uid));
        assertEquals("The default Istio GatewayClass", again.at("/spec/description").asText());
    }

    @Test
    void withoutTheClassControllerNoClassIsCreated() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r);
        k8s.kubectl(gatewayClass("other", "example.com/gateway-controller", "another vendor's"), "apply", "-f", "-");
        GatewayClassController classes = await().atMost(Duration.ofSeconds(15))
                .until(() -> k8s.registry.gatewayClasses(), w -> w != null && w.runs() > 0 && w.idle());
        assertEquals(null, getOrNull("istio"));
    }

    private JsonNode getOrNull(String name) throws Exception {
        String out = k8s.kubectl(null, "get", "gatewayclasses.gateway.networking.k8s.io", name, "-o", "json",
                "--ignore-not-found").strip();
        return out.isEmpty() ? null : JSON.readTree(out);
    }

    /** The class's Accepted condition, or null. */
    private JsonNode accepted(String name) throws Exception {
        for (JsonNode c : get(name).at("/status/conditions")) {
            if (c.path("type").asText().equals("Accepted")) {
                return c;
            }
        }
        return null;
    }

    private JsonNode get(String name) throws Exception {
        return JSON.readTree(k8s.kubectl(null, "get", "gatewayclasses.gateway.networking.k8s.io", name, "-o", "json"));
    }
}
