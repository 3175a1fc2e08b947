package io.mesh.injector.webhook;

import io.vertx.core.AbstractVerticle;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jboss.logging.Logger;

/**
 * A generic admission webhook server: HTTPS (HTTP/1.1 and h2 by ALPN) on one port, one
 * {@link AdmissionHandler} per path. It owns the transport and the AdmissionReview envelope: 404/405/413 for
 * the wrong request, 400 for a body that is not an AdmissionReview v1, and a denial (never a crash, never a
 * dropped connection) when a handler fails unexpectedly. It knows nothing about pods.
 *
 * <p>Thread-safety: handlers run on this server's event loops, several at once; the certificate may be
 * swapped from any thread while requests are in flight (new handshakes get the new certificate).
 */
public final class AdmissionServer {

    private static final Logger LOG = Logger.getLogger(AdmissionServer.class);

    /** Kubernetes caps a request at 3 MiB; anything larger is not from an API server. */
    static final int MAX_BODY_BYTES = 4 * 1024 * 1024;

    private final Vertx vertx;
    private final Map<String, AdmissionHandler> routes;
    private final AdmissionReviewCodec codec;
    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
    private volatile String deploymentId;

    public AdmissionServer(Vertx vertx, Map<String, AdmissionHandler> routes, AdmissionReviewCodec codec) {
        this.vertx = vertx;
        this.routes = Map.copyOf(routes);
        this.codec = codec;
    }

    /** Listens on host:port (0 picks a free port) with one server per event loop. */
    public Future<Void> start(String host, int port, int eventLoops, KeyCertOptions certificate) {
        HttpServerOptions options = new HttpServerOptions().setHost(host).setPort(port)
                .setSsl(true).setKeyCertOptions(certificate)
                .setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
                .setCompressionSupported(false).setTcpNoDelay(true);
        if (OpenSSLEngineOptions.isAvailable()) {
            options.setSslEngineOptions(new OpenSSLEngineOptions());
        }
        int instances = eventLoops > 0 ? eventLoops : Runtime.getRuntime().availableProcessors();
        if (port == 0 && instances > 1) {
            // Vert.x shares one listening socket between instances only for an explicit port.
            instances = 1;
        }
        return vertx.deployVerticle(() -> new ServerVerticle(options), new DeploymentOptions().setInstances(instances))
                .onSuccess(id -> deploymentId = id)
                .mapEmpty();
    }

    /** Which TLS implementation serves: BoringSSL (netty-tcnative) when it loads, else the JDK's. */
    public static String tlsEngine() {
        return OpenSSLEngineOptions.isAvailable() ? "openssl" : "jdk";
    }

    public int actualPort() {
        return servers.isEmpty() ? -1 : servers.get(0).actualPort();
    }

    /** New TLS handshakes use this certificate; open connections keep theirs. */
    public Future<Void> updateCertificate(KeyCertOptions certificate) {
        SSLOptions ssl = new SSLOptions().setKeyCertOptions(certificate).setUseAlpn(true);
        List<Future<Boolean>> updates = new ArrayList<>();
        for (HttpServer server : servers) {
            updates.add(server.updateSSLOptions(ssl));
        }
        return Future.all(updates).mapEmpty();
    }

    public Future<Void> stop() {
        String id = deploymentId;
        deploymentId = null;
        return id == null ? Future.succeededFuture() : vertx.undeploy(id);
    }

    private final class ServerVerticle extends AbstractVerticle {
        private final HttpServerOptions options;

        ServerVerticle(HttpServerOptions options) {
            this.options = options;
        }

        @Override
        public void start(Promise<Void> started) {
            vertx.createHttpServer(options).requestHandler(AdmissionServer.this::handle).listen()
                    .onSuccess(server -> {
                        servers.add(server);
                        started.complete();
                    })
                    .onFailure(started::fail);
        }
    }

    private void handle(HttpServerRequest req) {
        AdmissionHandler handler = routes.get(req.path());
        if (handler == null) {
            reply(req, 404, "no admission endpoint at " + req.path() + "; endpoints: " + String.join(", ", routes.keySet()));
            return;
        }
        if (req.method() != HttpMethod.POST) {
            req.response().putHeader(HttpHeaders.ALLOW, "POST");
            reply(req, 405, "an AdmissionReview is POSTed, not sent with " + req.method());
            return;
        }
        String length = req.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (length != null && parseLength(length) > MAX_BODY_BYTES) {
            reply(req, 413, "the body is larger than " + MAX_BODY_BYTES + " bytes");
            return;
        }
        req.body().onComplete(body -> {
            if (body.failed()) {
                LOG.debugf("reading an admission request failed: %s", body.cause().toString());
                return;
            }
            if (body.result().length() > MAX_BODY_BYTES) {
                reply(req, 413, "the body is larger than " + MAX_BODY_BYTES + " bytes");
                return;
            }
            review(req, handler, body.result());
        });
    }

    private void review(HttpServerRequest req, AdmissionHandler handler, Buffer body) {
        AdmissionRequest request;
        try {
            request = codec.read(body.getBytes());
        } catch (BadAdmissionReview e) {
            reply(req, 400, e.getMessage());
            return;
        }
        CompletionStage<AdmissionResult> decision;
        try {
            decision = handler.admit(request);
        } catch (RuntimeException e) {
            decision = CompletableFuture.failedFuture(e);
        }
        decision.whenComplete((result, failure) -> {
            if (failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null) {
                failure = failure.getCause();
            }
            if (failure instanceof BadAdmissionReview bad) {
                reply(req, 400, bad.getMessage());
                return;
            }
            if (failure != null) {
                LOG.errorf(failure, "the admission handler for %s failed on request %s", req.path(), request.uid());
                result = AdmissionResult.deny("internal error in the admission webhook: " + failure);
            }
            byte[] response;
            try {
                response = codec.write(request.uid(), result);
            } catch (RuntimeException e) {
                LOG.errorf(e, "writing the admission response for %s failed", request.uid());
                reply(req, 500, "internal error: " + e);
                return;
            }
            req.response().setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                    .end(Buffer.buffer(response));
        });
    }

    private static long parseLength(String value) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void reply(HttpServerRequest req, int status, String message) {
        if (req.response().ended()) {
            return;
        }
        req.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; charset=utf-8")
                .end(message + "\n");
    }
}
