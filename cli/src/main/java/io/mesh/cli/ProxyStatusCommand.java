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
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Each proxy connected to pilot, with its SYNCED/STALE/NACKED state per xDS type, from pilot's /debug/syncz; with a
 * PROXY, whether what that gateway accepted is what pilot serves it ({@link ProxySync}).
 */
@Command(name = "proxy-status", aliases = "ps", mixinStandardHelpOptions = true,
        description = "Show every proxy connected to pilot and whether each xDS type is SYNCED, STALE or NACKED.",
        footer = {"", "pilot is found in the local mesh's run folder, given with --pilot (e.g. after",
                "  a port-forward), or on a cluster through the API server's service proxy",
                "  (service istio-system/istio-pilot:15014).",
                "With PROXY (a node id, a unique prefix of it, or its pod name): compares the",
                "  config pilot serves it with what the gateway accepted (its admin /config_dump,",
                "  127.0.0.1 only: the local gateway's, or --admin URL), type by type.",
                "Exit codes: 0 no proxy has NACKed (with PROXY: every type matches), 1 a proxy",
                "  NACKed, the configs differ, or pilot or the admin cannot be reached, 2 usage error.",
                "Examples:",
                "  meshctl proxy-status",
                "  meshctl proxy-status istio-ingressgateway",
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

    @Option(names = "--admin", description = "with PROXY: the gateway's admin URL, e.g. http://127.0.0.1:15000")
    URI admin;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROXY", description = "compare this proxy's config with pilot's")
    String proxy;

    @Mixin
    MeshTarget target;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (proxy != null) {
            return compare(err);
        }
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

    /** istioctl proxy-status PROXY: pilot's config for the proxy against the gateway's accepted one. */
    private int compare(PrintWriter err) throws Exception {
        try (MeshTarget.Mesh mesh = target.open()) {
            MonitoringApi api = mesh.component(MeshTarget.Component.PILOT, pilot);
            String id = ProxyNames.resolve(api.getArray("/debug/syncz", "a list of proxies"), proxy);
            JsonNode served = api.getObject("/debug/config_dump?proxyID=" + java.net.URLEncoder.encode(id,
                    java.nio.charset.StandardCharsets.UTF_8), "proxyID", "a proxy's config dump");
            URI base = ProxyConfigCommand.adminOf(admin, mesh, served);
            if (base == null) {
                err.println("comparing needs the proxy's admin port, which listens on 127.0.0.1 only: the local gateway's,"
                        + " or --admin URL (e.g. after kubectl port-forward <pod> 15000)");
                return 1;
            }
            JsonNode accepted = ProxyConfig.fromAdmin(MonitoringApi.direct("the gateway's admin", base)
                    .getObject("/config_dump", "dynamic_resources", "a gateway config dump"), id, served.path("type").asText());
            ProxySync.Result result = ProxySync.compare(served, accepted);
            PrintWriter out = spec.commandLine().getOut();
            out.println(id);
            result.lines().forEach(out::println);
            out.flush();
            return result.match() ? 0 : 1;
        } catch (MonitoringApi.Unreachable | ProxyNames.NotFound e) {
            err.println(e.getMessage());
            return 1;
        }
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
