package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Event;
import io.mesh.config.RequestAuthentication;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode: RequestAuthentications applied by the real kubectl (the repository's CRD) reach
 * pilot's snapshot; an invalid one is left out with a Warning event naming the field.
 */
class KubernetesRequestAuthenticationTest {
    static final String JWKS = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k1\",\"n\":\"sXch\"}]}";

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
    }

    @Test
    void requestAuthenticationsAppliedWithKubectlReachTheSnapshotAndAnInvalidOneIsRejectedWithAnEvent() {
        k8s.kubectl("""
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: web-jwt, namespace: demo}
                spec:
                  selector: {matchLabels: {app: web}}
                  jwtRules: [{issuer: issuer-1, jwks: '%s'}]
                ---
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: old-api, namespace: demo}
                spec:
                  jwtRules: [{issuer: issuer-2, jwks: '%s'}]
                ---
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: no-issuer, namespace: demo}
                spec:
                  jwtRules: [{jwksUri: "https://keys.example/jwks.json"}]
                """.formatted(JWKS, JWKS), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().requestAuthentications().size() == 2);
        assertEquals(List.of("issuer-1", "issuer-2"), k8s.harness.pilot.snapshot().requestAuthentications().stream()
                .flatMap(ra -> ra.jwtRules().stream()).map(RequestAuthentication.JwtRule::issuer).sorted().toList());
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.client.v1().events().inNamespace("demo").list()
                .getItems().stream().anyMatch(e -> "Rejected".equals(e.getReason())));
        Event e = k8s.client.v1().events().inNamespace("demo").list().getItems().stream()
                .filter(x -> "Rejected".equals(x.getReason())).findFirst().orElseThrow();
        assertEquals("RequestAuthentication", e.getInvolvedObject().getKind());
        assertEquals("no-issuer", e.getInvolvedObject().getName());
        assertTrue(e.getMessage().contains("spec.jwtRules[0].issuer: is required"), e.getMessage());

        k8s.kubectl(null, "delete", "requestauthentication", "-n", "demo", "web-jwt");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().requestAuthentications().size() == 1);
    }
}
