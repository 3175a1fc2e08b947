package io.mesh.gateway.it;

import io.mesh.testing.FreePorts;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test origin (HTTP/1.1 and h2c) that answers with its name. Paths: {@code /flaky} fails every other
 * request with 503 ({@code /flaky-echo} too, and echoes the request body when it does not), {@code /fail} always 500, {@code /slow?ms=N} answers late, {@code /stream?kb=N} streams N KiB
 * chunked (with backpressure), {@code /count} counts the streamed request body without keeping it, {@code /digest} answers its length and SHA-256, {@code /headers} echoes request headers, {@code /ws} is a
 * WebSocket echo; anything else answers 200 with the name.
 */
final class Backend implements AutoCloseable {

    final String name;
    final int port;
    final AtomicInteger hits = new AtomicInteger();
    final AtomicInteger flaky = new AtomicInteger();
    final AtomicLong lastAuthority = new AtomicLong();
    volatile String lastHost;
    volatile String lastPath;
    /** When not 0, every request is answered with this status. */
    volatile int forceStatus;
    /** Bytes of request bodies read so far on {@code /count}. */
    final AtomicLong counted = new AtomicLong();
    /** On {@code /digest} (which answers it too): the last request body's length and SHA-256, "length hex". */
    volatile String lastDigest;
    /** On {@code /digest}: how the last body was framed, "content-length N" or "transfer-encoding chunked". */
    volatile String lastFraming;
    /** Connections accepted so far (keep-alive reuse shows as few). */
    final AtomicInteger connections = new AtomicInteger();
    private final HttpServer server;

    Backend(Vertx vertx, String name) throws Exception {
        this(vertx, name, FreePorts.next());
    }

    /** On 127.0.0.1 at {@code port} (a sidecar's app sits where its inbound cluster points). */
    Backend(Vertx vertx, String name, int port) throws Exception {
        this.name = name;
        this.port = port;
        server = vertx.createHttpServer(new HttpServerOptions().setPort(port).setHost("127.0.0.1"))
                .webSocketHandler(ws -> {
                    if (!ws.path().equals("/ws")) {
                        ws.reject();
                        return;
                    }
                    ws.textMessageHandler(ws::writeTextMessage);
                    ws.binaryMessageHandler(ws::writeBinaryMessage);
                })
                .connectionHandler(c -> connections.incrementAndGet())
                .requestHandler(this::handle);
        server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private void handle(HttpServerRequest req) {
        hits.incrementAndGet();
        if (req.path().equals("/ws") && "websocket".equalsIgnoreCase(req.getHeader("upgrade"))) {
            // Vert.x may hand an upgrade to the request handler; accept it here the same way.
            req.toWebSocket().onSuccess(ws -> {
                ws.textMessageHandler(ws::writeTextMessage);
                ws.binaryMessageHandler(ws::writeBinaryMessage);
            });
            return;
        }
        lastHost = req.host();
        lastPath = req.uri();
        var resp = req.response().putHeader("x-backend", name);
        if (forceStatus != 0) {
            resp.setStatusCode(forceStatus).end("forced " + name);
            return;
        }
        switch (req.path().startsWith("/headers") ? "/headers" : req.path()) {
            case "/flaky" -> {
                if (flaky.incrementAndGet() % 2 == 1) {
                    resp.setStatusCode(503).end("flaky " + name);
                } else {
                    resp.end(name);
                }
            }
            case "/flaky-echo" -> {
                if (flaky.incrementAndGet() % 2 == 1) {
                    resp.setStatusCode(503).end("flaky " + name);
                } else {
                    req.body().onSuccess(b -> resp.end(b));
                }
            }
            case "/stream" -> {
                // kb KiB of 'x' in 16 KiB chunks, chunked, written as the client takes them.
                long left = Long.parseLong(req.getParam("kb", "1")) * 1024;
                resp.setChunked(true);
                io.vertx.core.buffer.Buffer chunk = io.vertx.core.buffer.Buffer.buffer("x".repeat(16 * 1024));
                streamChunks(resp, chunk, left);
            }
            case "/fail" -> resp.setStatusCode(500).end("fail " + name);
            case "/slow" -> {
                long ms = Long.parseLong(req.getParam("ms", "1000"));
                Vertx.currentContext().owner().setTimer(ms, t -> {
                    if (!resp.closed()) {
                        resp.end(name);
                    }
                });
            }
            case "/count" -> {
                AtomicLong n = new AtomicLong();
                req.handler(b -> {
                    n.addAndGet(b.length());
                    counted.addAndGet(b.length());
                });
                req.endHandler(v -> resp.end(Long.toString(n.get())));
            }
            case "/digest" -> {
                java.security.MessageDigest md = sha256();
                AtomicLong n = new AtomicLong();
                req.handler(b -> {
                    n.addAndGet(b.length());
                    md.update(b.getBytes());
                });
                String cl = req.getHeader("content-length");
                lastFraming = cl != null ? "content-length " + cl : "transfer-encoding " + req.getHeader("transfer-encoding");
                req.endHandler(v -> {
                    lastDigest = n.get() + " " + java.util.HexFormat.of().formatHex(md.digest());
                    resp.end(lastDigest);
                });
            }
            case "/headers" -> {
                StringBuilder sb = new StringBuilder();
                req.headers().forEach(e -> sb.append(e.getKey().toLowerCase()).append(": ").append(e.getValue()).append('\n'));
                resp.end(sb.toString());
            }
            default -> req.body().onComplete(b -> resp.end(name));
        }
    }

    static java.security.MessageDigest sha256() {
        try {
            return java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void streamChunks(io.vertx.core.http.HttpServerResponse resp, io.vertx.core.buffer.Buffer chunk, long left) {
        while (left > 0 && !resp.writeQueueFull()) {
            int n = (int) Math.min(chunk.length(), left);
            resp.write(n == chunk.length() ? chunk : chunk.slice(0, n));
            left -= n;
        }
        if (left <= 0) {
            resp.end();
            return;
        }
        long rest = left;
        resp.drainHandler(v -> streamChunks(resp, chunk, rest));
    }

    @Override
    public void close() {
        server.close();
    }
}
