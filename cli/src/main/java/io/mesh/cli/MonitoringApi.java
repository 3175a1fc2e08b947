package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reads a component's HTTP endpoints (pilot's /debug/syncz, telemetry's /api/graph, /q/health/ready): directly
 * at a URL (the local mesh, or a port-forward), or through the Kubernetes API server's service proxy
 * ({@code /api/v1/namespaces/<ns>/services/<svc>:<port>/proxy/<path>}), which needs no exec and no port-forward.
 */
final class MonitoringApi {

    /** The component could not be reached or did not answer 200; the message says which and why. */
    static final class Unreachable extends Exception {
        Unreachable(String message) {
            super(message);
        }
    }

    /** One answer: its HTTP status and body. */
    record Response(int status, String body) {
    }

    private interface Transport {
        Response get(String path) throws IOException, InterruptedException;
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String component;
    private final String where;
    private final Transport transport;

    private MonitoringApi(String component, String where, Transport transport) {
        this.component = component;
        this.where = where;
        this.transport = transport;
    }

    /** The component at a base URL, e.g. http://127.0.0.1:15014/. */
    static MonitoringApi direct(String component, URI base) {
        return new MonitoringApi(component, base.toString(), path -> {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(base.resolve(path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return new Response(response.statusCode(), response.body());
        });
    }

    /** The component behind a Service, through the API server's service proxy with the client's credentials. */
    static MonitoringApi serviceProxy(String component, KubernetesClient client, String namespace, String service, int port) {
        String prefix = "api/v1/namespaces/" + namespace + "/services/" + service + ":" + port + "/proxy";
        String master = client.getMasterUrl().toString();
        String base = (master.endsWith("/") ? master : master + "/") + prefix;
        return new MonitoringApi(component, "service " + namespace + "/" + service + ":" + port + " through " + master, path -> {
            io.fabric8.kubernetes.client.http.HttpClient http = client.getHttpClient();
            io.fabric8.kubernetes.client.http.HttpRequest request = http.newHttpRequestBuilder().uri(base + path)
                    .timeout(10, TimeUnit.SECONDS).build();
            try {
                io.fabric8.kubernetes.client.http.HttpResponse<String> response = http.sendAsync(request, String.class)
                        .get(15, TimeUnit.SECONDS);
                return new Response(response.code(), response.body() == null ? "" : response.body());
            } catch (ExecutionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                throw new IOException(cause.getMessage() == null ? cause.toString() : cause.getMessage(), cause);
            } catch (TimeoutException e) {
                throw new IOException("no answer in 15 s", e);
            }
        });
    }

    String component() {
        return component;
    }

    /** Where the component is reached, for messages. */
    String where() {
        return where;
    }

    /** GET path (absolute, starting with "/"), whatever the status. */
    Response get(String path) throws Unreachable, InterruptedException {
        try {
            return transport.get(path);
        } catch (IOException e) {
            String why = e.getMessage() != null ? e.getMessage()
                    : e instanceof java.net.ConnectException ? "connection refused" : e.getClass().getSimpleName();
            throw new Unreachable("cannot reach " + component + " at " + where + ": " + why);
        }
    }

    /** GET path, which must answer 200. */
    String getText(String path) throws Unreachable, InterruptedException {
        Response response = get(path);
        if (response.status() != 200) {
            throw new Unreachable(component + " answered " + response.status() + " on " + path + " (" + where + "): "
                    + abbreviate(response.body().strip()));
        }
        return response.body();
    }

    /** GET path, which must answer 200 with JSON. */
    JsonNode getJson(String path) throws Unreachable, InterruptedException {
        String body = getText(path);
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new Unreachable(component + " answered " + path + " with something that is not JSON (" + where + "): "
                    + abbreviate(body.strip()));
        }
    }

    /** GET path, which must answer 200 with a JSON array (pilot's /debug/syncz). */
    JsonNode getArray(String path, String what) throws Unreachable, InterruptedException {
        JsonNode json = getJson(path);
        if (!json.isArray()) {
            throw notShaped(path, what, json);
        }
        return json;
    }

    /** GET path, which must answer 200 with a JSON object that has {@code field}. */
    JsonNode getObject(String path, String field, String what) throws Unreachable, InterruptedException {
        JsonNode json = getJson(path);
        if (!json.isObject() || !json.has(field)) {
            throw notShaped(path, what, json);
        }
        return json;
    }

    private Unreachable notShaped(String path, String what, JsonNode json) {
        return new Unreachable(component + " answered " + path + " with JSON that is not " + what + " (" + where + "): "
                + abbreviate(json.toString()));
    }

    static String abbreviate(String text) {
        return text.length() > 300 ? text.substring(0, 300) + " ..." : text;
    }
}
