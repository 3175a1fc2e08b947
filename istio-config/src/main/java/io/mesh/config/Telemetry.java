package io.mesh.config;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Telemetry (telemetry.istio.io): access logging on or off (the built-in {@code envoy} provider or meshConfig's
 * extension providers, by name), the trace sampling rate and Istio's standard metrics
 * (disabled, tags removed or upserted: {@link TelemetryMetrics}), mesh-wide (the root namespace, no selector), per
 * namespace (no selector) or per workload ({@code selector.matchLabels}), the trace's custom tags
 * ({@link TelemetryCustomTag}) and access log filters (a CEL expression, {@link AttributeExpression}'s subset). Only
 * those parts are served; custom metrics and the other fields
 * are accepted with a warning that they have no effect here.
 * Which resources apply to a proxy, and how they combine, is pilot's ({@code TelemetryPolicy}).
 *
 * @param created the resource's creation time (null when unknown): as istiod, the oldest of several at one level wins
 */
public record Telemetry(String namespace, String name, Instant created, Map<String, String> selector,
        List<Tracing> tracing, List<AccessLogging> accessLogging, List<TelemetryMetrics> metrics,
        List<PolicyTargetRef> targetRefs) {
    /** istiod's order (sortConfigByCreationTime): oldest first, one without a creation time first, then name, namespace. */
    public static final java.util.Comparator<Telemetry> ISTIO_ORDER = java.util.Comparator
            .comparing((Telemetry t) -> t.created() == null ? Instant.MIN : t.created())
            .thenComparing(Telemetry::name).thenComparing(Telemetry::namespace);

    public Telemetry {
        selector = Map.copyOf(selector);
        tracing = List.copyOf(tracing);
        accessLogging = List.copyOf(accessLogging);
        metrics = List.copyOf(metrics);
        targetRefs = List.copyOf(targetRefs);
    }

    /** A resource that selects by labels (or the whole namespace), with no targetRefs. */
    public Telemetry(String namespace, String name, Instant created, Map<String, String> selector,
            List<Tracing> tracing, List<AccessLogging> accessLogging, List<TelemetryMetrics> metrics) {
        this(namespace, name, created, selector, tracing, accessLogging, metrics, List.of());
    }

    /** A resource without metrics rules. */
    public Telemetry(String namespace, String name, Instant created, Map<String, String> selector,
            List<Tracing> tracing, List<AccessLogging> accessLogging) {
        this(namespace, name, created, selector, tracing, accessLogging, List.of());
    }

    /** Istio's WorkloadMode: which side of the traffic a rule applies to (a router's and a sidecar's outbound are CLIENT). */
    public enum Mode { CLIENT_AND_SERVER, CLIENT, SERVER;

        /** Whether a rule for this mode applies to traffic of {@code side} (CLIENT or SERVER). */
        public boolean covers(Mode side) {
            return this == CLIENT_AND_SERVER || this == side;
        }
    }

    /**
     * tracing[]: each field set overrides the parent's (root namespace, then namespace, then workload); null: not set.
     * {@code provider}: the one provider named, or null for the default. {@code customTags}: by tag name, or null when
     * not set (a rule that sets them replaces the parent's whole map, as istiod's Tracing does).
     */
    public record Tracing(Mode match, String provider, Double randomSamplingPercentage, Boolean disableSpanReporting,
            Map<String, TelemetryCustomTag> customTags) {

        /** A rule without custom tags. */
        public Tracing(Mode match, String provider, Double randomSamplingPercentage, Boolean disableSpanReporting) {
            this(match, provider, randomSamplingPercentage, disableSpanReporting, null);
        }
    }

    /**
     * accessLogging[]: the providers named (empty: the parent's, else the default), whether they are disabled, and
     * {@code filter.expression} (null: none): a CEL expression over Envoy's attributes that must be true for a request or
     * connection to be logged. It was parsed and checked here ({@link AttributeExpression}); it is kept as written,
     * which is what istiod sends in Envoy's CEL access log filter.
     */
    public record AccessLogging(Mode match, List<String> providers, Boolean disabled, String filter) {
        public AccessLogging {
            providers = List.copyOf(providers);
        }

        /** A rule without a filter. */
        public AccessLogging(Mode match, List<String> providers, Boolean disabled) {
            this(match, providers, disabled, null);
        }
    }

    /** Istio's built-in access log provider: Envoy's file access log to /dev/stdout (MeshConfig's {@code envoy}). */
    public static final String ENVOY_ACCESS_LOG = "envoy";
    /** The tracing provider this mesh has: the proxies' own OTLP exporter (OpenTelemetry). */
    public static final String OTEL_TRACING = "otel";
    /** Provider names tracing accepts (access logging takes any: meshConfig extensionProviders define them). */
    public static final Set<String> TRACING_PROVIDERS = Set.of(OTEL_TRACING, "opentelemetry");

    static Telemetry parse(RawResource raw, Problems p) {
        SpecReader r = new SpecReader(raw.spec(), "spec", p);
        r.allow("selector", "targetRef", "targetRefs", "tracing", "metrics", "accessLogging");
        List<PolicyTargetRef> targetRefs = PolicyTargetRef.parse(r, p);
        Map<String, String> selector = PolicyConfig.selector(r);
        if (r.object("selector") != null && selector.isEmpty()) {
            p.warn(r.at("selector"), "selects no labels: the resource applies to the whole namespace");
        }
        List<SpecReader> tracingRules = r.list("tracing");
        if (tracingRules.size() > 1) {
            p.warn(r.at("tracing"), "multiple tracing is not currently supported (as in Istio): each rule overrides"
                    + " the previous one's fields");
        }
        List<Tracing> tracing = new ArrayList<>();
        for (SpecReader t : tracingRules) {
            tracing.add(tracing(t, p));
        }
        List<AccessLogging> logging = new ArrayList<>();
        for (SpecReader a : r.list("accessLogging")) {
            a.allow("providers", "disabled", "filter", "match");
            // Any name: pilot resolves it against meshConfig extensionProviders (a name it does not define writes no
            // access log, as istiod's), which a resource alone cannot know.
            List<String> providers = providers(a, null, "access logging", p);
            logging.add(new AccessLogging(match(a, p), providers, a.bool("disabled"), accessLogFilter(a, p)));
        }
        List<TelemetryMetrics> metrics = new ArrayList<>();
        for (SpecReader m : r.list("metrics")) {
            metrics.add(TelemetryMetrics.parse(m, p));
        }
        return new Telemetry(raw.namespace(), raw.name(), raw.created(), selector, tracing, logging, metrics, targetRefs);
    }

    /**
     * {@code filter.expression}, checked as Envoy's CEL access log filter would compile it: it must parse (the error names
     * the position), and a value that cannot be a bool (a string, a number) would never log anything, so it is an error.
     * Null when there is no filter.
     */
    private static String accessLogFilter(SpecReader rule, Problems p) {
        SpecReader f = rule.object("filter");
        if (f == null) {
            return null;
        }
        f.allow("expression");
        String expression = f.string("expression");
        if (expression == null || expression.isBlank()) {
            p.error(f.at("expression"), "a filter needs an expression");
            return null;
        }
        try {
            if (!AttributeExpression.parse(expression).mayBeBool()) {
                p.error(f.at("expression"), "must be a boolean expression (e.g. response.code >= 400), got \""
                        + expression + "\"");
                return null;
            }
        } catch (IllegalArgumentException e) {
            p.error(f.at("expression"), e.getMessage());
            return null;
        }
        if (rule.list("providers").isEmpty()) {
            p.warn(f.at("expression"), "applies only with providers named in this rule (as in istiod, a rule that"
                    + " inherits its providers does not bring its filter)");
        }
        return expression;
    }

    private static Tracing tracing(SpecReader t, Problems p) {
        t.allow("match", "providers", "randomSamplingPercentage", "disableSpanReporting", "customTags",
                "useRequestIdForTraceSampling", "enableIstioTags", "disableContextPropagation");
        for (String inert : List.of("useRequestIdForTraceSampling", "enableIstioTags", "disableContextPropagation")) {
            if (t.has(inert)) {
                p.warn(t.at(inert), "has no effect here: only randomSamplingPercentage, disableSpanReporting and"
                        + " customTags are served");
            }
        }
        List<String> providers = providers(t, TRACING_PROVIDERS, "tracing", p);
        if (providers.size() > 1) {
            p.warn(t.at("providers"), "multiple providers is not currently supported (as in Istio): the first is used");
        }
        Double pct = t.number("randomSamplingPercentage");
        if (pct != null && (pct.isNaN() || pct < 0 || pct > 100)) {
            p.error(t.at("randomSamplingPercentage"), "must be in range [0.0, 100.0], got " + pct);
        }
        return new Tracing(match(t, p), providers.isEmpty() ? null : providers.get(0), pct,
                t.bool("disableSpanReporting"), TelemetryCustomTag.parse(t, p));
    }

    private static Mode match(SpecReader rule, Problems p) {
        SpecReader m = rule.object("match");
        if (m == null) {
            return Mode.CLIENT_AND_SERVER;
        }
        m.allow("mode");
        String mode = m.string("mode");
        if (mode == null) {
            return Mode.CLIENT_AND_SERVER;
        }
        try {
            return Mode.valueOf(mode);
        } catch (IllegalArgumentException e) {
            p.error(m.at("mode"), "unknown mode \"" + mode + "\" (use CLIENT_AND_SERVER, CLIENT or SERVER)");
            return Mode.CLIENT_AND_SERVER;
        }
    }

    private static List<String> providers(SpecReader rule, Set<String> known, String what, Problems p) {
        List<String> out = new ArrayList<>();
        List<SpecReader> refs = rule.list("providers");
        for (int i = 0; i < refs.size(); i++) {
            SpecReader ref = refs.get(i);
            ref.allow("name");
            String name = ref.string("name");
            if (name == null || name.isEmpty()) {
                p.error(ref.at("name"), "providers must have a name");
            } else if (known != null && !known.contains(name)) {
                p.error(ref.at("name"), "unknown provider \"" + name + "\": " + what + " here has the provider(s) "
                        + known.stream().sorted().map(k -> "\"" + k + "\"").toList());
            } else {
                out.add(name);
            }
        }
        return out;
    }
}
