package io.mesh.cli;

import io.mesh.testing.kube.Kubectl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.kube.KubeApiMock;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code meshctl install | kubectl apply -f -} with the real kubectl, then {@code meshctl check}, against the mock API. */
@QuarkusMainTest
class MeshctlAgainstKubernetesTest {

    private final Path work = Path.of("target", "meshctl-kube").toAbsolutePath();
    private KubeApiMock api;
    private Path kubeconfig;

    @BeforeEach
    void startApi() throws Exception {
        api = KubeApiMock.start(0, false, false);
        kubeconfig = api.writeKubeconfig(work.resolve("kubeconfig"), "default");
    }

    @AfterEach
    void stopApi() {
        api.close();
    }

    @Test
    void installOutputAppliesWithKubectlAndCheckThenSeesTheCrds(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult preCheck = launcher.launch("check", "--pre", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        assertEquals(0, preCheck.exitCode(), preCheck.getOutput() + preCheck.getErrorOutput());
        assertTrue(preCheck.getOutput().contains("✓ the cluster is reachable"), preCheck.getOutput());

        LaunchResult install = launcher.launch("install");
        assertEquals(0, install.exitCode(), install.getErrorOutput());
        Path manifests = Files.writeString(work.resolve("install.yaml"), install.getOutput() + "\n");
        kubectl("apply", "-f", manifests.toString());

        LaunchResult check = launcher.launch("check", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        String output = check.getOutput();
        assertTrue(output.contains("✓ the Istio CRDs are installed"), output);
        // The mock API runs no controllers: the Deployments exist but never become ready, so check fails.
        assertTrue(output.contains("✗ istio-pilot is ready"), output);
        assertTrue(output.contains("hint: kubectl -n istio-system describe deployment istio-pilot"), output);
        assertEquals(1, check.exitCode(), output);
    }

    @Test
    void anUnreachableClusterIsReportedWithAHint(QuarkusMainLauncher launcher) throws Exception {
        Path unreachable = Files.writeString(work.resolve("unreachable"), api.kubeconfig("default")
                .replace(api.url(), "http://127.0.0.1:" + io.mesh.testing.FreePorts.next()));
        LaunchResult check = launcher.launch("check", "--mode", "kubernetes", "--kubeconfig", unreachable.toString(), "-o", "json");
        assertEquals(1, check.exitCode());
        assertTrue(check.getOutput().contains("\"check\" : \"the cluster is reachable\""), check.getOutput());
        assertTrue(check.getOutput().contains("\"ok\" : false"), check.getOutput());
    }

    @Test
    void usageErrorsExitWithTwo(QuarkusMainLauncher launcher) {
        assertEquals(2, launcher.launch("install", "--set", "nope=1").exitCode());
        assertEquals(2, launcher.launch("check", "--output", "xml").exitCode());
        assertEquals(2, launcher.launch("no-such-command").exitCode());
    }

    private void kubectl(String... args) {
        new Kubectl(kubeconfig, work).run(args);
    }
}
