package io.mesh.gateway.admin;

import io.mesh.gateway.proxy.DataPlane;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;

/**
 * Istio's health port: {@code /healthz/ready} is 200 once the first complete config is applied, the first
 * workload certificate is loaded (with a CA configured) and the gateway is not draining, 503 otherwise. Quarkus's {@code /q/health/ready} on the monitoring port stays
 * about the process, so a gateway waiting for pilot is live and not restarted.
 */
public final class StatusServer {

    private final Vertx vertx;
    private final DataPlane plane;
    private final java.util.function.BooleanSupplier identityReady;
    private HttpServer server;

    public StatusServer(Vertx vertx, DataPlane plane) {
        this(vertx, plane, () -> true);
    }

    /** {@code identityReady}: false until the proxy's first workload certificate is loaded (when it has a CA). */
    public StatusServer(Vertx vertx, DataPlane plane, java.util.function.BooleanSupplier identityReady) {
        this.vertx = vertx;
        this.plane = plane;
        this.identityReady = identityReady;
    }

    public Future<Void> start(int port) {
        server = vertx.createHttpServer().requestHandler(req -> {
            if (req.path().equals("/healthz/ready")) {
                boolean config = plane.ready() && !plane.draining();
                boolean cert = identityReady.getAsBoolean();
                req.response().setStatusCode(config && cert ? 200 : 503).end(config && cert ? "ready\n"
                        : !cert ? "workload certificate not yet issued\n"
                        : plane.draining() ? "draining\n" : "config not yet received\n");
            } else {
                req.response().setStatusCode(404).end();
            }
        });
        return server.listen(port).mapEmpty();
    }

    public int port() {
        return server == null ? -1 : server.actualPort();
    }

    public Future<Void> close() {
        return server == null ? Future.succeededFuture() : server.close();
    }
}
