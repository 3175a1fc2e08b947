package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.envoyproxy.envoy.type.v3.Percent;
import io.mesh.config.Telemetry;
import io.mesh.pilot.model.AccessLogFormats;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Telemetry resources that apply to a proxy, resolved as istiod resolves them (pilot/pkg/model/telemetry.go), into
 * what its HttpConnectionManagers carry: Envoy's file access logs (or none; each in its provider's format,
 * {@link FileAccessLogs}, with Telemetry's CEL filter, if any, as istiod writes them; {@link TcpAccessLogs} puts the same
 * on the tcp_proxy filters) and {@code tracing.random_sampling}.
 *
 * <p>Which resources apply: the oldest namespace-wide one (no selector) of the root namespace, then the oldest
 * namespace-wide one of the proxy's namespace, then the oldest one there whose selector the proxy's labels match; later
 * ones override earlier ones. Access logging follows istiod's mergeLogs with the mesh's {@code accessLogFile} as the
 * default provider {@code envoy} (an empty file: no default provider), and meshConfig's {@code envoyFileAccessLog}
 * extension providers by name (a name the mesh does not define: no access log, as istiod): a rule names its providers or
 * inherits its
 * parent's, and {@code disabled} turns those off or (explicitly false) on again; when no rule applies to the side,
 * the mesh's {@code accessLogFile} does (istiod's fallback to MeshConfig when the Telemetry API yields nothing). Tracing follows istiod's Tracing: each
 * field a rule sets overrides the parent's, per side (CLIENT: a router, a sidecar's outbound; SERVER: a sidecar's
 * inbound); the sampling defaults to the mesh's {@code traceSampling}; custom tags are {@link TraceCustomTags}'s.
 * Pure: no state.
 */
final class TelemetryPolicy {
    static final String FILE_ACCESS_LOG = "envoy.access_loggers.file";
    /** istiod's name of Envoy's CEL access log filter ({@code celFilter} in telemetry_logging.go). */
    static final String CEL_FILTER = "envoy.access_loggers.extension_filters.cel";

    private TelemetryPolicy() {
    }

    /**
     * What one HCM carries: its access logs (Envoy's file access logs, each with its provider's format and its CEL
     * filter, as istiod writes them; empty: none), the percentage of new traces sampled, and whether spans are reported
     * ({@code disableSpanReporting} unset or false), the spans' custom tags (Envoy's {@code tracing.custom_tags}, by tag
     * name; empty: none).
     */
    record Effective(List<AccessLog> accessLogs, double samplingPercent, boolean reportSpans,
            List<CustomTag> customTags) {

        /**
         * The HCM with its {@code access_log} and {@code tracing}. Tracing is always set, as istiod sets it when tracing
         * is on (client and overall sampling 100%, random sampling the percentage). istiod leaves tracing out when span
         * reporting is disabled; here the HCM keeps it with overall sampling 0%, which Envoy treats the same way (no
         * span), because the mesh's gateway reads an HCM without tracing as "use the local settings".
         */
        HttpConnectionManager apply(HttpConnectionManager hcm) {
            HttpConnectionManager.Builder b = hcm.toBuilder().clearAccessLog().addAllAccessLog(accessLogs);
            b.setTracing(HttpConnectionManager.Tracing.newBuilder()
                    .setClientSampling(Percent.newBuilder().setValue(100))
                    .setRandomSampling(Percent.newBuilder().setValue(samplingPercent))
                    .setOverallSampling(Percent.newBuilder().setValue(reportSpans ? 100 : 0))
                    .addAllCustomTags(customTags));
            return b.build();
        }
    }

    /** The telemetry of a proxy's HCMs on one side: CLIENT (a router, a sidecar's outbound) or SERVER (its inbound). */
    static Effective resolve(ProxyInfo proxy, MeshSnapshot snapshot, Telemetry.Mode side) {
        List<Telemetry> levels = applicable(proxy, snapshot.telemetries());
        MeshSettings mesh = snapshot.mesh();
        return new Effective(accessLogs(levels, mesh, side), sampling(levels, mesh, side), reportsSpans(levels, side),
                TraceCustomTags.resolve(tracing(levels, side)));
    }

    /** Root namespace, namespace, workload: each level's one resource, oldest first (the snapshot's order). */
    static List<Telemetry> applicable(ProxyInfo proxy, List<Telemetry> all) {
        List<Telemetry> out = new ArrayList<>();
        namespaceWide(all, MeshSettings.ROOT_NAMESPACE).ifPresent(out::add);
        if (!proxy.namespace().equals(MeshSettings.ROOT_NAMESPACE)) {
            namespaceWide(all, proxy.namespace()).ifPresent(out::add);
        }
        all.stream().filter(t -> t.namespace().equals(proxy.namespace()) && !namespaceWide(t)
                && PolicyAttachment.attaches(proxy, t.namespace(), t.selector(), t.targetRefs())).findFirst()
                .ifPresent(out::add);
        return out;
    }

    private static java.util.Optional<Telemetry> namespaceWide(List<Telemetry> all, String namespace) {
        return all.stream().filter(t -> t.namespace().equals(namespace) && namespaceWide(t)).findFirst();
    }

    /** No selector and no targetRefs: the resource applies to its whole namespace (the mesh, in the root namespace). */
    private static boolean namespaceWide(Telemetry t) {
        return t.selector().isEmpty() && t.targetRefs().isEmpty();
    }

