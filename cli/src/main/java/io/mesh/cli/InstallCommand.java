package io.mesh.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Prints the mesh's manifests for {@code kubectl apply -f -}. */
@Command(name = "install", mixinStandardHelpOptions = true,
        description = "Print the mesh's Kubernetes manifests (istio-system), namespace and CRDs first.",
        footer = {"", "Examples:",
                "  meshctl install | kubectl apply -f -",
                "  meshctl install --set hub=registry.example/mesh --set tag=0.2.0 | kubectl apply -f -",
                "  meshctl install --set trustDomain=example.org > mesh.yaml"})
public class InstallCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a setting: hub, tag, trustDomain or revision. Repeatable.")
    List<String> sets = new ArrayList<>();

    @Option(names = "--manifests", paramLabel = "DIR",
            description = "Render this kustomization folder instead of the one packaged in meshctl.")
    Path manifests;

    @Override
    public Integer call() {
        InstallOverrides overrides;
        try {
            overrides = InstallOverrides.parse(sets);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        ManifestRenderer renderer = new ManifestRenderer(manifests != null
                ? ManifestRenderer.Source.folder(manifests) : ManifestRenderer.Source.classpath());
        spec.commandLine().getOut().print(ManifestRenderer.toYaml(order(renderer.render(overrides))));
        spec.commandLine().getOut().flush();
        return 0;
    }

    List<com.fasterxml.jackson.databind.node.ObjectNode> order(List<com.fasterxml.jackson.databind.node.ObjectNode> objects) {
        return objects;
    }
}
