package io.mesh.testing.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A custom resource written at one served version of its CRD is read at the others, as kube-apiserver serves it: the
 * repository's security.istio.io CRDs serve v1beta1 beside the storage version v1, and a RequestAuthentication that the
 * real kubectl applies, changes and deletes at v1beta1 is the same object the Fabric8 client reads at v1.
 */
class CrdVersionsAgainstKubectlTest {
    private static final Path WORK = Path.of("target", "crd-versions-test");
    private static KubeApiMock mock;
    private static KubernetesClient client;
    private static Path kubeconfig;

    @BeforeAll
    static void start() throws Exception {
        mock = KubeApiMock.start(0, false, false);
        client = mock.client("default");
        kubeconfig = mock.writeKubeconfig(WORK.resolve("kubeconfig"), "default").toAbsolutePath();
        kubectl(null, "apply", "-f", "../deploy/kubernetes/crds/security.istio.io.yaml");
        kubectl("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n", "apply", "-f", "-");
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (mock != null) {
            mock.close();
        }
    }

    private static String kubectl(String stdin, String... args) {
        return new Kubectl(kubeconfig, WORK).run(stdin, args);
    }

    private static GenericKubernetesResource atV1() {
        return client.genericKubernetesResources("security.istio.io/v1", "RequestAuthentication").inNamespace("demo")
                .withName("jwt").get();
    }

    private static String ra(String issuer) {
        return """
                apiVersion: security.istio.io/v1beta1
                kind: RequestAuthentication
                metadata: {name: jwt, namespace: demo}
                spec:
                  jwtRules: [{issuer: %s}]
                """.formatted(issuer);
    }

    @Test
    void anObjectAppliedAtV1beta1IsTheObjectReadAtTheStorageVersion() {
        kubectl(ra("issuer-1"), "apply", "-f", "-");
        GenericKubernetesResource v1 = atV1();
        assertEquals("security.istio.io/v1", v1.getApiVersion());
        assertEquals("issuer-1", issuer(v1));
        // Read back at the version it was written at, it says so.
        assertEquals("security.istio.io/v1beta1", kubectl(null, "get", "requestauthentications.v1beta1.security.istio.io",
                "jwt", "-n", "demo", "-o", "jsonpath={.apiVersion}").trim());

        kubectl(ra("issuer-2"), "apply", "-f", "-");
        assertEquals("issuer-2", issuer(atV1()));
        assertEquals("jwt", kubectl(null, "get", "requestauthentications.v1.security.istio.io", "-n", "demo", "-o",
                "jsonpath={.items[*].metadata.name}").trim());

        kubectl(null, "delete", "requestauthentications.v1beta1.security.istio.io", "jwt", "-n", "demo");
        assertNull(atV1());
    }

    @SuppressWarnings("unchecked")
    private static String issuer(GenericKubernetesResource r) {
        Map<String, Object> spec = (Map<String, Object>) r.getAdditionalProperties().get("spec");
        return (String) ((Map<String, Object>) ((java.util.List<Object>) spec.get("jwtRules")).get(0)).get("issuer");
    }
}
