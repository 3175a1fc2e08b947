package io.mesh.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Validates Istio YAML with pilot's own validation and checks it across resources; each problem with file:line and
 * field path. Without files, as istioctl analyze: the cluster's Istio resources, Services, Namespaces and Pods.
 */
@Command(name = "analyze", mixinStandardHelpOptions = true,
        description = "Check Istio YAML files offline, as pilot would, and across them (hosts, ports, subsets, gateways, unreachable routes);"
                + " without files, the cluster's Istio resources, Services, Namespaces and Pods.",
        footer = {"", "Folders are searched for *.yaml and *.yml (target/, node_modules/ and dot folders skipped).",
                "Without PATH: every Istio resource (the kinds pilot serves), Service, Namespace and Pod on the",
                "  cluster of the kubeconfig (--kubeconfig, --context), and its pods that should have a sidecar and",
                "  have none (IST0103); -n NAMESPACE reports that namespace's findings only",
                "  (all resources are still read, as references cross namespaces).",
                "Levels are istioctl's: error, warning, info. --output-threshold hides findings below a level,",
                "  --failure-threshold sets the level that makes the exit code 1 (as istioctl's flags).",
                "Exit codes: 0 nothing at or above the failure threshold (default error), 1 such findings or the",
                "  cluster cannot be read, 2 usage error.",
                "Examples:",
                "  meshctl analyze",
                "  meshctl analyze -n shop --context staging",
                "  meshctl analyze deploy/",
                "  meshctl analyze virtualservice.yaml destinationrule.yaml -o json"})
public class AnalyzeCommand implements Callable<Integer> {

    private static final Set<String> SKIPPED = Set.of("target", "node_modules");

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    OutputFormat output;

    @Parameters(paramLabel = "PATH", arity = "0..*", description = "YAML files or folders (none: the cluster's config)")
    List<Path> paths;

    @Option(names = {"-n", "--namespace"}, description = "without PATH: report this namespace's findings only")
    String namespace;

    @Option(names = "--output-threshold", defaultValue = "info", description = "the lowest level shown: error, warning or"
            + " info (default: ${DEFAULT-VALUE})")
    String outputThreshold;

    @Option(names = "--failure-threshold", defaultValue = "error", description = "the lowest level that makes the exit code 1:"
            + " error, warning or info (default: ${DEFAULT-VALUE})")
    String failureThreshold;

    @picocli.CommandLine.Mixin
    MeshTarget target;

    /** istioctl's levels, lowest first. */
    private static final List<String> LEVELS = List.of("info", "warning", "error");

    @Override
    public Integer call() throws IOException {
        level("--output-threshold", outputThreshold);
        level("--failure-threshold", failureThreshold);
        if (paths == null || paths.isEmpty()) {
            return cluster();
        }
        if (namespace != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n goes with analyzing the cluster (no PATH)");
        }
        List<Path> files = new ArrayList<>();
        for (Path path : paths) {
            if (!Files.exists(path)) {
                throw new CommandLine.ParameterException(spec.commandLine(), path + " does not exist");
            }
            files.addAll(yamlFiles(path));
        }
        return print(new ConfigAnalyzer().analyze(files), files.size() + " files analyzed");
    }

    /** istioctl analyze without files: the cluster's config, each finding named by its resource. */
    private int cluster() {
        PrintWriter err = spec.commandLine().getErr();
        if (target.local()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "give YAML files or folders to analyze, or"
                    + " --mode kubernetes to analyze a cluster's config (the local mesh reads its folder of YAML: analyze"
                    + " that folder)");
        }
        List<ConfigAnalyzer.Source> sources;
        List<ConfigAnalyzer.Finding> pods;
        try (MeshTarget.Mesh mesh = target.open()) {
            // Namespaces and pods are read once, for the config's sources and for IST0103.
            List<io.fabric8.kubernetes.api.model.Namespace> namespaces = mesh.client().namespaces().list().getItems();
            List<io.fabric8.kubernetes.api.model.Pod> running = mesh.client().pods().inAnyNamespace().list().getItems();
            sources = ClusterConfig.read(mesh.client(), namespaces, running);
            pods = MissingProxies.find(namespaces, running);
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
            err.println("analyze: cannot read the cluster's config: " + (e.getMessage() == null ? e : e.getMessage()));
            err.flush();
            return 1;
        }
        List<ConfigAnalyzer.Finding> all = new ArrayList<>(new ConfigAnalyzer(true).analyzeSources(sources));
        all.addAll(pods);
        List<ConfigAnalyzer.Finding> findings = all.stream().filter(f -> namespace == null
                || f.resource().contains(" " + namespace + "/") || f.resource().equals("Namespace " + namespace)).toList();
        return print(findings, sources.size() + " resources analyzed" + (namespace == null ? "" : " (findings in namespace "
                + namespace + ")"));
    }

    /** Prints the findings at or above the output threshold; 1 when one is at or above the failure threshold. */
    private int print(List<ConfigAnalyzer.Finding> all, String summary) {
        PrintWriter out = spec.commandLine().getOut();
        List<ConfigAnalyzer.Finding> findings = all.stream().filter(f -> rank(f) >= level("", outputThreshold)).toList();
        Printer.print(findings, output, out, table -> {
            for (ConfigAnalyzer.Finding f : findings) {
                table.printf("%s%s: %s: %s%n", f.file().isEmpty() ? "" : f.file() + ":" + f.line() + ": ", f.severity(),
                        f.resource(), f.message());
            }
            long errors = findings.stream().filter(ConfigAnalyzer.Finding::error).count();
            long infos = findings.stream().filter(f -> "info".equals(f.severity())).count();
            table.printf("%s: %d errors, %d warnings%s.%n", summary, errors, findings.size() - errors - infos,
                    infos == 0 ? "" : ", " + infos + " infos");
        });
        return all.stream().anyMatch(f -> rank(f) >= level("", failureThreshold)) ? 1 : 0;
    }

    private static int rank(ConfigAnalyzer.Finding finding) {
        return LEVELS.indexOf(finding.severity());
    }

    /** A threshold's rank; a usage error naming {@code option} when it is not a level. */
    private int level(String option, String value) {
        int rank = LEVELS.indexOf(value.toLowerCase(java.util.Locale.ROOT));
        if (rank < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), option + " must be error, warning or info, not \""
                    + value + "\"");
        }
        return rank;
    }

    static List<Path> yamlFiles(Path root) throws IOException {
        if (Files.isRegularFile(root)) {
            return List.of(root);
        }
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile)
                    .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
                    .filter(p -> {
                        for (Path part : root.relativize(p)) {
                            String name = part.toString();
                            if (SKIPPED.contains(name) || (name.startsWith(".") && name.length() > 1)) {
                                return false;
                            }
                        }
                        return true;
                    })
                    .sorted().toList();
        }
    }
}
