package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The meshed apps with their live traffic, as {@code linkerd viz stat} shows them: for each service that
 * receives requests, the rate, success rate and latency over telemetry's sliding window ({@code /api/graph}).
 */
@Command(name = "apps", aliases = "stat", mixinStandardHelpOptions = true,
        description = "List the services receiving traffic in the mesh with rps, success rate and p50/p99 latency.",
        footer = {"", "Figures are over telemetry's sliding window (60 s), from what the proxies report.",
                "telemetry is found in the local mesh's run folder, or given with --telemetry.",
                "Exit codes: 0 ok, 1 telemetry cannot be reached, 2 usage error.",
                "Examples:",
                "  meshctl apps",
                "  meshctl stat -o json"})
public class AppsCommand implements Callable<Integer> {

    /** One row: a service and what its callers saw over the window. */
    record App(String name, double rps, double successRate, double p50Ms, double p99Ms, long requests) {
    }

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    OutputFormat output;

    @Option(names = "--telemetry", description = "telemetry's monitoring URL, e.g. http://127.0.0.1:15014")
    URI telemetry;

    @Option(names = "--run-dir", description = "The local runner's run folder (default: $MESH_RUN_DIR, else .mesh/run)")
    Path runDir;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        Path run = RunFolder.resolve(runDir);
        Optional<URI> base = telemetry != null ? Optional.of(telemetry) : RunFolder.endpoint(run, "telemetry");
        if (base.isEmpty()) {
            err.println("cannot find telemetry: no local mesh in " + run + "; start one with ./mesh up, or pass --telemetry URL");
            return 1;
        }
        List<App> apps;
        try {
            apps = apps(MonitoringApi.getJson("telemetry", base.get(), "/api/graph"));
        } catch (MonitoringApi.Unreachable e) {
            err.println(e.getMessage());
            return 1;
        }
        Printer.print(apps, output, spec.commandLine().getOut(), out -> table(apps, out));
        return 0;
    }

    /** Each service node with the traffic of every edge into it; latencies are the busiest edge's. */
    static List<App> apps(JsonNode graph) {
        List<App> apps = new ArrayList<>();
        for (JsonNode node : graph.path("nodes")) {
            if (!"service".equals(node.path("kind").asText())) {
                continue;
            }
            String id = node.path("id").asText();
            double rps = 0;
            double errors = 0;
            long requests = 0;
            JsonNode busiest = null;
            for (JsonNode edge : graph.path("edges")) {
                if (!id.equals(edge.path("target").asText())) {
                    continue;
                }
                rps += edge.path("rps").asDouble();
                errors += edge.path("rps").asDouble() * edge.path("errorRate").asDouble();
                requests += edge.path("requests").asLong();
                if (busiest == null || edge.path("rps").asDouble() > busiest.path("rps").asDouble()) {
                    busiest = edge;
                }
            }
            if (busiest == null) {
                continue;
            }
            apps.add(new App(node.path("name").asText(), rps, rps > 0 ? 1 - errors / rps : 1,
                    busiest.path("p50Ms").asDouble(), busiest.path("p99Ms").asDouble(), requests));
        }
        apps.sort((a, b) -> a.name().compareTo(b.name()));
        return apps;
    }

    static void table(List<App> apps, PrintWriter out) {
        int width = "NAME".length();
        for (App app : apps) {
            width = Math.max(width, app.name().length());
        }
        String header = "%-" + width + "s  %9s  %8s  %9s  %9s%n";
        out.printf(header, "NAME", "RPS", "SUCCESS", "P50_MS", "P99_MS");
        for (App app : apps) {
            out.printf("%-" + width + "s  %9.2f  %7.2f%%  %9.1f  %9.1f%n", app.name(), app.rps(), app.successRate() * 100,
                    app.p50Ms(), app.p99Ms());
        }
        if (apps.isEmpty()) {
            out.println("(no traffic in the last window)");
        }
    }
}
