package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.route.RouteAction;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.route.RequestView;
import io.mesh.gateway.route.VirtualHost;
import io.mesh.gateway.route.WeightedCluster;
import io.mesh.gateway.upstream.Upstream;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;

/**
 * The state of one proxied request as it walks the interceptor chain: what routing decided, the flags,
 * sizes and timings for metrics and the access log. Owned by the request's event loop; never shared.
 * {@link #complete} runs exactly once, when the downstream response ends or the connection closes.
 */
public final class ProxyExchange extends ExchangeRecord implements io.mesh.gateway.rbac.RbacRequest {

    final DataPlane plane;
    final ActiveConfig config;
    final HttpServerRequest request;
    final HttpServerResponse response;
    final FilterChainSpec chain;
    final String listenerName;
    final String authority;
    private final ProxyInterceptor[] interceptors;
    private int index = -1;
    private int flags;
    private boolean completed;
    private String path;

    VirtualHost virtualHost;
    RouteAction.Forward forward;
    WeightedCluster target;
    Upstream upstream;
    UpstreamCall call;
    String grpcStatus;
    /** A CORS request's origin, allowed by the route's policy (set by {@link Cors}); else null. */
    String corsOrigin;
    boolean corsPreflight;
    /** A hash cookie made for this request (a Set-Cookie value for the response), or null. */
    String setCookie;
    /** Whether a request body may follow the head; such requests are paused until the upstream is ready. */
    final boolean mayHaveBody;
    boolean tunneled;
    /** Sidecar listeners: where the captured connection came from and was headed, and the mTLS peer. Null on the router. */
    final Downstream downstream;
    /** The request's stateful session (its route's or chain's config applies), or null. */
    StickySession session;
    /** Dynamic metadata by filter namespace (jwt_authn, istio_authn), or null: written before RBAC reads it. */
    java.util.Map<String, java.util.Map<String, Object>> metadata;
    /** The request body when a filter read it whole (ext_authz with_request_body), else null: it streams. */
    io.vertx.core.buffer.Buffer bufferedBody;
    /** Headers ext_authz's OK answer adds to the response (allowed_client_headers_on_success), or null. */
    MultiMap authzResponseHeaders;
    /** The URI sent upstream when a filter changed it (a JWT query parameter removed), else null: the request's. */
    String forwardUri;

    ProxyExchange(DataPlane plane, ActiveConfig config, HttpServerRequest request, FilterChainSpec chain,
            String listenerName, ProxyInterceptor[] interceptors) {
        this(plane, config, request, chain, listenerName, interceptors, null);
    }

    @Override
    io.opentelemetry.api.trace.Span startSpan(OtlpReporter otlp, String incoming) {
        return otlp.start(this, incoming);
    }

    ProxyExchange(DataPlane plane, ActiveConfig config, HttpServerRequest request, FilterChainSpec chain,
            String listenerName, ProxyInterceptor[] interceptors, Downstream downstream) {
        this.downstream = downstream;
        this.plane = plane;
        this.config = config;
        this.request = request;
        this.response = request.response();
        this.chain = chain;
        this.telemetry = chain == null ? null : chain.telemetry();
        this.stats = chain == null ? null : chain.stats();
        this.mx = chain == null ? null : chain.peerMetadata();
        if (mx != null && mx.downstreamDiscovery()) {
            plane.peerMetadata.discover(this, request.getHeader(PeerMetadata.HEADER),
                    request.headers().contains(PeerMetadata.ID_HEADER));
        }
        this.listenerName = listenerName;
        this.interceptors = interceptors;
        String a = request.host();
        this.authority = a == null ? "" : a;
        this.mayHaveBody = mayHaveBody(request);
        if (mayHaveBody) {
            request.pause();
        }
        response.endHandler(v -> complete());
        response.closeHandler(v -> {
            if (!response.ended() && !tunneled) {
                addFlag(ResponseFlag.DC);
                if (call != null) {
                    call.downstreamClosed();
                }
            }
            complete();
        });
    }

    private static boolean mayHaveBody(HttpServerRequest r) {
        String cl = r.getHeader("content-length");
        if (cl != null) {
            return !cl.equals("0");
        }
        if (r.version() != HttpVersion.HTTP_2) {
            return r.getHeader("transfer-encoding") != null;
        }
        // HTTP/2 has no framing header; END_STREAM may not be seen yet when the head arrives.
        return !r.isEnded() && switch (r.method().name()) {
            case "GET", "HEAD", "DELETE", "OPTIONS" -> false;
            default -> true;
        };
    }

    /** Runs the next interceptor of the chain. */
    public void next() {
        if (completed) {
            return;
        }
        index++;
        interceptors[index].onRequest(this);
    }

