package io.mesh.testing.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    private static String kubectl(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig.toString(),
                "--cache-dir", WORK.resolve("cache").toString()));
        command.addAll(List.of(args));
        File log = WORK.resolve("kubectl.log").toFile();
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log)).start();
        int exit = process.waitFor();
        String output = Files.readString(log.toPath());
        assertEquals(0, exit, "kubectl " + String.join(" ", args) + " failed:\n" + output);
        return output;
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
