package io.mesh.gateway.proxy;

import io.mesh.gateway.route.RetryPolicy;
import io.mesh.gateway.upstream.EndpointState;
import io.mesh.gateway.upstream.Upstream;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.SocketAddress;

/**
 * The upstream side of one exchange: tries, retries with backoff, route and per-try timeouts, and the
 * streaming of both bodies with backpressure. A request body is buffered only when the route may retry and
 * the body is small and of known length; otherwise it streams through once. Every failure ends in exactly
 * one status and flag. Runs on the request's event loop only.
 */
final class UpstreamCall {

    private static final io.vertx.core.Handler<Throwable> IGNORE = e -> { };

    private final ProxyExchange ex;
    private final Upstream upstream;
    private final MultiMap headers;
    private final String uri;
    private final HostAndPort authority;
    private final long hash;
    private final RetryPolicy retry;
    private final boolean http2;
    private Buffer body;
    private boolean streaming;
    private boolean hasBody;
    /** Whether the stateful session's endpoint was asked for (the first try). */
    private boolean sessionTried;
    /** The request's retries so far, from its first failed try that the policy would retry; else null. */
    private RetryState retries;
    boolean holdsRequestSlot;
    /** The route's mirrors (sampled), sent the body as the upstream is (streamed or whole); null when there are none. */
    MirrorTee mirrors;
    private EndpointState endpoint;
    private boolean endpointOpen;
    private HttpClientRequest current;
    private int tryId;
    private long routeTimer = -1;
    private long tryTimer = -1;
    private boolean responding;
    private boolean done;

    UpstreamCall(ProxyExchange ex, Upstream upstream, MultiMap headers, String uri, String authority, long hash) {
        this.ex = ex;
        this.upstream = upstream;
        this.headers = headers;
        this.uri = uri;
        this.authority = HostAndPort.parseAuthority(authority, -1) != null
                ? HostAndPort.parseAuthority(authority, -1) : HostAndPort.authority(authority);
        this.hash = hash;
        this.retry = ex.forward.retry();
        this.http2 = upstream.http2(ex.http2());
    }

    void start() {
        String cl = ex.request.getHeader("content-length");
        long length = -1;
        if (cl != null) {
            try {
                length = Long.parseLong(cl.trim());
            } catch (NumberFormatException e) {
                ex.sendLocal(400, ResponseFlag.DPE, "bad content-length\n");
                return;
            }
        }
        long max = ex.plane.maxBodyBytes();
        if (max > 0 && length > max) {
            ex.sendLocal(413, ResponseFlag.DPE, "payload too large\n");
            return;
        }
        hasBody = ex.mayHaveBody;
        if (mirrors != null) {
            mirrors.open();   // connects now, as the upstream will: its body follows (send or tap)
        }
        long timeout = ex.forward.timeoutMs();
        if (timeout > 0) {
            routeTimer = ex.vertx().setTimer(timeout, t -> onRouteTimeout());
        }
        if (ex.bufferedBody != null) {   // read whole by a filter (ext_authz with_request_body): sent as it is
            body = ex.bufferedBody;
            if (mirrors != null) {
                mirrors.send(body);
            }
            attempt();
        } else if (!hasBody || length == 0) {
            if (mirrors != null) {
                mirrors.send(null);
            }
            attempt();
        } else if (retry.numRetries() > 0 && length > 0 && length <= ex.plane.retryBufferBytes()) {
            ex.request.body().onComplete(ar -> {
                if (ar.failed()) {
                    fail(400, ResponseFlag.DPE, "request body failed\n");
                    return;
                }
                body = ar.result();
                if (mirrors != null) {
                    mirrors.send(body);
                }
                attempt();
            });
            ex.request.resume();   // ProxyExchange paused it; body() alone would wait for ever (until the route timeout)
        } else {
            streaming = true;
            attempt();
        }
    }

