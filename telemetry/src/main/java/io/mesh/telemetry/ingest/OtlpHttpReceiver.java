package io.mesh.telemetry.ingest;

import com.google.protobuf.Message;
import com.google.rpc.Code;
import io.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * OTLP/HTTP on its own Vert.x server: {@code POST /v1/traces} and {@code /v1/metrics}, binary protobuf or JSON,
 * gzip allowed. The event loop only checks and buffers; decoding and ingestion run on a worker. The in-flight
 * bound is reserved before the body is read (its declared length, or the maximum when chunked), so buffered
 * bodies are bounded too. Errors carry a google.rpc.Status in the request's encoding, as OTLP/HTTP specifies.
 */
public final class OtlpHttpReceiver {

    private static final Logger LOG = Logger.getLogger(OtlpHttpReceiver.class);
    static final String PROTOBUF = "application/x-protobuf";
    static final String JSON = "application/json";
    private static final long DISCARD_CAP_BYTES = 64L << 20;

    private final Vertx vertx;
    private final OtlpIngest ingest;
    private final IngestLimiter limiter;
    private final ReceiverMetrics receiverMetrics;
    private final int maxRequestBytes;
    private final Duration retryAfter;
    private HttpServer server;

    public OtlpHttpReceiver(Vertx vertx, OtlpIngest ingest, IngestLimiter limiter, ReceiverMetrics receiverMetrics,
            int maxRequestBytes, Duration retryAfter) {
        this.vertx = vertx;
        this.ingest = ingest;
        this.limiter = limiter;
        this.receiverMetrics = receiverMetrics;
        this.maxRequestBytes = maxRequestBytes;
        this.retryAfter = retryAfter;
    }

    public synchronized void start(String host, int port) {
        HttpServerOptions options = new HttpServerOptions().setHost(host).setPort(port)
                .setDecompressionSupported(true).setIdleTimeout(120).setIdleTimeoutUnit(TimeUnit.SECONDS);
        try {
            server = vertx.createHttpServer(options).requestHandler(this::handle).listen()
                    .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot listen for OTLP/HTTP on " + host + ":" + port, e);
        }
    }

    public synchronized int port() {
        return server == null ? -1 : server.actualPort();
    }

    public synchronized void stop() {
        if (server != null) {
            try {
                server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.debug("OTLP/HTTP server did not close cleanly", e);
            }
            server = null;
        }
    }

    private void handle(HttpServerRequest request) {
        String signal = switch (request.path()) {
            case "/v1/traces" -> "traces";
            case "/v1/metrics" -> "metrics";
            default -> null;
        };
        if (signal == null) {
            reply(request, false, 404, Code.NOT_FOUND, "OTLP/HTTP serves /v1/traces and /v1/metrics");
            return;
        }
        boolean json = isJson(request.getHeader("Content-Type"));
        if (request.method() != HttpMethod.POST) {
            reply(request, json, 405, Code.INVALID_ARGUMENT, "OTLP/HTTP export requests are POSTs");
            return;
        }
        if (!json && !isProtobuf(request.getHeader("Content-Type"))) {
            receiverMetrics.request("http", signal, "unsupported");
            reply(request, false, 415, Code.INVALID_ARGUMENT,
                    "Content-Type must be " + PROTOBUF + " or " + JSON);
            return;
        }
        long declared = declaredLength(request);
        if (declared > maxRequestBytes) {
            tooLarge(request, json, signal);
            return;
        }
        // Reserve the declared length up front; a gzipped or chunked body is reserved chunk by chunk as its
        // (decompressed) bytes arrive, so a small compressed request does not hold the maximum.
        boolean knownLength = declared >= 0 && request.getHeader("Content-Encoding") == null;
        Reservation reservation = new Reservation(limiter);
        if (!reservation.growTo(knownLength ? declared + 1 : 1)) {
            throttled(request, json, signal);
            return;
        }
        Runnable release = reservation::releaseAll;
        Buffer body = Buffer.buffer((int) Math.min(Math.max(declared, 0), maxRequestBytes));
        AtomicBoolean refused = new AtomicBoolean();
        request.handler(chunk -> {
            if (refused.get()) {
                return;
            }
            long size = body.length() + (long) chunk.length();
            if (size > maxRequestBytes) {
                refused.set(true);
                tooLarge(request, json, signal);
                return;
            }
            if (!reservation.growTo(size + 1)) {
                refused.set(true);
                throttled(request, json, signal);
                discardRest(request);
                return;
            }
            body.appendBuffer(chunk);
        });
        request.exceptionHandler(e -> release.run());
        request.response().closeHandler(v -> release.run());
        request.endHandler(end -> {
            if (refused.get()) {
                release.run();
                return;
            }
            vertx.executeBlocking(() -> process(signal, json, body.getBytes()), false).onComplete(result -> {
                release.run();
                if (result.succeeded()) {
                    receiverMetrics.request("http", signal, "accepted");
                    HttpServerResponse response = request.response().setStatusCode(200)
                            .putHeader("Content-Type", json ? JSON : PROTOBUF);
                    response.end(Buffer.buffer(result.result()));
                } else if (result.cause() instanceof IngestException e) {
                    receiverMetrics.request("http", signal, "malformed");
                    reply(request, json, 400, Code.INVALID_ARGUMENT, e.getMessage());
                } else {
                    LOG.warn("OTLP/HTTP export failed", result.cause());
                    receiverMetrics.request("http", signal, "failed");
                    reply(request, json, 500, Code.INTERNAL, "telemetry failed to ingest the request");
                }
            });
        });
    }

