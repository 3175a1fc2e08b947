package io.mesh.gateway.admin;

import io.mesh.gateway.proxy.DataPlane;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;

/**
 * Istio's health port: {@code /healthz/ready} is 200 once the first complete config is applied and the
 * gateway is not draining, 503 otherwise. Quarkus's {@code /q/health/ready} on the monitoring port stays
 * about the process, so a gateway waiting for pilot is live and not restarted.
 */
public final class StatusServer {

    private final Vertx vertx;
    private final DataPlane plane;
    private HttpServer server;

    public StatusServer(Vertx vertx, DataPlane plane) {
        this.vertx = vertx;
        this.plane = plane;
    }

    public Future<Void> start(int port) {
        server = vertx.createHttpServer().requestHandler(req -> {
            if (req.path().equals("/healthz/ready")) {
                boolean ok = plane.ready() && !plane.draining();
                req.response().setStatusCode(ok ? 200 : 503).end(ok ? "ready\n" : "config not yet received\n");
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
