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

/** Validates Istio YAML offline with pilot's own validation; each problem with file:line and field path. */
@Command(name = "analyze", mixinStandardHelpOptions = true,
        description = "Check Istio YAML files offline, as pilot would, and across them (hosts, subsets, gateways, unreachable routes).",
        footer = {"", "Folders are searched for *.yaml and *.yml (target/, node_modules/ and dot folders skipped).",
                "Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage error.",
                "Examples:",
                "  meshctl analyze deploy/",
                "  meshctl analyze virtualservice.yaml destinationrule.yaml -o json"})
public class AnalyzeCommand implements Callable<Integer> {

    private static final Set<String> SKIPPED = Set.of("target", "node_modules");

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    OutputFormat output;

    @Parameters(paramLabel = "PATH", arity = "1..*", description = "YAML files or folders")
    List<Path> paths;

    @Override
    public Integer call() throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path path : paths) {
            if (!Files.exists(path)) {
                throw new CommandLine.ParameterException(spec.commandLine(), path + " does not exist");
            }
            files.addAll(yamlFiles(path));
        }
        List<ConfigAnalyzer.Finding> findings = new ConfigAnalyzer().analyze(files);
        PrintWriter out = spec.commandLine().getOut();
        Printer.print(findings, output, out, table -> {
            for (ConfigAnalyzer.Finding f : findings) {
                table.printf("%s:%d: %s: %s: %s%n", f.file(), f.line(), f.severity(), f.resource(), f.message());
            }
            long errors = findings.stream().filter(ConfigAnalyzer.Finding::error).count();
            table.printf("%d files analyzed: %d errors, %d warnings.%n", files.size(), errors, findings.size() - errors);
        });
        return findings.stream().anyMatch(ConfigAnalyzer.Finding::error) ? 1 : 0;
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
