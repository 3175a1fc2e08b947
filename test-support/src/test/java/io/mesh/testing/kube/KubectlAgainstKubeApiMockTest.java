package io.mesh.testing.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real kubectl applies manifests to KubeApiMock, and the Fabric8 client reads back what it stored. */
class KubectlAgainstKubeApiMockTest {

    private static KubeApiMock mock;
    private static KubernetesClient client;
    private static Path kubeconfig;
    private static final Path WORK = Path.of("target", "kube-api-mock-test");

    @BeforeAll
    static void start() throws Exception {
        mock = KubeApiMock.start(0, false, false);
        client = mock.client("default");
        kubeconfig = mock.writeKubeconfig(WORK.resolve("kubeconfig"), "default").toAbsolutePath();
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

    private static String kubectl(String... args) {
        return new Kubectl(kubeconfig, WORK).run(args);
    }

    @Test
    void kubectlApplyStoresObjectsThatTheFabric8ClientReadsBack() throws Exception {
        // CRDs first, as on a real cluster.
        kubectl("apply", "-f", "src/test/resources/kubectl-sample/01-crd.yaml");
        kubectl("apply", "-f", "src/test/resources/kubectl-sample");
        kubectl("apply", "--server-side", "-f", "src/test/resources/kubectl-sample");
        kubectl("apply", "--dry-run=server", "-f", "src/test/resources/kubectl-sample");
        kubectl("get", "virtualservices", "-A");

        assertEquals("hello", client.configMaps().inNamespace("demo").withName("app-config").get().getData().get("greeting"));
        GenericKubernetesResource vs = client.genericKubernetesResources("networking.istio.io/v1", "VirtualService")
                .inNamespace("demo").withName("app").get();
        assertNotNull(vs);
        assertEquals("example/app:1.0", client.apps().deployments().inNamespace("demo").withName("app").get()
                .getSpec().getTemplate().getSpec().getContainers().get(0).getImage());
    }
}