    /** Lets the interceptors before the forwarder see the upstream response headers, in reverse order. */
    void walkResponseHeaders(io.vertx.core.MultiMap headers) {
        for (int i = Math.min(index, interceptors.length - 1); i >= 0; i--) {
            interceptors[i].onResponseHeaders(this, headers);
        }
    }

    Vertx vertx() {
        return plane.vertx();
    }

    RouteTable routeTable() {
        if (chain == null) {
            return null;
        }
        return chain.inlineRoutes() != null ? chain.inlineRoutes() : config.routes(chain.routeConfigName());
    }

    public void addFlag(ResponseFlag f) {
        flags |= 1 << f.ordinal();
    }

    public int flags() {
        return flags;
    }

    public boolean finished() {
        return completed || response.ended() || response.closed();
    }

    public boolean http2() {
        return request.version() == HttpVersion.HTTP_2;
    }

    /** A response made by the gateway itself: no route, fault abort, direct response, upstream failure. */
    public void sendLocal(int status, ResponseFlag flag, String body) {
        sendLocal(status, flag, body, null);
    }

    /** {@link #sendLocal} with {@code headers} set on the response last (over its content-type): ext_authz's denial. */
    void sendLocal(int status, ResponseFlag flag, String body, MultiMap headers) {
        if (flag != null) {
            addFlag(flag);
        }
        if (response.ended() || response.closed()) {
            return;
        }
        if (response.headWritten()) {
            response.reset();
            return;
        }
        if (isGrpc(request.getHeader("content-type"))) {
            sendGrpcLocal(status, body);
            return;
        }
        response.setStatusCode(status);
        if (body != null && !body.isEmpty()) {
            response.putHeader("content-type", "text/plain");
        }
        if (headers != null) {
            for (String name : headers.names()) {
                response.headers().set(name, headers.getAll(name));
            }
        }
        if (route != null) {
            plane.applyResponseMutations(this, response.headers());
        }
        if (mx != null) {
            plane.peerMetadata.onResponse(this, response.headers(), false);
        }
        if (!request.isEnded()) {
            // A body that was never read: a keep-alive connection cannot be reused safely. (A request without one,
            // a preflight say, has only its end left to arrive, and the connection stays open.)
            if (mayHaveBody && request.version() != HttpVersion.HTTP_2) {
                response.putHeader("connection", "close");
            }
            request.resume();
        }
        response.end(body == null ? "" : body);
    }

    /**
     * A local reply to a gRPC request, as Envoy sends one: Trailers-Only (one HEADERS frame that ends the stream),
     * HTTP 200, {@code content-type: application/grpc}, the status mapped from the HTTP code in {@code grpc-status} and
     * the text in {@code grpc-message}. A gRPC client then reads Envoy's status and message (e.g. PERMISSION_DENIED
     * "RBAC: access denied") rather than an HTTP error it has to guess a status from.
     */
    private void sendGrpcLocal(int status, String body) {
        response.setStatusCode(200);
        response.putHeader("content-type", "application/grpc");
        grpcStatus = Integer.toString(grpcStatusOf(status));
        response.putHeader("grpc-status", grpcStatus);
        String message = body == null ? "" : body.strip();
        if (!message.isEmpty()) {
            response.putHeader("grpc-message", percentEncode(message));
        }
        if (route != null) {
            plane.applyResponseMutations(this, response.headers());
        }
        if (mx != null) {
            plane.peerMetadata.onResponse(this, response.headers(), false);
        }
        if (!request.isEnded()) {
            request.resume();
        }
        response.end();
    }

    /** Envoy's Grpc::Common::isGrpcRequestHeaders: application/grpc, alone or with a +suffix or parameters (not grpc-web). */
    static boolean isGrpc(String contentType) {
        return contentType != null && contentType.startsWith("application/grpc")
                && (contentType.length() == 16 || contentType.charAt(16) == '+' || contentType.charAt(16) == ';');
    }

    /** Envoy's Grpc::Utility::httpToGrpcStatus (the gRPC spec's HTTP-to-status table). */
    static int grpcStatusOf(int httpStatus) {
        return switch (httpStatus) {
            case 400 -> 13;                  // INTERNAL
            case 401 -> 16;                  // UNAUTHENTICATED
            case 403 -> 7;                   // PERMISSION_DENIED
            case 404 -> 12;                  // UNIMPLEMENTED
            case 429, 502, 503, 504 -> 14;   // UNAVAILABLE
            default -> 2;                    // UNKNOWN
        };
    }