    private byte[] process(String signal, boolean json, byte[] body) {
        Message response = signal.equals("traces")
                ? ingest.traces(decode(body, json, ExportTraceServiceRequest.newBuilder(),
                        ExportTraceServiceRequest.parser()::parseFrom))
                : ingest.metrics(decode(body, json, ExportMetricsServiceRequest.newBuilder(),
                        ExportMetricsServiceRequest.parser()::parseFrom));
        return json ? OtlpJson.print(response).getBytes(java.nio.charset.StandardCharsets.UTF_8)
                : response.toByteArray();
    }

    @FunctionalInterface
    private interface ProtobufParser<T> {
        T parse(byte[] bytes) throws com.google.protobuf.InvalidProtocolBufferException;
    }

    @SuppressWarnings("unchecked")
    private static <T extends Message> T decode(byte[] body, boolean json, Message.Builder builder,
            ProtobufParser<T> parser) {
        if (json) {
            OtlpJson.merge(body, builder);
            return (T) builder.build();
        }
        try {
            return parser.parse(body);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IngestException(IngestException.Reason.MALFORMED, "invalid OTLP protobuf: " + e.getMessage());
        }
    }

    private void throttled(HttpServerRequest request, boolean json, String signal) {
        receiverMetrics.request("http", signal, "throttled");
        request.response().putHeader("Retry-After", Long.toString(Math.max(1, retryAfter.toSeconds())));
        reply(request, json, 429, Code.UNAVAILABLE,
                "telemetry is overloaded; retry after " + retryAfter.toMillis() + " ms");
    }

    /** The bytes one request holds in the limiter; grown as its body arrives, released once. */
    private static final class Reservation {
        private final IngestLimiter limiter;
        private long held;
        private boolean released;

        Reservation(IngestLimiter limiter) {
            this.limiter = limiter;
        }

        /** Holds at least {@code bytes} in total, or returns false (holding what it held before). */
        synchronized boolean growTo(long bytes) {
            if (released) {
                return false;
            }
            if (bytes <= held) {
                return true;
            }
            if (!limiter.tryAcquire(bytes - held)) {
                return false;
            }
            held = bytes;
            return true;
        }

        synchronized void releaseAll() {
            if (!released) {
                released = true;
                limiter.release(held);
            }
        }
    }

    private void tooLarge(HttpServerRequest request, boolean json, String signal) {
        receiverMetrics.request("http", signal, "too_large");
        reply(request, json, 413, Code.RESOURCE_EXHAUSTED,
                "the export request is larger than " + maxRequestBytes + " bytes");
        discardRest(request);
    }

    /**
     * Clients send the whole body before reading the answer; closing now would break their write instead of
     * showing them the status. The rest is read and discarded (never buffered), up to a cap, then the
     * connection is closed.
     */
    private void discardRest(HttpServerRequest request) {
        long cap = Math.max(DISCARD_CAP_BYTES, 4L * maxRequestBytes);
        long[] discarded = {0};
        request.handler(chunk -> {
            discarded[0] += chunk.length();
            if (discarded[0] > cap) {
                request.connection().close();
            }
        });
    }

    private static void reply(HttpServerRequest request, boolean json, int httpStatus, Code code, String message) {
        HttpServerResponse response = request.response();
        if (response.ended()) {
            return;
        }
        com.google.rpc.Status status = com.google.rpc.Status.newBuilder().setCode(code.getNumber())
                .setMessage(message).build();
        response.setStatusCode(httpStatus).putHeader("Content-Type", json ? JSON : PROTOBUF);
        response.end(json ? Buffer.buffer(OtlpJson.print(status)) : Buffer.buffer(status.toByteArray()));
    }

    private static long declaredLength(HttpServerRequest request) {
        String length = request.getHeader("Content-Length");
        if (length == null) {
            return -1;
        }
        try {
            return Long.parseLong(length.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static boolean isJson(String contentType) {
        return contentType != null && mediaType(contentType).equals(JSON);
    }

    private static boolean isProtobuf(String contentType) {
        return contentType != null && mediaType(contentType).equals(PROTOBUF);
    }

    private static String mediaType(String contentType) {
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip().toLowerCase();
    }
}
