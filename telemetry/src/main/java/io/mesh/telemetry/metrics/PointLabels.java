package io.mesh.telemetry.metrics;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The label set one data point is served with, as the proxy that sent it exposes it under a Telemetry's metric
 * overrides: Istio's standard labels of the family (a value from the point, else the resource, else {@code unknown}),
 * less those the proxy removed, then the point's other attributes as extra labels in name order (where istio_stats puts
 * upserted tags). It owns the bounds on extra labels, since their names and values come from senders (and, through a
 * Telemetry's expressions, from request headers): a name must be a valid Prometheus label name, not reserved
 * ({@code __*}) nor {@code le}, nor one of Istio's standard names (a standard label the family lacks is not added, as
 * in istio_stats), and its value not empty (Prometheus reads an empty label as none), else the attribute is not a
 * label, as any attribute was before; each family admits at most
 * {@code maxExtraNames} distinct extra names, first come, for good (series are never removed); a name and a value
 * are at most {@code maxValueLength} characters. A point over a bound is refused whole (the caller counts it), never served with a
 * label set the sender did not send.
 *
 * <p>Removed or not sent: OTLP has no "removed" marker, and the contract lets a sender leave a label out to mean
 * {@code unknown}. The mesh's proxies (instrumentation scope {@link #PROXY_SCOPE}) send every standard label of a
 * family on every point ({@code unknown} or empty when they have no value), so from them an absent label was removed by
 * a Telemetry; from any other sender it reads {@code unknown}, as before.
 *
 * <p>Thread-safety: the admitted names of each family are a set guarded by the family map's monitor.
 */
public final class PointLabels {

    /** The instrumentation scope of the mesh's proxies' OTLP metrics (the gateway's {@code OtlpReporter}). */
    public static final String PROXY_SCOPE = "io.mesh.gateway";

    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Set<String> STANDARD = standardNames();

    /**
     * A point's labels: {@code names} and {@code values} as served; {@code standard} the family's standard values in
     * {@link IstioMetric#labels()} order ({@code unknown} for a removed one), which the service graph reads; or a
     * refusal ({@code refusal} not null, the rest empty).
     */
    public record Resolved(List<String> names, List<String> values, List<String> standard, String refusal) {
        static Resolved refused(String why) {
            return new Resolved(List.of(), List.of(), List.of(), why);
        }
    }

    private final int maxExtraNames;
    private final int maxValueLength;
    private final Map<IstioMetric, Map<String, String>> admitted = new EnumMap<>(IstioMetric.class);

    public PointLabels(int maxExtraNames, int maxValueLength) {
        this.maxExtraNames = maxExtraNames;
        this.maxValueLength = maxValueLength;
    }

    /**
     * {@code point} and {@code resource}: the attributes as strings; {@code fromProxy}: the point came under
     * {@link #PROXY_SCOPE}, so an absent standard label was removed.
     */
    public Resolved resolve(IstioMetric istio, Map<String, String> point, Map<String, String> resource,
            boolean fromProxy) {
        List<String> labels = istio.labels();
        List<String> standard = new ArrayList<>(labels.size());
        List<String> names = null;   // null while the served names are exactly the family's standard ones
        List<String> values = new ArrayList<>(labels.size());
        for (String label : labels) {
            String value = point.get(label);
            if (value == null || value.isEmpty()) {
                value = resource.get(label);
            }
            boolean removed = fromProxy && !point.containsKey(label) && !resource.containsKey(label);
            value = value == null || value.isEmpty() ? Labels.UNKNOWN : value;
            standard.add(value);
            if (removed) {
                if (names == null) {
                    names = new ArrayList<>(labels.subList(0, standard.size() - 1));
                }
            } else {
                values.add(value);
                if (names != null) {
                    names.add(label);
                }
            }
        }
        List<String> extra = new ArrayList<>();
        for (Map.Entry<String, String> attribute : point.entrySet()) {   // a sorted map: extras in name order
            String name = attribute.getKey();
            // An empty value is no label in Prometheus: served, it would collide with the series without the label.
            if (STANDARD.contains(name) || attribute.getValue().isEmpty() || !isLabelName(name)) {
                continue;
            }
            if (name.length() > maxValueLength || attribute.getValue().length() > maxValueLength) {
                return Resolved.refused(istio.otlpName() + " attribute " + name.substring(0,
                        Math.min(name.length(), 64)) + " has a name or value longer than " + maxValueLength
                        + " characters");
            }
            extra.add(name);
        }
        if (!extra.isEmpty()) {
            List<String> admittedNames = admit(istio, extra);
            if (admittedNames == null) {
                return Resolved.refused(istio.otlpName() + " has more than " + maxExtraNames
                        + " label names besides Istio's");
            }
            if (names == null) {
                names = new ArrayList<>(labels);
            }
            for (int i = 0; i < extra.size(); i++) {
                names.add(admittedNames.get(i));
                values.add(point.get(extra.get(i)));
            }
        }
        return new Resolved(names == null ? labels : List.copyOf(names), List.copyOf(values), List.copyOf(standard),
                null);
    }

    /**
     * The family's admitted instances of the names in {@code extra} (so that every series shares one copy of a name),
     * admitting new ones; null when that would pass {@code maxExtraNames}.
     */
    private List<String> admit(IstioMetric istio, List<String> extra) {
        synchronized (admitted) {
            Map<String, String> names = admitted.computeIfAbsent(istio, m -> new HashMap<>());
            int missing = 0;
            for (String name : extra) {
                if (!names.containsKey(name)) {
                    missing++;
                }
            }
            if (names.size() + missing > maxExtraNames) {
                return null;
            }
            List<String> canonical = new ArrayList<>(extra.size());
            for (String name : extra) {
                canonical.add(names.computeIfAbsent(name, n -> n));
            }
            return canonical;
        }
    }

    /** A Prometheus label name that a sender may use: valid, not reserved ({@code __*}), not the histograms' {@code le}. */
    static boolean isLabelName(String name) {
        return LABEL_NAME.matcher(name).matches() && !name.startsWith("__") && !name.equals("le");
    }

    private static Set<String> standardNames() {
        Set<String> all = new HashSet<>(Labels.HTTP);
        all.addAll(Labels.TCP);
        return Set.copyOf(all);
    }
}
