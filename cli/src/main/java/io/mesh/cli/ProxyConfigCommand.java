package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** A proxy's effective config, as pilot generates it for that proxy, in istioctl proxy-config's tables. */
@Command(name = "proxy-config", aliases = "pc", mixinStandardHelpOptions = true,
        description = "Show a proxy's effective routes, clusters, listeners or endpoints, as pilot serves them to it, "
                + "the certificates it holds (secret), or its log levels (log, --level to change them).",
        footer = {"", "PROXY is a node id as meshctl proxy-status shows it, a unique prefix of it, or",
                "  its pod name (the id's third ~ field: gw-7d9f or gw-7d9f.istio-system).",
                "  The istioctl order (meshctl proxy-config routes PROXY) works too.",
                "The config is pilot's /debug/config_dump for that proxy: pilot from the local",
                "  mesh's run folder, from --pilot, or on a cluster through the API server's",
                "  service proxy (service istio-system/istio-pilot:15014).",
                "log lists the gateway's loggers and levels (its admin /logging); --level sets",
                "  them at once: debug for all, or router:debug,config:warning for some.",
                "secret lists the certificates the gateway holds (its own, the mesh roots, the",
                "  SDS credentials) from its admin /certs; like endpoints' live view it needs",
                "  the admin port.",
                "endpoints adds the gateway's live view (OUTLIER CHECK) from its admin /clusters",
                "  (127.0.0.1 only): --admin, else locally $MESH_GATEWAY_ADMIN_PORT or 15000.",
                "--source proxy shows what the gateway accepted (its admin /config_dump) instead:",
                "  after a NACK, the last config it took.",
                "-o json|yaml prints the raw Envoy resources (for endpoints: the rows).",
                "Exit codes: 0 ok, 1 pilot, the proxy or its admin port cannot be reached,",
                "  2 usage error.",
                "Examples:",
                "  meshctl proxy-config istio-ingressgateway routes",
                "  meshctl proxy-config router~127.0.0.1 clusters -o json",
                "  meshctl pc routes istio-ingressgateway --mode kubernetes --context prod",
                "  meshctl pc istio-ingressgateway endpoints --admin http://127.0.0.1:15000",
                "  meshctl pc istio-ingressgateway routes --source proxy",
                "  meshctl pc istio-ingressgateway secret",
                "  meshctl pc istio-ingressgateway log --level router:debug"})
