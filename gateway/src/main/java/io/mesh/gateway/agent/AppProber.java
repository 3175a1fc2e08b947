package io.mesh.gateway.agent;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One of the app's probes that the injector moved to the sidecar ({@code ISTIO_KUBE_APP_PROBERS}, Istio's format):
 * exactly one of {@code httpGet}, {@code tcpSocket}, {@code grpc}, with Kubernetes's timeout (1 s when unset).
 * Immutable; parsed once at startup, and a bad entry is an error naming it (as Istio's agent refuses to start).
 */
record AppProber(Kind kind, int port, String path, boolean https, List<Map.Entry<String, String>> headers,
        String grpcService, Duration timeout) {

    enum Kind { HTTP_GET, TCP_SOCKET, GRPC }

    /** Istio's paths: the kubelet's rewritten probes point here. */
    static final Pattern PATH = Pattern.compile("^/(app-health|app-lifecycle)/[^/]+/(livez|readyz|startupz|prestopz|poststartz)$");

    /** Parses the whole JSON object; empty or blank means no probers. */
    static Map<String, AppProber> parseAll(String json) {
        if (json == null || json.isBlank()) {
            return Map.of();
        }
        JsonObject all;
        try {
            all = new JsonObject(json);
        } catch (DecodeException | ClassCastException e) {
            throw new IllegalArgumentException("app probers (ISTIO_KUBE_APP_PROBERS) are not a JSON object: " + e.getMessage());
        }
        Map<String, AppProber> probers = new LinkedHashMap<>();
        for (String path : all.fieldNames()) {
            if (!PATH.matcher(path).matches()) {
                throw new IllegalArgumentException("app prober path '" + path + "' must match " + PATH.pattern());
            }
            if (!(all.getValue(path) instanceof JsonObject prober)) {
                throw new IllegalArgumentException("app prober " + path + " is not a JSON object");
            }
            probers.put(path, parse(path, prober));
        }
        return Map.copyOf(probers);
    }

    private static AppProber parse(String path, JsonObject p) {
        int kinds = (p.containsKey("httpGet") ? 1 : 0) + (p.containsKey("tcpSocket") ? 1 : 0) + (p.containsKey("grpc") ? 1 : 0);
        if (kinds != 1) {
            throw new IllegalArgumentException("app prober " + path + " must have exactly one of httpGet, tcpSocket, grpc");
        }
        Object t = p.getValue("timeoutSeconds");
        long seconds = t == null ? 1 : t instanceof Number n && n.longValue() >= 0 ? n.longValue() : -1;
        if (seconds < 0) {
            throw new IllegalArgumentException("app prober " + path + ": timeoutSeconds must be a non-negative number, got " + t);
        }
        Duration timeout = Duration.ofSeconds(seconds == 0 ? 1 : seconds);
        if (p.getValue("httpGet") instanceof JsonObject http) {
            String target = http.getString("path", "/");
            if (!target.startsWith("/")) {
                target = "/" + target;
            }
            String scheme = http.getString("scheme", "HTTP");
            if (!scheme.equalsIgnoreCase("HTTP") && !scheme.equalsIgnoreCase("HTTPS")) {
                throw new IllegalArgumentException("app prober " + path + ": scheme must be HTTP or HTTPS, got " + scheme);
            }
            List<Map.Entry<String, String>> headers = new ArrayList<>();
            if (http.getValue("httpHeaders") instanceof JsonArray list) {
                for (Object h : list) {
                    if (!(h instanceof JsonObject header) || !(header.getValue("name") instanceof String name) || name.isBlank()) {
                        throw new IllegalArgumentException("app prober " + path + ": httpHeaders entries need a name and a value");
                    }
                    headers.add(Map.entry(name, String.valueOf(header.getValue("value", ""))));
                }
            }
            return new AppProber(Kind.HTTP_GET, port(path, http), target, scheme.equalsIgnoreCase("HTTPS"), List.copyOf(headers),
                    null, timeout);
        }
        if (p.getValue("tcpSocket") instanceof JsonObject tcp) {
            return new AppProber(Kind.TCP_SOCKET, port(path, tcp), null, false, List.of(), null, timeout);
        }
        if (p.getValue("grpc") instanceof JsonObject grpc) {
            Object service = grpc.getValue("service");
            return new AppProber(Kind.GRPC, port(path, grpc), null, false, List.of(), service == null ? "" : service.toString(),
                    timeout);
        }
        throw new IllegalArgumentException("app prober " + path + ": httpGet, tcpSocket or grpc must be a JSON object");
    }

    /** A number (the injector resolves named ports); a name here could not be resolved and is an error, as in Istio. */
    private static int port(String path, JsonObject action) {
        Object port = action.getValue("port");
        int value = port instanceof Number n ? n.intValue() : -1;
        if (!(port instanceof Integer || port instanceof Long) || value < 1 || value > 65535) {
            throw new IllegalArgumentException("app prober " + path + ": port must be a number 1-65535, got " + port);
        }
        return value;
    }
}
