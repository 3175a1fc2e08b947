package io.mesh.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Runs the pre- and post-install checks, locally or against a cluster. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Check that the mesh is installed and healthy: each check prints ✓ or ✗ with a hint.",
        footer = {"", "The local mesh (./mesh up) is checked when its run folder exists; otherwise",
                "  the cluster, whose components are asked for their readiness (and pilot for",
                "  rejected config and proxies out of sync) through the API server's service proxy.",
                "Exit codes: 0 every check passed, 1 a check failed, 2 usage error.",
                "Examples:",
                "  meshctl check",
                "  meshctl check --pre            # before installing: is the cluster reachable?",
                "  meshctl check --mode kubernetes --context staging --output json"})
public class CheckCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    OutputFormat output;

    @Option(names = "--pre", description = "Only the pre-install checks")
    boolean preInstall;

    @Mixin
    MeshTarget target;

    @Override
    public Integer call() throws InterruptedException {
        List<CheckResult> results;
        if (target.local()) {
            results = new LocalChecks(target.runDir()).run();
        } else {
            try (KubernetesClient client = target.kubernetes()) {
                results = new ClusterChecks(client, preInstall).run();
            }
        }
        CheckReport.print(results, output, Terminal.detect(), spec.commandLine().getOut());
        return results.stream().allMatch(CheckResult::ok) ? 0 : 1;
    }
}
