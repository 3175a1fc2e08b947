package io.mesh.gateway.agent;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * Fetches the app's metrics, as text 0.0.4: asks for it in {@code Accept}, and converts an OpenMetrics answer. Passes
 * on Prometheus's {@code User-Agent} and scrape timeout, as Istio's agent does. Every fetch is bounded by the shorter
 * of the setting and that timeout, and by a size cap; any failure (refused, timeout, non-200, unknown format) fails
 * the future with a message saying which.
 */
final class AppScraper {

    static final String ACCEPT = "text/plain;version=0.0.4;q=1.0,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1";
    private static final String TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds";

    private final Vertx vertx;
    private final HttpClient client;
    private final String host;
    private final ScrapeTarget target;
    private final Duration timeout;
    private final int maxBytes;

    AppScraper(Vertx vertx, String host, ScrapeTarget target, Duration timeout, int maxBytes) {
        this.vertx = vertx;
        this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setMaxPoolSize(2));
        this.host = host;
        this.target = target;
        this.timeout = timeout;
        this.maxBytes = maxBytes;
    }

    Future<String> scrape(MultiMap scraperHeaders) {
        long timeoutMs = timeout.toMillis();
        String asked = scraperHeaders.get(TIMEOUT_HEADER);
        if (asked != null) {
            try {
                timeoutMs = Math.min(timeoutMs, Math.max(1, (long) (Double.parseDouble(asked) * 1000)));
            } catch (NumberFormatException e) {
                // Istio logs and ignores a malformed header too.
            }
        }
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(host).setPort(target.port())
                .setURI(target.path()).setConnectTimeout(timeoutMs).putHeader("Accept", ACCEPT);
        String userAgent = scraperHeaders.get("User-Agent");
        if (userAgent != null) {
            options.putHeader("User-Agent", userAgent);
        }
        if (asked != null) {
            options.putHeader(TIMEOUT_HEADER, asked);
        }
        String url = "http://" + host + ":" + target.port() + target.path();
        Promise<String> result = Promise.promise();
        long ms = timeoutMs;
        client.request(options).onFailure(e -> result.tryFail(url + ": " + e.getMessage())).onSuccess(req -> {
            long timer = vertx.setTimer(ms, id -> {
                if (result.tryFail(new TimeoutException(url + ": no complete answer within " + ms + " ms"))) {
                    req.reset();
                }
            });
            result.future().onComplete(x -> vertx.cancelTimer(timer));
            req.send().onFailure(e -> result.tryFail(url + ": " + e.getMessage())).onSuccess(resp -> {
                if (resp.statusCode() != 200) {
                    resp.end();
                    result.tryFail(url + ": status " + resp.statusCode());
                    return;
                }
                String type = resp.getHeader("Content-Type");
                Buffer body = Buffer.buffer();
                resp.exceptionHandler(e -> result.tryFail(url + ": " + e.getMessage()));
                resp.handler(chunk -> {
                    if (body.length() + chunk.length() > maxBytes) {
                        if (result.tryFail(url + ": more than " + maxBytes + " bytes")) {
                            req.reset();
                        }
                        return;
                    }
                    body.appendBuffer(chunk);
                });
                resp.endHandler(v -> {
                    try {
                        result.tryComplete(asText(type, body.toString()));
                    } catch (IllegalArgumentException e) {
                        result.tryFail(url + ": " + e.getMessage());
                    }
                });
            });
        });
        return result.future();
    }

    /** Text as is, OpenMetrics converted; anything else (protobuf, HTML) is refused rather than merged. */
    static String asText(String contentType, String body) {
        String media = contentType == null ? "" : contentType.split(";", 2)[0].trim().toLowerCase();
        String text;
        if (media.equals("application/openmetrics-text")) {
            text = Exposition.openMetricsToText(body);
        } else if (media.equals("text/plain") || media.isEmpty()) {
            text = body;
        } else {
            throw new IllegalArgumentException("unsupported metrics content type '" + contentType + "'");
        }
        return text.isEmpty() || text.endsWith("\n") ? text : text + "\n";
    }
}