    /** grpc-message's percent-encoding: bytes outside printable ASCII, and '%' itself. */
    static String percentEncode(String message) {
        StringBuilder sb = new StringBuilder(message.length());
        for (byte b : message.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            if (b >= 0x20 && b <= 0x7e && b != '%') {
                sb.append((char) b);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return sb.toString();
    }

    public void sendRedirect(int status, String location) {
        response.putHeader("location", location);
        sendLocal(status, null, "");
    }

    /**
     * The end of an upgrade relayed as a WebSocket: the exchange is logged and counted now, as Envoy logs an upgraded
     * stream when it ends (once upgraded, Vert.x's response never ends or closes).
     */
    void tunnelEnded() {
        complete();
    }

    private void complete() {
        if (completed) {
            return;
        }
        completed = true;
        plane.requestDone(request.connection());
        if (call != null) {
            call.release();
        }
        plane.record(this);
    }

    // RequestView, read by route matching.

    @Override
    public String authority() {
        return authority;
    }

    @Override
    public String path() {
        if (path == null) {
            String p = request.path();
            path = p == null ? "/" : p;
        }
        return path;
    }

    @Override
    public String header(String name) {
        if (!name.isEmpty() && name.charAt(0) == ':') {
            return switch (name) {
                case ":method" -> request.method().name();
                case ":authority" -> authority;
                case ":path" -> request.uri();
                case ":scheme" -> request.isSSL() ? "https" : "http";
                default -> null;
            };
        }
        return request.getHeader(name);
    }

    @Override
    public String queryParam(String name) {
        return request.getParam(name);
    }

    /** The response's status; 101 for an upgrade relayed as a WebSocket (Vert.x's handshake leaves the response's). */
    public int status() {
        return tunneled ? 101 : response.getStatusCode();
    }

    // ExchangeRecord, read by RequestLog.

    @Override
    public String clusterName() {
        return target == null ? null : target.cluster();
    }

    @Override
    public String requestHeader(String name) {
        return request.getHeader(name);
    }

    @Override
    public String grpcStatus() {
        return grpcStatus;
    }

    @Override
    public long bytesReceived() {
        return request.bytesRead();
    }

    @Override
    public long bytesSent() {
        return response.bytesWritten();
    }

    @Override
    public Downstream downstream() {
        return downstream;
    }

    @Override
    public String method() {
        return request.method().name();
    }

    @Override
    public String uri() {
        return request.uri();
    }

    /** As Envoy's %PROTOCOL% prints it: HTTP/1.0, HTTP/1.1 or HTTP/2 (not the ALPN name "h2"). */
    @Override
    public String protocol() {
        return switch (request.version()) {
            case HTTP_2 -> "HTTP/2";
            case HTTP_1_0 -> "HTTP/1.0";
            default -> "HTTP/1.1";
        };
    }

    /**
     * The SNI Vert.x's TLS server read (a router's HTTPS listener), else the session's (a sidecar's mesh mTLS, which
     * Vert.x did not terminate); read when the line is written.
     */
    @Override
    String requestedServerName() {
        if (!request.isSSL()) {
            return null;
        }
        String indicated = request.connection().indicatedServerName();
        return indicated != null ? indicated : super.requestedServerName();
    }

    @Override
    io.netty.channel.Channel downstreamChannel() {
        return ((io.vertx.core.net.impl.ConnectionBase) request.connection()).channel();
    }

    @Override
    public String remoteAddress() {
        var remote = request.remoteAddress();
        return remote == null ? null : remote.toString();
    }

    @Override
    String localAddress() {
        var local = request.localAddress();
        return local == null ? null : local.toString();
    }

    /** The response as sent (Vert.x keeps its header map after the end). */
    @Override
    String responseHeader(String name) {
        return response.headers().get(name);
    }

    /** The request URI as it goes upstream (before route rewrites). */
    String forwardUri() {
        return forwardUri != null ? forwardUri : request.uri();
    }

    /** {@link #forwardUri()}'s query, or null. */
    String forwardQuery() {
        if (forwardUri == null) {
            return request.query();
        }
        int q = forwardUri.indexOf('?');
        return q < 0 ? null : forwardUri.substring(q + 1);
    }

    void putMetadata(String filter, java.util.Map<String, Object> values) {
        if (metadata == null) {
            metadata = new java.util.HashMap<>(2);
        }
        metadata.put(filter, values);
    }

    @Override
    public java.util.Map<String, Object> dynamicMetadata(String filter) {
        return metadata == null ? null : metadata.get(filter);
    }

    @Override
    java.util.Map<String, Object> loggedMetadata(String filter) {
        return dynamicMetadata(filter);
    }

    @Override
    public String principal() {
        return downstream == null ? null : downstream.peerPrincipal();
    }

    @Override
    public String sourceIp() {
        if (downstream != null && downstream.source() != null) {
            return downstream.source().hostAddress();
        }
        var remote = request.remoteAddress();
        return remote == null ? null : remote.hostAddress();
    }

    @Override
    public int destinationPort() {
        if (downstream != null && downstream.originalDst() != null) {
            return downstream.originalDst().port();
        }
        var local = request.localAddress();
        return local == null ? 0 : local.port();
    }
}
