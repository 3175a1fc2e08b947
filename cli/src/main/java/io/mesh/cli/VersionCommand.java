package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** istioctl version: this CLI's version, pilot's (its /version), and the connected proxies' by version (/debug/syncz). */
@Command(name = "version", mixinStandardHelpOptions = true,
        description = "Show the version of meshctl, of the control plane (pilot) and of the connected proxies.",
        footer = {"", "pilot is found in the local mesh's run folder, given with --pilot, or on a cluster",
                "  through the API server's service proxy. --client shows meshctl's version alone.",
                "Exit codes: 0 ok, 1 pilot cannot be reached, 2 usage error.",
                "Examples:",
                "  meshctl version",
                "  meshctl version --client",
                "  meshctl version --mode kubernetes --context prod"})
public class VersionCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--client", description = "meshctl's version only, without asking pilot")
    boolean client;

    @Option(names = "--pilot", description = "pilot's monitoring URL, e.g. http://127.0.0.1:15014")
    URI pilot;

    @Mixin
    MeshTarget target;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        out.println("client version: " + VersionProvider.version());
        out.flush();
        if (client) {
            return 0;
        }
        try (MeshTarget.Mesh mesh = target.open()) {
            MonitoringApi api = mesh.component(MeshTarget.Component.PILOT, pilot);
            JsonNode version = api.getObject("/version", "version", "pilot's version");
            JsonNode proxies = api.getArray("/debug/syncz", "a list of proxies");
            out.println("control plane version: " + version.path("version").asText());
            out.println("data plane version: " + dataPlane(proxies));
            out.flush();
            return 0;
        } catch (MonitoringApi.Unreachable e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println(e.getMessage());
            err.flush();
            return 1;
        }
    }

    /** "V (N proxies)" per version, sorted; "unknown" for proxies that send none; "none" without proxies. */
    static String dataPlane(JsonNode proxies) {
        Map<String, Integer> byVersion = new TreeMap<>();
        for (JsonNode proxy : proxies) {
            String v = proxy.path("version").asText("");
            byVersion.merge(v.isEmpty() ? "unknown" : v, 1, Integer::sum);
        }
        if (byVersion.isEmpty()) {
            return "none (no proxy is connected)";
        }
        List<String> parts = new ArrayList<>();
        byVersion.forEach((v, n) -> parts.add(v + " (" + n + (n == 1 ? " proxy)" : " proxies)")));
        return String.join(", ", parts);
    }
}