    /**
     * istiod's mergeLogs: the providers on for this side, each with its filter (that of the most specific rule for the
     * side that names it, istiod's {@code filters[provider]}; a rule that inherits its providers brings none), as their
     * access logs. The default provider is {@code envoy} when the mesh has an access log file.
     */
    private static List<AccessLog> accessLogs(List<Telemetry> levels, MeshSettings mesh, Telemetry.Mode side) {
        List<String> defaults = mesh.accessLogFile().isEmpty() ? List.of() : List.of(Telemetry.ENVOY_ACCESS_LOG);
        List<List<Telemetry.AccessLogging>> logs = levels.stream().map(Telemetry::accessLogging)
                .filter(l -> !l.isEmpty()).toList();
        if (logs.isEmpty()) {
            return meshFallback(mesh);
        }
        // In scope: the providers the most specific level names (in rules for this side), else the default ones.
        List<String> inScope = defaults;
        Map<String, String> filters = new java.util.HashMap<>();
        for (List<Telemetry.AccessLogging> level : logs) {
            Set<String> named = new LinkedHashSet<>();
            for (Telemetry.AccessLogging rule : level) {
                if (rule.match().covers(side)) {
                    named.addAll(rule.providers());
                    rule.providers().forEach(provider -> filters.put(provider, rule.filter()));
                }
            }
            if (!named.isEmpty()) {
                inScope = List.copyOf(named);
            }
        }
        // Provider -> on (true) or disabled (false). istiod keeps a disabled provider as an entry (LoggingConfig.Disabled),
        // so "disabled" is not "nothing configured", which falls back to the mesh's accessLogFile.
        Map<String, Boolean> state = new java.util.TreeMap<>();
        List<String> parent = defaults;
        for (List<Telemetry.AccessLogging> level : logs) {
            for (Telemetry.AccessLogging rule : level) {
                List<String> names = rule.providers().isEmpty() ? parent : rule.providers();
                parent = names;
                for (String provider : names) {
                    if (!inScope.contains(provider) || !rule.match().covers(side)) {
                        continue;
                    }
                    state.put(provider, !Boolean.TRUE.equals(rule.disabled()));
                }
            }
        }
        if (state.isEmpty()) {
            return meshFallback(mesh);   // no rule for this side: istiod's fallback
        }
        List<AccessLog> out = new ArrayList<>();
        state.forEach((provider, on) -> {
            FileAccessLog file = on ? providerLog(provider, mesh) : null;
            if (file != null) {
                out.add(entry(file, filters.get(provider)));
            }
        });
        return out;
    }

    /** istiod's fallback to MeshConfig when the Telemetry API says nothing for the side: the mesh's file, if any. */
    private static List<AccessLog> meshFallback(MeshSettings mesh) {
        return mesh.accessLogFile().isEmpty() ? List.of()
                : List.of(entry(FileAccessLogs.fromMesh(mesh.accessLogFile(), mesh.accessLogFormats()), null));
    }

    /**
     * istiod's telemetryAccessLog for the provider named {@code name}: a meshConfig {@code envoyFileAccessLog} provider's,
     * or the built-in {@code envoy} (written to the mesh's file, else {@code /dev/stdout}, in the mesh's format; so is a
     * provider named envoy without a logFormat); null for a name the mesh does not define (istiod skips it).
     */
    private static FileAccessLog providerLog(String name, MeshSettings mesh) {
        AccessLogFormats.FileProvider p = mesh.accessLogFormats().provider(name);
        boolean builtin = name.equalsIgnoreCase(Telemetry.ENVOY_ACCESS_LOG);
        if (p != null && !(builtin && p.text() == null && p.labels() == null && !p.emptyLogFormat())) {
            return FileAccessLogs.fromProvider(p);
        }
        if (!builtin) {
            return null;
        }
        String path = p != null && !p.path().isEmpty() ? p.path()
                : mesh.accessLogFile().isEmpty() ? MeshSettings.STDOUT : mesh.accessLogFile();
        return FileAccessLogs.fromMesh(path, mesh.accessLogFormats());
    }

    /** An access log entry as istiod writes it, with Telemetry's filter as Envoy's CEL ExtensionFilter (null: none). */
    private static AccessLog entry(FileAccessLog file, String filter) {
        AccessLog.Builder log = AccessLog.newBuilder().setName(FILE_ACCESS_LOG).setTypedConfig(Any.pack(file));
        if (filter != null) {
            log.setFilter(AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder()
                    .setName(CEL_FILTER).setTypedConfig(Any.pack(ExpressionFilter.newBuilder()
                            .setExpression(filter).build()))));
        }
        return log.build();
    }

    private static double sampling(List<Telemetry> levels, MeshSettings mesh, Telemetry.Mode side) {
        double pct = mesh.traceSampling();
        for (Telemetry.Tracing rule : tracing(levels, side)) {
            if (rule.randomSamplingPercentage() != null) {
                pct = rule.randomSamplingPercentage();
            }
        }
        return pct;
    }

    private static boolean reportsSpans(List<Telemetry> levels, Telemetry.Mode side) {
        boolean disabled = false;
        for (Telemetry.Tracing rule : tracing(levels, side)) {
            if (rule.disableSpanReporting() != null) {
                disabled = rule.disableSpanReporting();
            }
        }
        return !disabled;
    }

    /** The tracing rules that apply to this side, least specific first. */
    private static List<Telemetry.Tracing> tracing(List<Telemetry> levels, Telemetry.Mode side) {
        return levels.stream().flatMap(t -> t.tracing().stream()).filter(r -> r.match().covers(side)).toList();
    }
}
