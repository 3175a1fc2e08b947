package io.mesh.e2e;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The Kubernetes API answering as a large cluster's does: a reverse proxy on 127.0.0.1 in front of another API server
 * (the mock) that holds every LIST (a GET of a collection, {@code /api/v1/[namespaces/NS/]PLURAL} or
 * {@code /apis/GROUP/VERSION/[namespaces/NS/]PLURAL}, not a watch) for a fixed time before passing it on. Discovery,
 * single objects, writes and watches (HTTP streams and WebSockets, as Fabric8 watches) pass at once, so changes still
 * arrive promptly once a client watches.
 *
 * <p>Why: a control plane lists every Service, EndpointSlice, Pod and Istio resource when it starts, and in a cluster
 * of thousands of objects those lists take seconds; against the bare mock they take milliseconds, which hides
 * whatever a control plane does before its lists are back. Plain HTTP/1.1 only (the clients disable HTTP/2).
 */
final class SlowKubeApi implements AutoCloseable {

    /** Hop-by-hop headers, which a proxy does not pass on. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "transfer-encoding", "upgrade",
            "proxy-connection", "te", "trailer");

    private final Vertx vertx = Vertx.vertx();
    private final HttpClient client;
    private final WebSocketClient webSockets;
    private final HttpServer server;
    private final URI upstream;
    private final long listDelayMillis;

    private SlowKubeApi(URI upstream, Duration listDelay) throws Exception {
        this.upstream = upstream;
        this.listDelayMillis = listDelay.toMillis();
        this.client = vertx.createHttpClient(new HttpClientOptions().setMaxPoolSize(64).setKeepAlive(true));
        this.webSockets = vertx.createWebSocketClient();
        this.server = vertx.createHttpServer(new HttpServerOptions().setWebSocketSubProtocols(List.of(
                "v1.channel.k8s.io", "v2.channel.k8s.io", "v3.channel.k8s.io", "v4.channel.k8s.io")))
                .requestHandler(this::proxy);
        server.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** A proxy to {@code upstream} (http://127.0.0.1:PORT) that holds each LIST for {@code listDelay}. */
    static SlowKubeApi start(String upstream, Duration listDelay) throws Exception {
        return new SlowKubeApi(URI.create(upstream), listDelay);
    }

    /** The proxy's URL, for a kubeconfig: http://127.0.0.1:PORT. */
    String url() {
        return "http://127.0.0.1:" + server.actualPort();
    }

    private void proxy(HttpServerRequest request) {
        request.pause();
        if ("websocket".equalsIgnoreCase(request.getHeader(HttpHeaders.UPGRADE))) {
            relayWebSocket(request);
        } else if (isList(request) && listDelayMillis > 0) {
            vertx.setTimer(listDelayMillis, t -> forward(request));
        } else {
            forward(request);
        }
    }

    /** A GET of a collection that is not a watch: {@code api/v1/[namespaces/NS/]PLURAL}, {@code apis/G/V/...} alike. */
    private static boolean isList(HttpServerRequest request) {
        if (request.method() != HttpMethod.GET || "true".equals(request.getParam("watch"))) {
            return false;
        }
        String[] segments = request.path().replaceAll("^/+|/+$", "").split("/");
        int version = segments[0].equals("api") ? 1 : segments[0].equals("apis") ? 2 : -1;
        // What follows the version: PLURAL[/NAME] or namespaces/NS/PLURAL[/NAME].
        int rest = segments.length - version - 1;
        return version > 0 && (rest == 1 || rest == 3 && segments[version + 1].equals("namespaces"));
    }

    /** A WebSocket watch: connected upstream with the same path, subprotocols and credentials, then relayed. */
    private void relayWebSocket(HttpServerRequest request) {
        WebSocketConnectOptions options = new WebSocketConnectOptions().setHost(upstream.getHost())
                .setPort(upstream.getPort()).setURI(request.uri());
        String protocols = request.getHeader("Sec-WebSocket-Protocol");
        if (protocols != null) {
            options.setSubProtocols(List.of(protocols.split("\\s*,\\s*")));
        }
        String authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (authorization != null) {
            options.addHeader(HttpHeaders.AUTHORIZATION, authorization);
        }
        webSockets.connect(options).onSuccess(up -> request.toWebSocket().onSuccess(down -> {
            up.textMessageHandler(down::writeTextMessage);
            up.binaryMessageHandler(down::writeBinaryMessage);
            down.textMessageHandler(up::writeTextMessage);
            down.binaryMessageHandler(up::writeBinaryMessage);
            up.closeHandler(v -> down.close());
            down.closeHandler(v -> up.close());
        }).onFailure(e -> up.close())).onFailure(e -> request.response().setStatusCode(502).end(e.toString()));
    }

    private void forward(HttpServerRequest request) {
        HttpServerResponse response = request.response();
        RequestOptions options = new RequestOptions().setMethod(request.method()).setHost(upstream.getHost())
                .setPort(upstream.getPort()).setURI(request.uri()).setHeaders(endToEnd(request.headers()));
        client.request(options).compose(upstreamRequest -> {
            if (!request.headers().contains(HttpHeaders.CONTENT_LENGTH) && request.method() != HttpMethod.GET) {
                upstreamRequest.setChunked(true);
            }
            return upstreamRequest.send(request);
        }).onSuccess(answer -> {
            response.setStatusCode(answer.statusCode()).setStatusMessage(answer.statusMessage());
            response.headers().addAll(endToEnd(answer.headers()));
            if (!answer.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
                response.setChunked(true);   // a watch: its events stream through as they come
            }
            answer.pipeTo(response);
        }).onFailure(e -> {
            if (!response.headWritten()) {
                response.setStatusCode(502).end(e.toString());
            } else {
                response.reset();
            }
        });
    }

    private static MultiMap endToEnd(MultiMap headers) {
        MultiMap out = MultiMap.caseInsensitiveMultiMap();
        headers.forEach(h -> {
            if (!HOP_BY_HOP.contains(h.getKey().toLowerCase(java.util.Locale.ROOT))) {
                out.add(h.getKey(), h.getValue());
            }
        });
        return out;
    }

    @Override
    public void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
