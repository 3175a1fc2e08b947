package io.mesh.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import picocli.CommandLine.Command;

/** meshctl: one CLI to install, check, inspect and analyze the mesh, locally and on a cluster. */
@TopCommand
@Command(name = "meshctl", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Install, check, inspect and analyze the mesh, locally (./mesh up) or on a cluster.",
        subcommands = {InstallCommand.class, UninstallCommand.class, CheckCommand.class, ProxyStatusCommand.class,
                ProxyConfigCommand.class,
                AnalyzeCommand.class, AppsCommand.class, KubeInjectCommand.class,
                VersionCommand.class, CompletionCommand.class, DescribeCommand.Experimental.class},
        footer = {"", "Exit codes: 0 ok, 1 a problem was found, 2 usage error.",
                "Examples:",
                "  meshctl install | kubectl apply -f -",
                "  meshctl check",
                "  meshctl check --output json",
                "  meshctl proxy-status",
                "  meshctl proxy-config istio-ingressgateway routes",
                "  meshctl apps -w",
                "  meshctl x describe pod reviews-v1-7d9f8.bookinfo",
                "  meshctl kube-inject -f app.yaml | kubectl apply -f -"})
public class MeshCtl {
}