    private void attempt() {
        if (done || ex.finished()) {
            return;
        }
        EndpointState ep = pickEndpoint(endpoint);
        if (ep == null) {
            fail(503, ResponseFlag.UH, "no healthy upstream\n");
            return;
        }
        // The endpoint's transport (the cluster's transport_socket or the match its metadata chose).
        var tls = upstream.tls(ep);
        if (tls != null && tls.unavailable()) {
            fail(503, ResponseFlag.UF, "upstream connect error: TLS credentials for the cluster are not available\n");
            return;
        }
        endpoint = ep;
        endpointOpen = true;
        upstream.onRequestStart(ep);
        ex.attempts++;
        ex.upstreamHost = ep.hostPort();
        int id = ++tryId;
        if (retry.perTryTimeoutMs() > 0) {
            tryTimer = ex.vertx().setTimer(retry.perTryTimeoutMs(), t -> onTryTimeout(id));
        }
        if (ex.attempts > 1) {
            headers.set("x-envoy-attempt-count", Integer.toString(ex.attempts));
        }
        RequestOptions o = new RequestOptions().setMethod(ex.request.method()).setURI(uri).setHeaders(headers)
                .setServer(ep.address());
        String sni = tls == null ? null : tls.sniFor(authority.host());
        if (sni != null) {
            // The peer host is what Vert.x sends as SNI (and checks with auto SAN validation); the connection still
            // goes to the endpoint's address.
            o.setHost(sni).setPort(ep.endpoint().port());
        }
        upstream.client(http2, ep).request(o).onComplete(ar -> onRequestReady(id, ar));
    }

    private void onRequestReady(int id, AsyncResult<HttpClientRequest> ar) {
        if (id != tryId || done) {
            if (ar.succeeded()) {
                ar.result().reset();
            }
            return;
        }
        if (ar.failed()) {
            onTryFailure(ar.cause(), true);
            return;
        }
        HttpClientRequest req = ar.result();
        current = req;
        req.authority(authority);
        var sent = body != null ? req.send(body)
                : streaming && !ex.request.isEnded() ? req.send(mirrors == null ? ex.request : mirrors.tap(ex.request))
                : req.send();
        sent.onComplete(r -> {
            if (id != tryId || done) {
                if (r.succeeded()) {
                    r.result().exceptionHandler(IGNORE);
                    r.result().request().reset();
                }
                return;
            }
            if (r.failed()) {
                onTryFailure(r.cause(), false);
            } else {
                onResponse(r.result());
            }
        });
    }

    private void onResponse(HttpClientResponse resp) {
        int status = resp.statusCode();
        if (retry.retriesStatus(status) && mayRetry()) {
            endTry(status);
            resp.exceptionHandler(IGNORE);
            resp.request().reset();
            scheduleRetry();
            return;
        }
        cancelTimers();
        responding = true;
        ex.upstreamHeadersNanos = System.nanoTime();
        io.vertx.core.http.HttpConnection upstreamConnection = resp.request().connection();
        boolean logged = ex.accessLog(ex.plane.accessLog());
        if (ex.stats != null || logged) {
            // Only an access log line or a stats expression (upstream.local_address) reads it.
            ex.upstreamLocal = upstreamConnection.localAddress();
        }
        if (logged) {
            ex.upstreamProtocol = resp.version() == HttpVersion.HTTP_2 ? "HTTP/2"
                    : resp.version() == HttpVersion.HTTP_1_0 ? "HTTP/1.0" : "HTTP/1.1";
        }
        if (upstreamConnection.isSsl()) {
            javax.net.ssl.SSLSession session = upstreamConnection.sslSession();
            ex.upstreamPrincipal = SidecarPlane.sessionSpiffeId(session);
            if (logged && ex.telemetry != null && ex.telemetry.accessLogReadsUpstreamTls()) {
                ex.upstreamSession = session;   // a format names an upstream TLS operator
            }
        }
        HttpServerResponse out = ex.response;
        if (out.ended() || out.closed()) {
            resp.exceptionHandler(IGNORE);
            resp.request().reset();
            endTry(status);
            return;
        }
        out.setStatusCode(status);
        if (resp.statusMessage() != null && ex.request.version() != HttpVersion.HTTP_2) {
            out.setStatusMessage(resp.statusMessage());
        }
        MultiMap h = out.headers();
        HopByHop.copy(resp.headers(), h, false);
        ex.walkResponseHeaders(h);
        ex.plane.applyResponseMutations(ex, h);
        if (ex.session != null) {
            ex.session.onResponse(h, io.mesh.gateway.upstream.Upstream.sessionAddress(endpoint));
        }
        if (ex.mx != null) {
            ex.plane.peerMetadata.onResponse(ex, h, true);
        }
        if (!h.contains("content-length") && ex.request.version() != HttpVersion.HTTP_2 && status != 204 && status != 304) {
            out.setChunked(true);
        }
        resp.pipe().endOnComplete(false).to(out).onComplete(ar -> {
            endTry(status);
            if (ar.succeeded()) {
                MultiMap trailers = resp.trailers();
                if (trailers != null && !trailers.isEmpty()) {
                    out.trailers().addAll(trailers);
                    ex.responseTrailers = trailers;
                    ex.grpcStatus = trailers.get("grpc-status");
                } else {
                    ex.grpcStatus = resp.headers().get("grpc-status");
                }
                if (!out.ended() && !out.closed()) {
                    out.end();
                }
            } else if (!out.closed()) {
                ex.addFlag(ResponseFlag.UR);
                out.reset();
            }
        });
    }

