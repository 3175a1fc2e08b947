package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Reads a JSON document from a component's monitoring port (pilot's /debug/syncz, telemetry's /api/graph). */
final class MonitoringApi {

    /** The component could not be reached or did not answer 200; the message says which and why. */
    static final class Unreachable extends Exception {
        Unreachable(String message) {
            super(message);
        }
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    private MonitoringApi() {
    }

    static JsonNode getJson(String component, URI base, String path) throws Unreachable, InterruptedException {
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new Unreachable(component + " answered " + response.statusCode() + " on " + path + ": " + response.body().strip());
            }
            return new ObjectMapper().readTree(response.body());
        } catch (IOException e) {
            throw new Unreachable("cannot reach " + component + " at " + base + ": " + e.getMessage());
        }
    }
}
