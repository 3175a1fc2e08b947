package io.mesh.cli;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs the pre- and post-install checks, locally or against a cluster. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Check that the mesh is installed and healthy: each check prints ✓ or ✗ with a hint.",
        footer = {"", "The local mesh (./mesh up) is checked when its run folder exists; otherwise the cluster.",
                "Exit codes: 0 every check passed, 1 a check failed, 2 usage error.",
                "Examples:",
                "  meshctl check",
                "  meshctl check --pre            # before installing: is the cluster reachable?",
                "  meshctl check --mode kubernetes --context staging --output json"})
public class CheckCommand implements Callable<Integer> {

    enum Mode { auto, local, kubernetes }

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    OutputFormat output;

    @Option(names = "--mode", defaultValue = "auto", description = "auto, local or kubernetes (default: ${DEFAULT-VALUE})")
    Mode mode;

    @Option(names = "--run-dir", description = "The local runner's run folder (default: $MESH_RUN_DIR, else .mesh/run)")
    Path runDir;

    @Option(names = "--kubeconfig", description = "The kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    Path kubeconfig;

    @Option(names = "--context", description = "The kubeconfig context (default: the current context)")
    String context;

    @Option(names = "--pre", description = "Only the pre-install checks")
    boolean preInstall;

    @Override
    public Integer call() {
        Path run = RunFolder.resolve(runDir);
        boolean local = mode == Mode.local || (mode == Mode.auto && LocalChecks.present(run));
        List<CheckResult> results;
        if (local) {
            results = new LocalChecks(run).run();
        } else {
            if (kubeconfig != null) {
                System.setProperty(Config.KUBERNETES_KUBECONFIG_FILE, kubeconfig.toString());
            }
            Config config = Config.autoConfigure(context);
            // A CLI answers promptly: no retries with backoff on an unreachable API server.
            config.setRequestRetryBackoffLimit(0);
            config.setConnectionTimeout(5_000);
            config.setRequestTimeout(10_000);
            try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
                results = new ClusterChecks(client, preInstall).run();
            }
        }
        CheckReport.print(results, output, Terminal.detect(), spec.commandLine().getOut());
        return results.stream().allMatch(CheckResult::ok) ? 0 : 1;
    }
}
