package io.mesh.cli;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * {@code meshctl proxy-config PROXY log [--level L]}: istioctl proxy-config log against the gateway's admin
 * {@code /logging} (Envoy's): without a level it lists the loggers; {@code --level debug} sets every logger,
 * {@code --level router:debug,config:warning} some. The gateway checks the names and levels.
 */
final class ProxyLogging {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    private ProxyLogging() {
    }

    /** The gateway's logger listing after applying {@code level} (null: none), from its admin at {@code base}. */
    static String apply(URI base, String level) throws MonitoringApi.Unreachable, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/logging" + query(level)))
                .timeout(Duration.ofSeconds(10));
        if (level != null) {
            request.POST(HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<String> response;
        try {
            response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new MonitoringApi.Unreachable("cannot reach the gateway's admin at " + base + ": "
                    + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()));
        }
        if (response.statusCode() != 200) {
            throw new MonitoringApi.Unreachable("the gateway's admin refused --level " + level + ": "
                    + MonitoringApi.abbreviate(response.body().strip()));
        }
        return response.body();
    }

    /** {@code level=L} for one level for all, {@code paths=NAME:L,...} for a component list. */
    static String query(String level) {
        if (level == null) {
            return "";
        }
        String value = URLEncoder.encode(level.strip(), StandardCharsets.UTF_8);
        return level.contains(":") ? "?paths=" + value : "?level=" + value;
    }
}
