package io.mesh.e2e.deploy;

import io.mesh.testing.kube.Kubectl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.mesh.e2e.ProjectLayout;
import io.mesh.testing.kube.KubeApiMock;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A platform team's install, with the real kubectl against the Fabric8 mock API server: the CRDs first (as
 * on a cluster), then {@code kubectl apply -k deploy/kubernetes}, then the canary sample.
 */
class KubectlApplyMeshTest {

    private final Path root = ProjectLayout.root();
    private final Path work = ProjectLayout.workDir("kubectl-apply");
    private KubeApiMock api;
    private KubernetesClient client;
    private Path kubeconfig;

    @BeforeEach
    void startApi() throws Exception {
        api = KubeApiMock.start(0, false, false);
        client = api.client("default");
        kubeconfig = api.writeKubeconfig(work.resolve("kubeconfig"), "default");
    }

    @AfterEach
    void stopApi() {
        client.close();
        api.close();
    }

    @Test
    void kubectlApplyKustomizationInstallsTheMeshIntoIstioSystem() throws Exception {
        kubectl("apply", "-f", root.resolve("deploy/kubernetes/crds").toString());
        kubectl("apply", "-k", root.resolve("deploy/kubernetes").toString());

        String all = kubectl("get", "-n", "istio-system", "all");
        for (String name : List.of("deployment.apps/istio-pilot", "deployment.apps/istio-citadel", "deployment.apps/istio-sidecar-injector",
                "deployment.apps/istio-telemetry", "deployment.apps/istio-ingressgateway", "service/istio-pilot",
                "service/istio-ingressgateway")) {
            assertTrue(all.contains(name), "kubectl get all lacks " + name + ":\n" + all);
        }
        assertEquals("mesh/pilot:0.1.0-SNAPSHOT", client.apps().deployments().inNamespace("istio-system").withName("istio-pilot").get()
                .getSpec().getTemplate().getSpec().getContainers().get(0).getImage());
        assertNotNull(client.admissionRegistration().v1().mutatingWebhookConfigurations().withName("istio-sidecar-injector").get());
        assertEquals("cluster.local", client.configMaps().inNamespace("istio-system").withName("istio").get().getData().get("trustDomain"));

        // Applying again changes nothing and still succeeds, as users re-run installs.
        kubectl("apply", "-k", root.resolve("deploy/kubernetes").toString());
    }

    @Test
    void theCanarySampleAppliesWithItsFiftyFiftyRoute() throws Exception {
        kubectl("apply", "-f", root.resolve("deploy/kubernetes/crds").toString());
        kubectl("apply", "-k", root.resolve("deploy/kubernetes/samples/canary").toString());

        assertEquals("enabled", client.namespaces().withName("canary").get().getMetadata().getLabels().get("istio-injection"));
        GenericKubernetesResource vs = client.genericKubernetesResources("networking.istio.io/v1", "VirtualService")
                .inNamespace("canary").withName("web").get();
        assertNotNull(vs);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> http = (List<Map<String, Object>>) ((Map<String, Object>) vs.getAdditionalProperties().get("spec")).get("http");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> route = (List<Map<String, Object>>) http.get(0).get("route");
        assertEquals(List.of(50, 50), route.stream().map(r -> ((Number) r.get("weight")).intValue()).toList());
        assertNotNull(client.genericKubernetesResources("networking.istio.io/v1", "DestinationRule").inNamespace("canary").withName("web").get());
        assertEquals(2, client.apps().deployments().inNamespace("canary").list().getItems().size());
    }

    private String kubectl(String... args) {
        return new Kubectl(kubeconfig, work).run(args);
    }
}
