package io.mesh.gateway.agent;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.Optional;

/**
 * The app's own metrics endpoint, from its {@code prometheus.io/*} annotations that the injector passed on
 * ({@code ISTIO_PROMETHEUS_ANNOTATIONS}). Istio's defaults: path {@code /metrics}, port 80; {@code scrape: "false"}
 * turns merging off.
 */
record ScrapeTarget(int port, String path) {

    static Optional<ScrapeTarget> parse(String json, int monitoringPort) {
        if (json == null || json.isBlank()) {
            return Optional.empty();
        }
        JsonObject o;
        try {
            o = new JsonObject(json);
        } catch (DecodeException | ClassCastException e) {
            throw new IllegalArgumentException("prometheus annotations (ISTIO_PROMETHEUS_ANNOTATIONS) are not a JSON object: "
                    + e.getMessage());
        }
        if ("false".equals(text(o, "scrape"))) {
            return Optional.empty();
        }
        String path = text(o, "path");
        String port = text(o, "port");
        path = path == null || path.isEmpty() ? "/metrics" : path.startsWith("/") ? path : "/" + path;
        int p;
        try {
            p = port == null || port.isEmpty() ? 80 : Integer.parseInt(port);
        } catch (NumberFormatException e) {
            p = -1;
        }
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("prometheus annotations: port must be a number 1-65535, got '" + port + "'");
        }
        if (p == monitoringPort) {
            throw new IllegalArgumentException("prometheus annotations: the app's port " + p + " is the proxy's monitoring port; "
                    + "merging would scrape itself (was the pod injected twice, or annotated prometheus.io/port=" + p + "?)");
        }
        return Optional.of(new ScrapeTarget(p, path));
    }

    private static String text(JsonObject o, String key) {
        Object v = o.getValue(key);
        return v == null ? null : v.toString();
    }
}
