package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URI;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Each proxy connected to pilot, with its SYNCED/STALE/NACKED state per xDS type, from pilot's /debug/syncz. */
@Command(name = "proxy-status", aliases = "ps", mixinStandardHelpOptions = true,
        description = "Show every proxy connected to pilot and whether each xDS type is SYNCED, STALE or NACKED.",
        footer = {"", "pilot is found in the local mesh's run folder, given with --pilot (e.g. after",
                "  a port-forward), or on a cluster through the API server's service proxy",
                "  (service istio-system/istio-pilot:15014).",
                "Exit codes: 0 no proxy has NACKed, 1 a proxy NACKed or pilot cannot be reached, 2 usage error.",
                "Examples:",
                "  meshctl proxy-status",
                "  meshctl proxy-status --pilot http://127.0.0.1:15014 -o json",
                "  meshctl proxy-status --mode kubernetes --context staging"})
public class ProxyStatusCommand implements Callable<Integer> {

    static final List<String> TYPES = List.of("cds", "lds", "eds", "rds", "sds");

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    OutputFormat output;

    @Option(names = "--pilot", description = "pilot's monitoring URL, e.g. http://127.0.0.1:15014")
    URI pilot;

    @Mixin
    MeshTarget target;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        JsonNode proxies;
        try (MeshTarget.Mesh mesh = target.open()) {
            proxies = mesh.component(MeshTarget.Component.PILOT, pilot).getArray("/debug/syncz", "a list of proxies");
        } catch (MonitoringApi.Unreachable e) {
            err.println(e.getMessage());
            return 1;
        }
        Printer.print(proxies, output, spec.commandLine().getOut(), out -> table(proxies, out));
        boolean nacked = false;
        for (JsonNode proxy : proxies) {
            for (JsonNode type : proxy.path("xds")) {
                nacked |= "NACKED".equals(type.path("status").asText());
            }
        }
        return nacked ? 1 : 0;
    }

    static void table(JsonNode proxies, PrintWriter out) {
        int width = "NAME".length();
        for (JsonNode proxy : proxies) {
            width = Math.max(width, proxy.path("proxy").asText().length());
        }
        String row = "%-" + width + "s  %-8s %-9s %-9s %-9s %-9s %-9s %s%n";
        out.printf(row, "NAME", "TYPE", "CDS", "LDS", "EDS", "RDS", "SDS", "PROTOCOL");
        for (JsonNode proxy : proxies) {
            JsonNode xds = proxy.path("xds");
            Object[] cells = new Object[8];
            cells[0] = proxy.path("proxy").asText();
            cells[1] = proxy.path("type").asText();
            for (int i = 0; i < TYPES.size(); i++) {
                cells[2 + i] = xds.has(TYPES.get(i)) ? xds.path(TYPES.get(i)).path("status").asText() : "-";
            }
            cells[7] = proxy.path("protocol").asText();
            out.printf(row, cells);
        }
    }

}
