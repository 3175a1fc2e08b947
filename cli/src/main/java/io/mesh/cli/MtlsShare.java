package io.mesh.cli;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The share of each service's requests that came over mutual TLS, from telemetry's Prometheus text
 * ({@code /q/metrics}): the {@code istio_requests_total} series with {@code connection_security_policy="mutual_tls"}
 * over all of them, by {@code destination_service}. The proxy that served a request reports it as
 * {@code reporter="destination"}; those series are used when a service has them, else the callers'
 * ({@code reporter="source"}), so a request seen by both proxies is counted once. The counters are cumulative:
 * the share is since telemetry started.
 */
final class MtlsShare {

    private MtlsShare() {
    }

    /** destination_service → share in [0, 1]; services with no requests are absent. */
    static Map<String, Double> byService(String prometheusText) {
        // service → reporter → {mutual_tls, all}
        Map<String, Map<String, double[]>> counts = new HashMap<>();
        for (String line : prometheusText.split("\n")) {
            if (!line.startsWith("istio_requests_total{")) {
                continue;
            }
            int close = line.lastIndexOf('}');
            if (close < 0) {
                continue;
            }
            Map<String, String> labels = labels(line.substring("istio_requests_total{".length(), close));
            String[] rest = line.substring(close + 1).strip().split("\\s+");
            double value;
            try {
                value = Double.parseDouble(rest[0]);
            } catch (NumberFormatException e) {
                continue;
            }
            String service = labels.getOrDefault("destination_service", "unknown");
            double[] pair = counts.computeIfAbsent(service, s -> new HashMap<>())
                    .computeIfAbsent(labels.getOrDefault("reporter", "unknown"), r -> new double[2]);
            if ("mutual_tls".equals(labels.get("connection_security_policy"))) {
                pair[0] += value;
            }
            pair[1] += value;
        }
        Map<String, Double> shares = new LinkedHashMap<>();
        counts.forEach((service, byReporter) -> {
            double[] pair = byReporter.containsKey("destination") && byReporter.get("destination")[1] > 0
                    ? byReporter.get("destination") : byReporter.getOrDefault("source", null);
            if (pair == null) {
                pair = byReporter.values().iterator().next();
            }
            if (pair[1] > 0) {
                shares.put(service, pair[0] / pair[1]);
            }
        });
        return shares;
    }

    /** The labels of one sample: k="v" pairs, values with Prometheus's \\, \" and \n escapes. */
    static Map<String, String> labels(String text) {
        Map<String, String> labels = new HashMap<>();
        int i = 0;
        while (i < text.length()) {
            int eq = text.indexOf('=', i);
            if (eq < 0 || eq + 1 >= text.length() || text.charAt(eq + 1) != '"') {
                break;
            }
            String key = text.substring(i, eq).strip();
            StringBuilder value = new StringBuilder();
            int j = eq + 2;
            for (; j < text.length() && text.charAt(j) != '"'; j++) {
                char c = text.charAt(j);
                if (c == '\\' && j + 1 < text.length()) {
                    char next = text.charAt(++j);
                    value.append(next == 'n' ? '\n' : next);
                } else {
                    value.append(c);
                }
            }
            labels.put(key, value.toString());
            i = j + 1;
            while (i < text.length() && (text.charAt(i) == ',' || text.charAt(i) == ' ')) {
                i++;
            }
        }
        return labels;
    }
}
