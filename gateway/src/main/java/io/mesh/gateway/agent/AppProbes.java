package io.mesh.gateway.agent;

import io.grpc.netty.NettyChannelBuilder;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.ext.web.RoutingContext;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * Runs the app's probes for the kubelet, as Istio's agent does: {@code httpGet} answers with the app's status (a
 * redirect as 200) and at most 10 KiB of its body; {@code tcpSocket} 200 when it connects; {@code grpc} 200 when the
 * health service says SERVING. A probe that fails to reach the app, or runs past its timeout, answers 500. A path
 * without a prober answers 400 with a message, as Istio's agent does. No connection is kept between probes (as the
 * kubelet), and the certificate of an HTTPS app is not checked (as the kubelet).
 */
final class AppProbes {

    private static final Logger LOG = Logger.getLogger("io.mesh.gateway.agent.probes");
    private static final int MAX_BODY = 10 * 1024;
    private static final Set<String> NOT_FORWARDED = Set.of("host", "connection", "keep-alive", "transfer-encoding",
            "content-length", "upgrade", "te", "trailer", "proxy-connection");

    private final Vertx vertx;
    private final String host;
    private final Map<String, AppProber> probers;
    private final HttpClient http;
    private final HttpClient https;
    private final NetClient tcp;

    AppProbes(Vertx vertx, String host, Map<String, AppProber> probers) {
        this.vertx = vertx;
        this.host = host;
        this.probers = probers;
        this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false));
        this.https = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false).setSsl(true).setTrustAll(true)
                .setVerifyHost(false));
        long longest = probers.values().stream().mapToLong(p -> p.timeout().toMillis()).max().orElse(1000);
        if (probers.values().stream().anyMatch(p -> p.kind() == AppProber.Kind.GRPC)) {
            // Loads grpc-netty now, so the first gRPC probe does not spend its (1 s by default) timeout on class loading.
            NettyChannelBuilder.forAddress(host, 1).usePlaintext().build().shutdownNow();
        }
        this.tcp = vertx.createNetClient(new NetClientOptions().setConnectTimeout((int) Math.min(Integer.MAX_VALUE, longest)));
    }

    void handle(RoutingContext rc) {
        String path = rc.normalizedPath();
        AppProber prober = probers.get(path);
        if (prober == null) {
            rc.response().setStatusCode(400).end("app prober config does not exist for " + path + "\n");
            return;
        }
        Future<Answer> answer = switch (prober.kind()) {
            case HTTP_GET -> httpGet(prober, rc.request());
            case TCP_SOCKET -> tcpSocket(prober);
            case GRPC -> grpc(prober);
        };
        bounded(answer, prober).onComplete(ar -> {
            Answer a = ar.succeeded() ? ar.result() : new Answer(500, null);
            if (ar.failed()) {
                Throwable cause = ar.cause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : ar.cause();
                LOG.warnf("probe %s failed: %s", path, cause.toString());
            }
            if (!rc.response().ended() && !rc.response().closed()) {
                rc.response().setStatusCode(a.status());
                if (a.body() == null) {
                    rc.response().end();
                } else {
                    rc.response().end(a.body());
                }
            }
        });
    }

    private record Answer(int status, Buffer body) {
    }

    /** The probe's whole timeout, whatever part of it (connect, headers, body) the app stalls in. */
    private Future<Answer> bounded(Future<Answer> answer, AppProber prober) {
        Promise<Answer> p = Promise.promise();
        long ms = prober.timeout().toMillis();
        long timer = vertx.setTimer(ms, id -> p.tryFail(new TimeoutException("no answer within " + ms + " ms")));
        answer.onComplete(ar -> {
            vertx.cancelTimer(timer);
            if (ar.succeeded()) {
                p.tryComplete(ar.result());
            } else {
                p.tryFail(ar.cause());
            }
        });
        return p.future();
    }

    private Future<Answer> httpGet(AppProber prober, HttpServerRequest incoming) {
        RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(host).setPort(prober.port())
                .setURI(prober.path()).setConnectTimeout(prober.timeout().toMillis());
        // The kubelet's headers go on (User-Agent, Accept, ...), then the probe's own, as Istio's agent does.
        incoming.headers().forEach(h -> {
            if (!NOT_FORWARDED.contains(h.getKey().toLowerCase())) {
                options.addHeader(h.getKey(), h.getValue());
            }
        });
        // The kubelet addressed the sidecar's port; the app sees its own.
        String authority = incoming.authority() == null ? host : incoming.authority().host();
        options.putHeader(HttpHeaders.HOST, (authority.contains(":") ? "[" + authority + "]" : authority) + ":" + prober.port());
        for (Map.Entry<String, String> h : prober.headers()) {
            options.putHeader(h.getKey(), h.getValue());
        }
        HttpClient client = prober.https() ? https : http;
        return client.request(options).compose(req -> {
            // A probe answer stalled past the timeout must not hold the connection.
            vertx.setTimer(prober.timeout().toMillis() + 1, id -> req.reset());
            return req.send();
        }).compose(resp -> {
            if (resp.statusCode() >= 300 && resp.statusCode() < 400) {
                resp.end();
                return Future.succeededFuture(new Answer(200, null));
            }
            Promise<Answer> p = Promise.promise();
            Buffer body = Buffer.buffer();
            resp.handler(chunk -> {
                int room = MAX_BODY - body.length();
                if (room > 0) {
                    body.appendBuffer(chunk.length() <= room ? chunk : chunk.getBuffer(0, room));
                }
            });
            resp.exceptionHandler(p::tryFail);
            resp.endHandler(v -> p.tryComplete(new Answer(resp.statusCode(), body)));
            return p.future();
        });
    }

    private Future<Answer> tcpSocket(AppProber prober) {
        // A connection made after the timeout answered is closed all the same.
        return tcp.connect(prober.port(), host).map(socket -> {
            socket.close();
            return new Answer(200, null);
        });
    }

    private Future<Answer> grpc(AppProber prober) {
        Promise<Answer> p = Promise.promise();
        var context = vertx.getOrCreateContext();
        GrpcHealthCheck.check(host, prober.port(), prober.grpcService(), prober.timeout()).whenComplete((status, e) ->
                context.runOnContext(v -> {
                    if (e != null) {
                        p.fail(e);
                    } else {
                        p.complete(new Answer(status == GrpcHealthCheck.SERVING ? 200 : 500, null));
                    }
                }));
        return p.future();
    }
}