public class ProxyConfigCommand implements Callable<Integer> {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PROXY", description = "The proxy (or the kind, in istioctl's order)")
    String first;

    @Parameters(index = "1", paramLabel = "KIND", description = "routes, clusters, listeners, endpoints, secret or log")
    String second;

    @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    OutputFormat output;

    @Option(names = "--pilot", description = "pilot's monitoring URL, e.g. http://127.0.0.1:15014")
    URI pilot;

    @Option(names = "--admin", description = "the gateway's admin URL for live endpoint health, e.g. http://127.0.0.1:15000")
    URI admin;

    @Option(names = "--level", paramLabel = "LEVEL", description = "with log: every logger's level (trace, debug, info, "
            + "warning, error, critical, off), or NAME:LEVEL,... for some (e.g. router:debug,config:warning)")
    String level;

    enum Source { pilot, proxy }

    @Option(names = "--source", defaultValue = "pilot", description = "pilot: what pilot serves the proxy; proxy: what the "
            + "gateway accepted, from its admin /config_dump (local gateway or --admin) (default: ${DEFAULT-VALUE})")
    Source source;

    @Mixin
    MeshTarget target;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        ProxyConfig.Kind kind;   // null: secret or log
        String wanted;
        if (level != null && !log(first) && !log(second)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--level goes with the kind log");
        }
        if (kind(second) != null || secret(second) || log(second)) {
            kind = kind(second);
            wanted = first;
        } else if (kind(first) != null || secret(first) || log(first)) {
            kind = kind(first);
            wanted = second;
        } else {
            throw new CommandLine.ParameterException(spec.commandLine(), "neither '" + first + "' nor '" + second
                    + "' is a config kind: give one of routes, clusters, listeners, endpoints, secret, log");
        }
        try (MeshTarget.Mesh mesh = target.open()) {
            MonitoringApi api = mesh.component(MeshTarget.Component.PILOT, pilot);
            String id = ProxyNames.resolve(api.getArray("/debug/syncz", "a list of proxies"), wanted);
            JsonNode dump = api.getObject("/debug/config_dump?proxyID=" + URLEncoder.encode(id, StandardCharsets.UTF_8), "proxyID",
                    "a proxy's config dump");
            if (source == Source.proxy) {
                URI base = adminOf(mesh, dump);
                if (base == null) {
                    err.println("--source proxy needs the proxy's admin port, which listens on 127.0.0.1 only: the local "
                            + "gateway's, or --admin URL (e.g. after kubectl port-forward <pod> 15000)");
                    return 1;
                }
                JsonNode accepted = MonitoringApi.direct("the gateway's admin", base)
                        .getObject("/config_dump", "dynamic_resources", "a gateway config dump");
                dump = ProxyConfig.fromAdmin(accepted, id, dump.path("type").asText());
            }
            if (kind == null) {
                URI base = adminOf(mesh, dump);
                String what = log(first) || log(second) ? "log" : "secret";
                if (base == null) {
                    err.println(what + " needs the proxy's admin port, which listens on 127.0.0.1 only: the local gateway's, "
                            + "or --admin URL (e.g. after kubectl port-forward <pod> 15000)");
                    return 1;
                }
                if (what.equals("log")) {
                    PrintWriter out = spec.commandLine().getOut();
                    out.print(ProxyLogging.apply(base, level));
                    out.flush();
                    return 0;
                }
                JsonNode certs = MonitoringApi.direct("the gateway's admin", base).getObject("/certs", "certificates",
                        "the gateway's certificates");
                Printer.print(certs, output, spec.commandLine().getOut(), out -> ProxySecrets.table(certs, Instant.now(), out));
                return 0;
            }
            JsonNode live = kind == ProxyConfig.Kind.endpoints ? live(mesh, dump, err) : null;
            JsonNode shown = dump;
            Printer.print(ProxyConfig.document(kind, shown, live), output, spec.commandLine().getOut(),
                    out -> ProxyConfig.table(kind, shown, live, out));
            return 0;
        } catch (MonitoringApi.Unreachable | ProxyNames.NotFound e) {
            err.println(e.getMessage());
            return 1;
        }
    }

    /** The local gateway's own endpoint states, when the proxy is that gateway and its admin port answers. */
    private JsonNode live(MeshTarget.Mesh mesh, JsonNode dump, PrintWriter err) throws InterruptedException {
        URI base = adminOf(mesh, dump);
        if (base == null) {
            return null;
        }
        try {
            return MonitoringApi.direct("the gateway's admin", base).getJson("/clusters");
        } catch (MonitoringApi.Unreachable e) {
            err.println("no live endpoint health (OUTLIER CHECK is -): " + e.getMessage());
            return null;
        }
    }

    /** --admin, else the local gateway's admin port when the proxy is that gateway, else null. */
    private URI adminOf(MeshTarget.Mesh mesh, JsonNode dump) {
        if (admin != null) {
            return admin;
        }
        if (!mesh.local() || !"ROUTER".equals(dump.path("type").asText())) {
            return null;
        }
        return URI.create("http://127.0.0.1:" + System.getenv().getOrDefault("MESH_GATEWAY_ADMIN_PORT", "15000") + "/");
    }

    /** secret (or secrets): the gateway's certificates, which only it holds ({@link ProxySecrets}). */
    private static boolean secret(String word) {
        return word.equalsIgnoreCase("secret") || word.equalsIgnoreCase("secrets");
    }

    /** log: the gateway's log levels, which only it holds ({@link ProxyLogging}). */
    private static boolean log(String word) {
        return word.equalsIgnoreCase("log");
    }

    private static ProxyConfig.Kind kind(String word) {
        try {
            return ProxyConfig.Kind.valueOf(word.toLowerCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