    private void onTryFailure(Throwable cause, boolean connectPhase) {
        if (cause instanceof ConnectionPoolTooBusyException) {
            endTry(0);
            fail(503, ResponseFlag.UO, "upstream connect error or disconnect/reset before headers. reset reason: overflow\n");
            return;
        }
        boolean connectFailure = connectPhase || cause instanceof java.net.ConnectException;
        String tlsFailure = ExchangeRecord.transportFailureReason(cause);
        if (tlsFailure != null) {
            ex.transportFailure = tlsFailure;   // the last try's, as Envoy's
        }
        endTry(0);
        if (retry.retriesFailure(connectFailure, false) && mayRetry()) {
            scheduleRetry();
            return;
        }
        ResponseFlag flag = connectFailure ? ResponseFlag.UF : ResponseFlag.UR;
        fail(503, flag, "upstream connect error or disconnect/reset before headers. reset reason: "
                + (connectFailure ? "connection failure" : "remote reset") + "\n");
    }

    private void onTryTimeout(int id) {
        tryTimer = -1;
        if (id != tryId || done || responding) {
            return;
        }
        tryId++;
        if (current != null) {
            current.reset();
        }
        endTry(0);
        if (retry.retriesFailure(false, true) && mayRetry()) {
            scheduleRetry();
            return;
        }
        fail(504, ResponseFlag.UT, "upstream request timeout\n");
    }

    private void onRouteTimeout() {
        routeTimer = -1;
        if (done || responding) {
            return;
        }
        tryId++;
        if (current != null) {
            current.reset();
        }
        endTry(0);
        fail(504, ResponseFlag.UT, "upstream request timeout\n");
    }

    private boolean mayRetry() {
        if (streaming || ex.finished()) {
            return false;
        }
        if (retries == null) {
            retries = new RetryState(retry, upstream);
        }
        ResponseFlag refusal = retries.refusal();
        if (refusal != null) {
            ex.addFlag(refusal);
        }
        return refusal == null;
    }

    private void scheduleRetry() {
        if (tryTimer >= 0) {
            ex.vertx().cancelTimer(tryTimer);
            tryTimer = -1;
        }
        ex.vertx().setTimer(retries.next(), t -> attempt());
    }

    private void endTry(int status) {
        if (endpointOpen) {
            endpointOpen = false;
            upstream.onRequestEnd(endpoint, status);
        }
    }

    private void fail(int status, ResponseFlag flag, String message) {
        if (done) {
            return;
        }
        done = true;
        cancelTimers();
        ex.sendLocal(status, flag, message);
    }

    private void cancelTimers() {
        if (routeTimer >= 0) {
            ex.vertx().cancelTimer(routeTimer);
            routeTimer = -1;
        }
        if (tryTimer >= 0) {
            ex.vertx().cancelTimer(tryTimer);
            tryTimer = -1;
        }
    }

    /** The downstream went away: abandon the upstream stream too. */
    void downstreamClosed() {
        done = true;
        cancelTimers();
        if (current != null) {
            current.reset();
        }
    }

    /** Called once when the exchange completes: gives back the breaker slots. */
    void release() {
        cancelTimers();
        endTry(ex.status());
        if (holdsRequestSlot) {
            holdsRequestSlot = false;
            upstream.releaseRequest();
        }
        if (retries != null) {
            retries.release();
        }
        if (mirrors != null) {
            mirrors.abandon();
        }
    }

    /**
     * A WebSocket (HTTP/1.1 upgrade): the upstream handshake is made first with a WebSocket client; only
     * when the upstream accepts is the downstream upgrade accepted, and then frames are relayed both ways,
     * keeping their type, with backpressure. An upstream refusal is passed on with its status.
     */
    void tunnel() {
        EndpointState ep = pickEndpoint(null);
        if (ep == null) {
            fail(503, ResponseFlag.UH, "no healthy upstream\n");
            return;
        }
        var tls = upstream.tls(ep);
        if (tls != null && tls.unavailable()) {
            fail(503, ResponseFlag.UF, "upstream connect error: TLS credentials for the cluster are not available\n");
            return;
        }
        endpoint = ep;
        endpointOpen = true;
        upstream.onRequestStart(ep);
        ex.attempts = 1;
        ex.upstreamHost = ep.hostPort();
        ex.request.pause();
        WebSocketConnectOptions o = new WebSocketConnectOptions().setHost(ep.endpoint().host()).setPort(ep.endpoint().port())
                .setURI(uri).setConnectTimeout(upstream.spec().connectTimeoutMs());
        String protocols = ex.request.getHeader("sec-websocket-protocol");
        if (protocols != null) {
            for (String p : protocols.split(",")) {
                o.addSubProtocol(p.trim());
            }
        }
        headers.forEach(e -> {
            String n = e.getKey().toLowerCase(java.util.Locale.ROOT);
            if (!n.startsWith("sec-websocket-") && !n.equals("upgrade") && !n.equals("connection")) {
                o.addHeader(e.getKey(), e.getValue());
            }
        });
        o.addHeader("host", authority.toString());
        // An auto SNI (the Host) gets a client of its own, closed with the upgrade; a fixed SNI, the event loop's.
        String sni = tls == null ? null : tls.sniFor(authority.host());
        boolean ownClient = sni != null && !sni.equals(tls.sniFor(null));
        WebSocketClient client = ownClient ? upstream.newWebSocketClient(ep, sni) : upstream.webSocketClient(ep);
        client.connect(o).onComplete(ar -> {
            if (ar.failed()) {
                if (ownClient) {
                    client.close();
                }
                if (ar.cause() instanceof UpgradeRejectedException rejected) {
                    endTry(rejected.getStatus());
                    fail(rejected.getStatus(), null, "upstream refused the WebSocket upgrade\n");
                } else {
                    onTryFailure(ar.cause(), true);
                }
                return;
            }
            WebSocket up = ar.result();
            responding = true;
            ex.tunneled = true;
            up.closeHandler(v -> {
                if (ownClient) {
                    client.close();
                }
            });
            ex.request.toWebSocket().onComplete(d -> {
                if (d.failed()) {
                    up.close();
                    endTry(0);
                    ex.tunneled = false;
                    ex.tunnelEnded();
                    return;
                }
                ServerWebSocket down = d.result();
                relay(down, up);
                relay(up, down);
                down.closeHandler(v -> {
                    up.close();
                    endTry(101);
                    ex.tunnelEnded();
                });
                up.closeHandler(v -> {
                    down.close();
                    if (ownClient) {
                        client.close();
                    }
                });
            });
        });
    }

    private static void relay(WebSocketBase from, WebSocketBase to) {
        from.frameHandler(f -> {
            if (f.isClose()) {
                return;
            }
            to.writeFrame(f);
            if (to.writeQueueFull()) {
                from.pause();
                to.drainHandler(v -> from.resume());
            }
        });
    }

    /** An ORIGINAL_DST cluster (passthrough) goes where the captured connection was headed. */
    private EndpointState pickEndpoint(EndpointState avoid) {
        if (upstream.spec().lbPolicy() == io.mesh.gateway.upstream.LbPolicy.ORIGINAL_DST) {
            Downstream d = ex.downstream;
            return d == null || d.originalDst() == null ? null
                    : upstream.originalDestination(d.originalDst().hostAddress(), d.originalDst().port());
        }
        // A stateful session's endpoint, on the first try only: Envoy's router asks for the override host on the first
        // try alone, so retries go to the load balancer. Strict: no other endpoint (503 UH) when it may not be used.
        if (ex.session != null && !sessionTried) {
            sessionTried = true;
            if (ex.session.requested != null) {
                EndpointState s = upstream.sessionEndpoint(ex.session.requested, System.nanoTime());
                if (s != null || ex.session.config.strict()) {
                    return s;
                }
            }
        }
        return upstream.pick(hash, avoid);
    }
}
