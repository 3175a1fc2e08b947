package io.mesh.gateway.proxy;

import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.route.HashPolicy;
import io.mesh.gateway.route.RequestView;
import io.mesh.gateway.route.Route;
import io.mesh.gateway.route.RetryPolicy;
import io.mesh.gateway.route.RouteAction;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.route.VirtualHost;
import io.mesh.gateway.route.WeightedCluster;
import io.mesh.gateway.upstream.EndpointState;
import io.mesh.gateway.upstream.Hashing;
import io.mesh.gateway.upstream.LbPolicy;
import io.mesh.gateway.upstream.Upstream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.MultiMap;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One request on the fast path: routed from the same immutable {@link RouteTable} as the Vert.x path, forwarded
 * over a pooled upstream connection of the channel's event loop ({@link FastUpstreamPool}), with the same headers,
 * breaker and outlier accounting, flags, metrics and access log as {@link ProxyExchange} + {@link UpstreamCall}.
 * Bodies pass through as Netty's own pooled buffers, never copied; backpressure pauses reading on the other side.
 * Retries of a request read as bytes (Istio's default policy on every route, or a VirtualService's without a per-try
 * timeout) are made here too, with the same conditions, backoff, retry breaker and choice of another endpoint as
 * {@link UpstreamCall}; a body of known length up to the retry buffer is read whole first and kept for them, as there.
 * {@link #take} decides whether the fast path can serve a request at all: anything it does not implement
 * (retries of chunked or larger bodies or of decoded heads, per-try timeouts, mirrors, faults, redirects, direct
 * responses, HTTP/2 upstreams, upgrades, Expect, hostile or unusual heads, a draining proxy) is left to the Vert.x
 * path, before anything happened.
 * Event-loop confined.
 */
final class FastExchange extends ExchangeRecord implements io.mesh.gateway.rbac.RbacRequest {

    private static final String RESET_MESSAGE = "upstream connect error or disconnect/reset before headers. reset reason: ";

    final FastPathHandler handler;
    private final DataPlane plane;
    /** The decoded head, or null for a head read as bytes ({@link #raw}). */
    private final HttpRequest request;
    private final HttpHeaders requestHeaders;
    /** A head read as bytes ({@link RawRequestReader}) until {@link #start} wrote it upstream, else null. */
    private RawRequestHead raw;
    private final String method;
    private final String uri;
    private String authority;
    private ActiveConfig config;
    private RouteTable table;
    private long contentLength = -1;
    boolean mayHaveBody;
    final boolean head;
    private boolean closeAfter;
    private String path;
    private QueryStringDecoder query;
    // What one pass over the request's headers found (scan), read instead of a lookup each: the first value of each.
    private String arrivedContentType;
    private String arrivedXff;
    private String arrivedRequestId;
    private String arrivedUserAgent;
    private String arrivedTraceparent;
    private String arrivedConnection;
    private boolean hasForwardedProto;
    /** Route matching asked for dynamic metadata (a dynamic_metadata match: JWT claim routing), which is the Vert.x path's. */
    private boolean metadataRead;
    /** A hop-by-hop header other than Host, or a pseudo-header name: the head needs {@link HopByHop#stripInPlace}. */
    private boolean stripNeeded;
    /** The upstream response may be relayed as bytes (no response header mutation, not HEAD): see FastUpstreamConnection. */
    private boolean rawResponse;
    private boolean started;

    private VirtualHost virtualHost;
    private RouteAction.Forward forward;
    private WeightedCluster target;
    private Upstream upstream;
    EndpointState endpoint;

    private int flags;
    private int status = 200;
    private long bytesIn;
    private long bytesOut;

    private boolean holdsRequestSlot;
    private boolean endpointOpen;
    /** The consistent-hash key of the route's hash policy (Long.MIN_VALUE: none), for every try. */
    private long hashKey = Long.MIN_VALUE;
    private RetryPolicy retry = RetryPolicy.NONE;
    /** The chain's stateful session filter (null: none): a route with a session goes the Vert.x path. */
    private io.mesh.gateway.route.StatefulSession statefulSession;
    /** The request's retries so far, from its first failed try that the policy would retry; else null. */
    private RetryState retries;
    /** The first try's head bytes, kept (retained) for the retries when the route may retry; released on completion. */
    private ByteBuf retryHead;
    /** The length of the first try's head in {@link #retryHead} (from index 0), read once it was written. */
    private int retryHeadLength;
    private ScheduledFuture<?> retryTimer;
    /**
     * A body kept for the retries: the request's parts stay in {@link #pending} until the exchange completes (each try
     * writes duplicates of them), and the first try starts once the whole body has been read.
     */
    private boolean bufferingBody;
    private ScheduledFuture<?> timer;
    /** The upstream connection while it is ours. */
    private FastUpstreamConnection conn;
    private boolean waitingForConnection;
    private boolean acquiring;
    /** Request body parts (HttpContent, or bytes of a raw-read request) read before the upstream connection was ready. */
    private ArrayDeque<Object> pending;
    /** The head to write upstream: the decoded HttpRequest, or the bytes of a raw-read one; null once written. */
    private Object upstreamHead;
    private boolean requestDone;
    private boolean requestSent;
    private boolean responseStarted;
    private boolean responseDone;
    private boolean upstreamKeepAlive;
    private boolean pausedDownstream;
    private boolean pausedUpstream;
    private boolean completed;

    private FastExchange(FastPathHandler handler, HttpRequest request) {
        this.handler = handler;
        this.plane = handler.plane;
        this.request = request;
        this.requestHeaders = request.headers();
        this.method = request.method().name();
        this.uri = request.uri();
        this.head = request.method() == HttpMethod.HEAD;
    }

    private FastExchange(FastPathHandler handler, RawRequestHead raw) {
        this.handler = handler;
        this.plane = handler.plane;
        this.request = null;
        this.requestHeaders = null;
        this.raw = raw;
        this.method = raw.method();
        this.uri = raw.target();
        this.head = "HEAD".equals(method);
    }

    /** {@link #take} for a plain head read as bytes (already checked by {@link RawRequestHead}: HTTP/1.1, limits...). */
    static FastExchange take(FastPathHandler h, RawRequestHead raw) {
        DataPlane plane = h.plane;
        if (h.draining()) {
            return null;
        }
        ActiveConfig config = plane.active();
        FilterChainSpec chain = h.source.fastChain(config);
        if (chain == null) {
            return null;
        }
        FastExchange ex = new FastExchange(h, raw);
        return ex.scanRaw(raw) && ex.allowed(chain) ? routed(ex, config, chain) : null;
    }

    /**
     * The connection's RBAC (a sidecar's inbound AuthorizationPolicy), checked before routing as on the Vert.x path:
     * false when it denies the request, which then goes the Vert.x path and gets its 403 there. A chain with a JWT
     * filter (RequestAuthentication) is the Vert.x path's alone: it edits request headers and writes the metadata
     * its RBAC reads; so is one with ext_authz (AuthorizationPolicy CUSTOM: an asynchronous check that edits headers)
     * or with shadow rules (their results are per-request metadata).
     */
    private boolean allowed(FilterChainSpec chain) {
        if (chain.jwtAuthn() != null || chain.extAuthz() != null) {
            return false;
        }
        io.mesh.gateway.rbac.Rbac rbac = chain.rbac();
        if (rbac != null && !rbac.shadows().isEmpty()) {
            return false;
        }
        return rbac == null || rbac.denial(this) == null;
    }

    /** {@code ex} with the routing table of the connection's chain and its route, or null when it has neither. */
    private static FastExchange routed(FastExchange ex, ActiveConfig config, FilterChainSpec chain) {
        RouteTable table = chain.inlineRoutes() != null ? chain.inlineRoutes() : config.routes(chain.routeConfigName());
        if (table == null) {
            return null;
        }
        ex.config = config;
        ex.table = table;
        ex.statefulSession = chain.statefulSession();
        io.mesh.gateway.model.ChainTelemetry telemetry = chain.telemetry();
        ex.telemetry = telemetry;
        io.mesh.gateway.model.StatsOverrides stats = chain.stats();
        if (stats != null) {
            ex.stats = stats;
            ex.keepStatsHeaders(stats.headerNames());
        }
        if (telemetry != null && telemetry.accessLogHeaders().length > 0) {
            ex.keepMoreHeaders(telemetry.accessLogHeaders());   // what the access logs' filters and formats read
        }
        io.mesh.gateway.model.PeerMetadataConfig mx = chain.peerMetadata();
        if (mx != null) {
            ex.mx = mx;
            if (mx.downstreamDiscovery()) {
                RawRequestHead r = ex.raw;
                ex.plane.peerMetadata.discover(ex, r != null ? r.value(r.peerMetadata) : ex.requestHeaders.get(PeerMetadata.HEADER),
                        r != null ? r.peerMetadataId : ex.requestHeaders.contains(PeerMetadata.ID_HEADER));
            }
        }
        return ex.route() ? ex : null;
    }

    /** What {@link #scan} finds, from the raw head's offsets (the head has exactly one Host and no Transfer-Encoding). */
    private boolean scanRaw(RawRequestHead r) {
        String host = handler.knownHost();
        if (!r.hostIs(host)) {
            host = r.value(r.host);
            if (!handler.validAuthority(host)) {
                return false;
            }
        }
        String ct = r.value(r.contentType);
        if (ct != null && ct.startsWith("application/grpc")) {
            return false;
        }
        long max = plane.maxBodyBytes();
        if (max > 0 && r.contentLength > max) {
            return false;
        }
        authority = host;
        arrivedContentType = ct;
        arrivedXff = r.value(r.xff);
        arrivedRequestId = r.value(r.requestId);
        arrivedUserAgent = r.value(r.userAgent);
        arrivedTraceparent = r.value(r.traceparent);
        hasForwardedProto = r.forwardedProto;
        contentLength = r.hasLength ? r.contentLength : -1;
        mayHaveBody = r.contentLength > 0;
        closeAfter = r.close;
        return true;
    }

    /**
     * The fast exchange for this head, routed, or null when the Vert.x path must take it (nothing has been
     * consumed or changed then: LB state and breakers are only touched once the exchange is taken).
     */
    static FastExchange take(FastPathHandler h, HttpRequest req) {
        DataPlane plane = h.plane;
        if (!req.decoderResult().isSuccess() || req.protocolVersion() != HttpVersion.HTTP_1_1 || h.draining()) {
            return null;
        }
        String uri = req.uri();
        HttpMethod method = req.method();
        if (uri.isEmpty() || uri.charAt(0) != '/' || method == HttpMethod.CONNECT) {
            return null;
        }
        HttpHeaders hs = req.headers();
        if (!(hs instanceof MultiMap)) {
            return null;
        }
        ActiveConfig config = plane.active();
        FilterChainSpec chain = h.source.fastChain(config);
        if (chain == null) {
            return null;
        }
        FastExchange ex = new FastExchange(h, req);
        return ex.scan(hs, plane.config().limits().maxHeaders()) && ex.allowed(chain) ? routed(ex, config, chain) : null;
    }

    /**
     * One pass over the head's headers: what {@link #take} checks (false = not for the fast path) and what
     * {@link #start} and the log read later, instead of a map lookup for each.
     */
    private boolean scan(HttpHeaders hs, int maxHeaders) {
        String host = null;
        String ct = null;
        String cl = null;
        String te = null;
        int count = 0;
        // As CharSequences: the decoder's names are AsciiStrings, and a String of each is not needed to compare.
        Iterator<Map.Entry<CharSequence, CharSequence>> it = hs.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            if (++count > maxHeaders) {
                return false;   // counted per line, not per name: past the limit the Vert.x path decides
            }
            CharSequence n = e.getKey();
            int len = n.length();
            if (len == 0 || n.charAt(0) == ':') {
                stripNeeded = true;
                continue;
            }
            switch (len) {
                case 4 -> {
                    if (host == null && eq(n, "host")) {
                        host = e.getValue().toString();
                    }
                }
                case 6 -> {
                    if (eq(n, "expect")) {
                        return false;
                    }
                }
                case 7 -> {
                    if (eq(n, "upgrade")) {
                        return false;
                    }
                }
                case 10 -> {
                    if (arrivedConnection == null && eq(n, "connection")) {
                        arrivedConnection = e.getValue().toString();
                    } else if (arrivedUserAgent == null && eq(n, "user-agent")) {
                        arrivedUserAgent = e.getValue().toString();
                    }
                }
                case 11 -> {
                    if (arrivedTraceparent == null && eq(n, "traceparent")) {
                        arrivedTraceparent = e.getValue().toString();
                    }
                }
                case 12 -> {
                    if (ct == null && eq(n, "content-type")) {
                        ct = e.getValue().toString();
                    } else if (arrivedRequestId == null && eq(n, "x-request-id")) {
                        arrivedRequestId = e.getValue().toString();
                    }
                }
                case 14 -> {
                    if (cl == null && eq(n, "content-length")) {
                        cl = e.getValue().toString();
                    }
                }
                case 15 -> {
                    if (arrivedXff == null && eq(n, "x-forwarded-for")) {
                        arrivedXff = e.getValue().toString();
                    }
                }
                case 17 -> {
                    if (te == null && eq(n, "transfer-encoding")) {
                        te = e.getValue().toString();
                    } else if (eq(n, "x-forwarded-proto")) {
                        hasForwardedProto = true;
                    }
                }
                default -> {
                }
            }
            if (len != 4 && HopByHop.isHop(n)) {
                stripNeeded = true;
            }
        }
        if (host == null || !handler.validAuthority(host)) {
            return false;
        }
        if (ct != null && ct.startsWith("application/grpc")) {
            return false;
        }
        long length = -1;
        if (cl != null) {
            if (te != null) {
                return false;
            }
            try {
                length = Long.parseLong(cl.trim());
            } catch (NumberFormatException ex) {
                return false;
            }
            long max = plane.maxBodyBytes();
            if (length < 0 || (max > 0 && length > max)) {
                return false;
            }
        } else if (te != null && !te.equalsIgnoreCase("chunked")) {
            return false;
        }
        authority = host;
        arrivedContentType = ct;
        contentLength = length;
        mayHaveBody = length > 0 || te != null;
        // HTTP/1.1 (the only version taken): keep-alive unless a Connection header says close.
        closeAfter = arrivedConnection != null && !HttpUtil.isKeepAlive(request);
        return true;
    }

    private static boolean eq(CharSequence name, String lower) {
        return AsciiString.contentEqualsIgnoreCase(name, lower);
    }

    /** Routing as {@link RouteInterceptor} + {@link UpstreamForwarder} do it; false = not for the fast path. */
    private boolean route() {
        VirtualHost vh = table.virtualHost(authority);
        metadataRead = false;
        Route r = vh == null ? null : vh.match(this);
        // A route that reads dynamic metadata (written by the JWT filter, the Vert.x path's alone) was tried: even when
        // another route matched, the choice is the Vert.x path's to make.
        if (r == null || metadataRead || vh.requireTls() || r.fault() != null || !(r.action() instanceof RouteAction.Forward fwd)
                || (r.cors() != null && header("origin") != null)   // CORS requests: the Vert.x path (Cors)
                || (statefulSession != null && io.mesh.gateway.route.StatefulSession.effective(statefulSession,
                        r.statefulSession()) != null)) {   // stateful sessions: the Vert.x path (StickySession)
            return false;
        }
        // Retries: of heads read as bytes, with no body or one of known length the retry buffer holds (read whole
        // before the first try, as the Vert.x path does); anything else the Vert.x path retries or streams.
        if ((fwd.retry().numRetries() > 0 && (raw == null
                || (mayHaveBody && (contentLength <= 0 || contentLength > plane.retryBufferBytes()))))
                || fwd.retry().perTryTimeoutMs() > 0 || !fwd.mirrors().isEmpty()) {
            return false;
        }
        for (HashPolicy p : fwd.hashPolicies()) {
            if (p.kind() == HashPolicy.Kind.COOKIE) {
                return false;
            }
        }
        Map<String, Upstream> ups = config.upstreams();
        List<WeightedCluster> clusters = fwd.clusters();
        for (int i = 0; i < clusters.size(); i++) {
            Upstream u = ups.get(clusters.get(i).cluster());
            // TLS origination (auto mTLS between sidecars too) is the pool's; a cluster whose secrets are missing fails
            // on the Vert.x path (503 UF), and one whose SNI is each request's Host is the Vert.x clients'.
            if (u == null || u.tlsPerRequest()
                    || u.spec().lbPolicy() == LbPolicy.ORIGINAL_DST || u.http2(false) || !u.literalEndpoints()) {
                return false;
            }
        }
        virtualHost = vh;
        route = r;
        forward = fwd;
        retry = fwd.retry();
        target = fwd.pick(fwd.totalWeight() <= 1 ? 0 : ThreadLocalRandom.current().nextInt(fwd.totalWeight()));
        upstream = ups.get(target.cluster());
        rawResponse = !head && handler.encoderCtx != null && !handler.encoderCtx.isRemoved() && none(target.responseHeaders())
                && none(r.responseHeaders()) && none(vh.responseHeaders()) && none(table.responseHeaders())
                && !keepsResponse();   // a format or an expression reads the decoded response
        return true;
    }

    /** Starts a try on {@code ep}: its accounting, then a pooled (or new) connection to it. */
    private void tryOn(EndpointState ep) {
        endpoint = ep;
        endpointOpen = true;
        upstream.onRequestStart(ep);
        attempts++;
        upstreamHost = ep.hostPort();
        waitingForConnection = true;
        acquiring = true;
        plane.fastPool(handler.channel.eventLoop()).acquire(this, upstream, ep, handler.channel);
        acquiring = false;
    }

    /**
     * Whether a failed try may be retried, as {@link UpstreamCall}: retries left (else flag URX) and a slot under the
     * cluster's max-retries breaker (else flag UO). Only asked when the policy's conditions hold.
     */
    private boolean mayRetry() {
        if (completed || retryHead == null) {
            return false;
        }
        if (retries == null) {
            retries = new RetryState(retry, upstream);
        }
        ResponseFlag refusal = retries.refusal();
        if (refusal != null) {
            addFlag(refusal);
        }
        return refusal == null;
    }

    /** The next try after the policy's backoff. */
    private void scheduleRetry() {
        retryTimer = handler.channel.eventLoop().schedule(this::retryNow, retries.next(), TimeUnit.MILLISECONDS);
    }

    private static final byte[] ATTEMPT_LINE = "x-envoy-attempt-count: ".getBytes(StandardCharsets.US_ASCII);

    private void retryNow() {
        retryTimer = null;
        if (completed) {
            return;
        }
        EndpointState ep = upstream.pick(hashKey, endpoint);   // another endpoint than the last one, when there is one
        if (ep == null) {
            fail(503, ResponseFlag.UH, "no healthy upstream\n");
            return;
        }
        // The first try's head with x-envoy-attempt-count before its final CRLF.
        ByteBuf first = retryHead;
        int end = retryHeadLength - 2;
        ByteBuf out = handler.channel.alloc().directBuffer(end + 32);
        out.writeBytes(first, 0, end);
        line(out, ATTEMPT_LINE, Integer.toString(attempts + 1));
        out.writeShort(FastUpstreamConnection.CRLF);
        // A try that never got a connection (connect failure) never wrote its head: it is released here, not lost.
        ReferenceCountUtil.release(upstreamHead);
        upstreamHead = out;
        tryOn(ep);
    }

    /**
     * A response head with this status: retried instead when the policy says so (the connection is dropped with
     * its unread response, as the Vert.x path resets its stream); false when it is to be passed on.
     */
    private boolean retriedOnStatus(int code) {
        if (retry.numRetries() == 0 || !retry.retriesStatus(code) || !mayRetry()) {
            return false;
        }
        endTry(code);
        FastUpstreamConnection c = conn;
        conn = null;
        if (c != null) {
            c.exchange = null;
            c.channel.close();
        }
        scheduleRetry();
        return true;
    }

    private static boolean none(io.mesh.gateway.route.HeaderMutation m) {
        return m == null || m.isEmpty();
    }

    /** Starts the exchange; the head has been taken from the Vert.x path. */
    void start(boolean headIsLast) {
        if (handler.guard != null) {
            handler.guard.headDone();
        }
        requestDone = headIsLast;
        // The log reports the request as it arrived (scan), before its header map becomes the upstream head's.
        started = true;
        if (!upstream.tryAcquireRequest()) {
            raw = null;
            sendLocal(503, ResponseFlag.UO, RESET_MESSAGE + "overflow\n");
            return;
        }
        holdsRequestSlot = true;
        hashKey = hash();
        String client = handler.clientIp();
        if (raw != null) {
            ByteBuf bytes = rawUpstreamHead(client);
            upstreamHead = bytes;
            raw = null;
            if (retry.numRetries() > 0) {
                retryHead = bytes.retain();   // the bytes stay readable at their absolute indices after the write
                retryHeadLength = bytes.writerIndex();
            }
        } else {
            upstreamHead = decodedUpstreamHead(client);
        }
        long t = forward.timeoutMs();
        if (t > 0) {
            timer = handler.channel.eventLoop().schedule(this::onRouteTimeout, t, TimeUnit.MILLISECONDS);
        }
        if (retryHead != null && mayHaveBody) {
            bufferingBody = true;   // the first try waits for the whole body (requestContent)
            return;
        }
        firstTry();
    }

    private void firstTry() {
        EndpointState ep = upstream.pick(hashKey, null);
        if (ep == null) {
            fail(503, ResponseFlag.UH, "no healthy upstream\n");
            return;
        }
        tryOn(ep);
        if (waitingForConnection && mayHaveBody && !requestDone && !completed) {
            handler.pauseRead();
            pausedDownstream = true;
        }
    }

    /** The decoded head, edited in place into the upstream head (its header map becomes the upstream's). */
    private HttpRequest decodedUpstreamHead(String client) {
        MultiMap h = (MultiMap) requestHeaders;
        String incoming;
        if (stripNeeded) {
            HopByHop.stripInPlace(h);
        }
        if (stripNeeded && HopByHop.namesHeaders(arrivedConnection)) {
            // Connection named end-to-end headers, now removed: what the scan saw may be gone. The general way.
            UpstreamForwarder.clientHeaders(h, client, handler.source.secure());
            incoming = h.get("traceparent");
        } else {
            // As UpstreamForwarder.clientHeaders, from what the scan found: add when absent, set when present.
            if (client != null) {
                if (arrivedXff == null) {
                    h.add("x-forwarded-for", client);
                } else {
                    h.set("x-forwarded-for", arrivedXff + ", " + client);
                }
            }
            String proto = handler.source.secure() ? "https" : "http";
            if (hasForwardedProto) {
                h.set("x-forwarded-proto", proto);
            } else {
                h.add("x-forwarded-proto", proto);
            }
            if (arrivedRequestId == null) {
                h.add("x-request-id", UpstreamForwarder.newRequestId());
            }
            incoming = arrivedTraceparent;
        }
        trace(incoming);
        if (incoming == null) {
            h.add("traceparent", traceparent);
        } else {
            h.set("traceparent", traceparent);
        }
        if (mx != null) {
            plane.peerMetadata.onRequest(this, h, target.cluster());
        }
        DataPlane.applyRequestMutations(target, route, virtualHost, table, h);
        String upstreamUri = UpstreamForwarder.rewrite(uri, path(), queryString(), route, forward);
        h.set("host", forward.hostRewrite() != null ? forward.hostRewrite() : authority);
        if (mayHaveBody && contentLength < 0) {
            h.set("transfer-encoding", "chunked");
        }
        // The decoded head becomes the upstream head (its header map already is): only the URI may change.
        if (!upstreamUri.equals(uri)) {
            request.setUri(upstreamUri);
        }
        return request;
    }

    @Override
    io.opentelemetry.api.trace.Span startSpan(OtlpReporter otlp, String incoming) {
        return otlp.start(method, path(), authority, incoming);
    }

    /** As UpstreamForwarder: the OTLP span's context when OTLP is on, else a new span id under the caller's trace. */
    private void trace(String incoming) {
        OtlpReporter otlp = plane.otlp();
        startTrace(incoming, otlp, plane.traceSampling());
    }

    private static final byte[] XFF_LINE = "x-forwarded-for: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] XFP_LINE = "x-forwarded-proto: http\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] XFP_HTTPS_LINE = "x-forwarded-proto: https\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] REQUEST_ID_LINE = "x-request-id: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRACEPARENT_LINE = "traceparent: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HOST_LINE = "host: ".getBytes(StandardCharsets.US_ASCII);

    /**
     * The upstream head of a raw-read request, as bytes: the same head {@link #decodedUpstreamHead} makes of the
     * decoded one, in the same order. The request line is copied (or has the rewritten target), the header lines are
     * copied without hop-by-hop ones (the raw head has no others: a Connection naming headers, TE, Upgrade... are
     * left to the decoder), x-forwarded-for, x-forwarded-proto and traceparent are set at the end, x-request-id added
     * when absent, then Host. A route that edits request headers gets them through a header map, as decoded.
     */
    private ByteBuf rawUpstreamHead(String client) {
        RawRequestHead r = raw;
        trace(arrivedTraceparent);
        String upstreamUri = UpstreamForwarder.rewrite(uri, path(), queryString(), route, forward);
        String host = forward.hostRewrite() != null ? forward.hostRewrite() : authority;
        CharSequence xff = client == null ? null : arrivedXff == null ? client : arrivedXff + ", " + client;
        CharSequence requestId = arrivedRequestId == null ? UpstreamForwarder.newRequestId() : null;
        boolean mutations = !none(target.requestHeaders()) || !none(route.requestHeaders())
                || !none(virtualHost.requestHeaders()) || !none(table.requestHeaders());
        io.mesh.gateway.model.PeerMetadataConfig mx = this.mx;
        boolean dropPeer = mx != null && mx.editsRequestHeaders();
        PeerMetadata own = mx != null && PeerMetadata.propagatesTo(mx, target.cluster()) ? plane.peerMetadata : null;
        ByteBuf out = handler.channel.alloc().directBuffer(r.size() + upstreamUri.length() + host.length()
                + (xff == null ? 0 : xff.length()) + 200 + (own == null ? 0 : own.idLine().length + own.valueLine().length));
        r.writeRequestLine(out, upstreamUri.equals(uri) ? null : upstreamUri);
        if (mutations) {
            HeadersMultiMap map = HeadersMultiMap.httpHeaders();
            MultiMap h = map;
            r.addKeptLines(h, xff != null, dropPeer);
            if (own != null) {
                h.add(PeerMetadata.ID_HEADER, own.id());
                h.add(PeerMetadata.HEADER, own.value());
            }
            if (xff != null) {
                h.add("x-forwarded-for", xff);
            }
            h.add("x-forwarded-proto", handler.source.secure() ? "https" : "http");
            if (requestId != null) {
                h.add("x-request-id", requestId);
            }
            h.add("traceparent", traceparent);
            DataPlane.applyRequestMutations(target, route, virtualHost, table, h);
            h.set("host", host);
            map.encode(out);
        } else {
            r.writeKeptLines(out, xff != null, dropPeer);
            if (own != null) {
                out.writeBytes(own.idLine());
                out.writeBytes(own.valueLine());
            }
            if (xff != null) {
                line(out, XFF_LINE, xff);
            }
            out.writeBytes(handler.source.secure() ? XFP_HTTPS_LINE : XFP_LINE);
            if (requestId != null) {
                line(out, REQUEST_ID_LINE, requestId);
            }
            line(out, TRACEPARENT_LINE, traceparent);
            line(out, HOST_LINE, host);
        }
        out.writeShort(FastUpstreamConnection.CRLF);
        return out;
    }

    private static void line(ByteBuf out, byte[] name, CharSequence value) {
        out.writeBytes(name);
        if (value instanceof AsciiString a) {
            out.writeBytes(a.array(), a.arrayOffset(), a.length());
        } else {
            out.writeCharSequence(value, StandardCharsets.ISO_8859_1);
        }
        out.writeShort(FastUpstreamConnection.CRLF);
    }

    private long hash() {
        return forward.hashPolicies().isEmpty() ? Long.MIN_VALUE : Hashing.key(forward.hashPolicies(), p -> switch (p.kind()) {
            case HEADER -> header(p.name());
            case SOURCE_IP -> handler.clientIp();
            case COOKIE -> null;   // routes hashing on a cookie take the Vert.x path
            case QUERY_PARAMETER -> queryParam(p.name());
        });
    }

    // Downstream events (from FastPathHandler).

    /** {@code c}: an HttpContent, or a part of a raw-read request's body ({@code content} itself). */
    void requestContent(Object c, ByteBuf content, boolean last) {
        bytesIn += content.readableBytes();
        if (last) {
            requestDone = true;
        }
        if (completed || responseDone && conn == null) {
            ReferenceCountUtil.release(c);
            if (last) {
                maybeComplete();
            }
            return;
        }
        if (conn == null) {
            if (pending == null) {
                pending = new ArrayDeque<>(4);
            }
            pending.add(c);
            if (last && bufferingBody && attempts == 0) {
                firstTry();
            }
            return;
        }
        writeUp(c);
        if (last) {
            requestSent = true;
        }
        if (!conn.channel.isWritable() && !pausedDownstream) {
            handler.pauseRead();
            pausedDownstream = true;
        }
    }

    /** Whether this exchange paused the downstream reads (its upstream is not ready or not writable). */
    boolean pausesDownstream() {
        return pausedDownstream;
    }

    void requestDiscarded() {
        requestDone = true;
        maybeComplete();
    }

    void flushUpstream() {
        FastUpstreamConnection c = conn;
        if (c != null) {
            c.channel.flush();
        }
    }

    void downstreamWritabilityChanged(boolean writable) {
        if (writable && pausedUpstream && conn != null) {
            pausedUpstream = false;
            conn.channel.config().setAutoRead(true);
        }
    }

    void downstreamClosed() {
        if (completed) {
            return;
        }
        if (!responseDone) {
            addFlag(ResponseFlag.DC);
        }
        abandonUpstream();
        complete(true);
    }

    // The upstream connection (from FastUpstreamPool / FastUpstreamConnection).

    void onConnection(FastUpstreamConnection c) {
        waitingForConnection = false;
        if (completed) {
            c.pool.release(c, true);
            return;
        }
        conn = c;
        upstreamPrincipal = c.peerPrincipal;
        c.exchange = this;
        c.headRequest = head;
        c.rawAllowed = rawResponse;
        Object h = upstreamHead;
        upstreamHead = null;
        c.write(h);
        if (pending != null) {
            if (bufferingBody) {
                for (Object p : pending) {
                    c.write(((ByteBuf) p).retainedDuplicate());   // kept for the next try
                }
            } else {
                Object p;
                while ((p = pending.poll()) != null) {
                    c.write(p);
                }
            }
        }
        if (requestDone) {
            requestSent = true;
        }
        if (!acquiring || !handler.reading) {
            c.channel.flush();   // else at the end of the downstream read (FastPathHandler.channelReadComplete)
        }
        if (pausedDownstream && c.channel.isWritable()) {
            pausedDownstream = false;
            handler.resumeRead();
        }
    }

    void onConnectFailure() {
        waitingForConnection = false;
        if (completed) {
            return;
        }
        endTry(0);
        if (retry.retriesFailure(true, false) && mayRetry()) {
            scheduleRetry();
            return;
        }
        fail(503, ResponseFlag.UF, RESET_MESSAGE + "connection failure\n");
    }

    void onPoolOverflow() {
        waitingForConnection = false;
        endTry(0);
        fail(503, ResponseFlag.UO, RESET_MESSAGE + "overflow\n");
    }

    void upstreamWritabilityChanged(boolean writable) {
        if (writable && pausedDownstream) {
            pausedDownstream = false;
            handler.resumeRead();
        }
    }

    void onResponseHead(HttpResponse r) {
        int code = r.status().code();
        if (code < 200 || completed || responseStarted) {
            return;   // 1xx: interim, not passed on (as the Vert.x client does without a continue handler)
        }
        if (retriedOnStatus(code)) {
            return;   // (its content, if this read carried any, finds the response not started and is dropped)
        }
        cancelTimer();
        responseStarted = true;
        status = code;
        upstreamKeepAlive = HttpUtil.isKeepAlive(r);
        // The upstream's decoded header map becomes the downstream response's, changed in place.
        MultiMap out = (MultiMap) r.headers();
        if (stats != null || accessLog(plane.accessLog())) {
            loggedUpstream(out);
        }
        HopByHop.stripInPlace(out);
        DataPlane.applyResponseMutations(target, route, virtualHost, table, out);
        if (mx != null) {
            plane.peerMetadata.onResponse(this, out, true);
        }
        if (!head && code != 204 && code != 304 && !out.contains("content-length")) {
            out.set("transfer-encoding", "chunked");
        }
        if (closeAfter || handler.draining()) {
            out.set("connection", "close");
        }
        r.setProtocolVersion(HttpVersion.HTTP_1_1);
        writeDown(r);
    }

    /**
     * What only an access log line or the stats overrides' expressions read of the upstream's response head: the
     * upstream service time, the upstream connection's local address, and the response headers ({@code decoded}, null
     * for a head relayed as bytes) when the chain's access log or stats overrides read one.
     */
    private void loggedUpstream(MultiMap decoded) {
        upstreamHeadersNanos = System.nanoTime();
        FastUpstreamConnection c = conn;
        if (c != null) {
            upstreamLocal = c.channel.localAddress();
        }
        io.mesh.gateway.model.ChainTelemetry t = telemetry;
        if (c != null && t != null && t.accessLogReadsUpstreamTls()) {
            upstreamSsl = c.ssl;   // its session is read when the line is written
        }
        if (decoded != null && keepsResponse()) {
            loggedResponseHeaders = decoded;
        }
    }

    /**
     * Whether the chain's access log (a format or a filter) or its stats overrides read a response header or trailer:
     * only then is the decoded response kept (and its head not relayed as bytes).
     */
    private boolean keepsResponse() {
        io.mesh.gateway.model.ChainTelemetry t = telemetry;
        io.mesh.gateway.model.StatsOverrides st = stats;
        return t != null && t.accessLogReadsResponse() || st != null && st.readsResponse();
    }

    /** The response headers an access log or a stats expression reads (the decoded head, kept only then), or null. */
    private MultiMap loggedResponseHeaders;
    /** The TLS of the upstream connection that answered, kept only when a format names an upstream TLS operator. */
    private io.netty.handler.ssl.SslHandler upstreamSsl;

    /** The upstream's workload, from its response's {@code x-envoy-peer-metadata} (a head relayed as bytes). */
    void upstreamPeer(String value) {
        peer = plane.peerMetadata.peer(value);
    }

    /** This proxy's metadata exchange when the response answers with it (an inbound chain, asked), else null. */
    PeerMetadata answersWithPeer() {
        return mx != null && mx.downstreamPropagation() && peerAsked ? plane.peerMetadata : null;
    }

        /** Whether the downstream connection closes after this response (the raw head then says so). */
    boolean closesDownstream() {
        return closeAfter || handler.draining();
    }

    /**
     * The upstream response's head relayed as bytes, already checked and stripped of hop-by-hop headers by
     * FastUpstreamConnection (only when {@link #rawResponse}: no header mutation applies); as {@link #onResponseHead}.
     */
    void onRawResponseHead(int code, boolean keepAlive, ByteBuf headBytes) {
        if (completed || responseStarted || retriedOnStatus(code)) {
            headBytes.release();
            return;
        }
        cancelTimer();
        responseStarted = true;
        if (stats != null || accessLog(plane.accessLog())) {
            loggedUpstream(null);
        }
        status = code;
        upstreamKeepAlive = keepAlive;
        writeDown(headBytes, true);
    }

    /** A part of a raw-relayed response body (a slice of the upstream's read buffer); as {@link #onResponseContent}. */
    void onRawResponseContent(ByteBuf part, boolean last) {
        if (!responseStarted || completed) {
            part.release();
            return;
        }
        responseContent(part, part, last, true);
    }

    void onResponseContent(HttpContent c, boolean last) {
        if (!responseStarted || completed) {
            c.release();
            return;
        }
        if (last && c.decoderResult().isFailure()) {
            c.release();
            onUpstreamClosed();
            return;
        }
        if (last && loggedResponseHeaders != null && c instanceof io.netty.handler.codec.http.LastHttpContent lc
                && !lc.trailingHeaders().isEmpty()) {
            // Copied: the content is released once written. Only when the chain's access log reads the response.
            MultiMap trailers = MultiMap.caseInsensitiveMultiMap();
            lc.trailingHeaders().forEach(e -> trailers.add(e.getKey(), e.getValue()));
            responseTrailers = trailers;
        }
        responseContent(c, c.content(), last, false);
    }

    /** {@code msg}: an HttpContent (through Vert.x's encoder) or, {@code raw}, its bytes (past the encoder). */
    private void responseContent(Object c, ByteBuf content, boolean last, boolean raw) {
        bytesOut += content.readableBytes();
        if (!last) {
            writeDown(c, raw);
            if (!handler.channel.isWritable() && !pausedUpstream && conn != null) {
                pausedUpstream = true;
                conn.channel.config().setAutoRead(false);
            }
            return;
        }
        responseDone = true;
        endTry(status);
        boolean close = closeAfter || handler.draining();
        if (close) {
            handler.active = true;
            (raw ? handler.encoderCtx : handler.ctx).writeAndFlush(c).addListener(ChannelFutureListener.CLOSE);
        } else {
            writeDown(c, raw);
        }
        FastUpstreamConnection used = conn;
        conn = null;
        if (used != null) {
            used.exchange = null;
            if (pausedUpstream) {
                pausedUpstream = false;
                used.channel.config().setAutoRead(true);
            }
            // One clock read for the connection's idle mark and the request's duration (the response is done).
            endNanos = System.nanoTime();
            used.pool.release(used, upstreamKeepAlive && requestSent && !used.broken, endNanos);
        }
        if (close) {
            requestDone = true;
            complete(true);
            return;
        }
        if (!requestDone) {
            // The upstream answered before the whole request body arrived: the rest is read and dropped.
            handler.discardRequestBody();
            if (pausedDownstream) {
                pausedDownstream = false;
                handler.resumeRead();
            }
        }
        maybeComplete();
    }

    /** The upstream connection closed or broke before the response ended. */
    void onUpstreamClosed() {
        FastUpstreamConnection c = conn;
        conn = null;
        if (c != null) {
            c.exchange = null;
            c.channel.close();
        }
        if (completed) {
            return;
        }
        if (!responseStarted) {
            endTry(0);
            if (retry.retriesFailure(false, false) && mayRetry()) {
                scheduleRetry();
                return;
            }
            fail(503, ResponseFlag.UR, RESET_MESSAGE + "remote reset\n");
            return;
        }
        // Headers already went downstream: the response cannot be finished, so the connection is reset.
        addFlag(ResponseFlag.UR);
        endTry(status);
        handler.channel.close();
        complete(true);
    }

    private void onRouteTimeout() {
        timer = null;
        if (completed || responseStarted) {
            return;
        }
        abandonUpstream();
        endTry(0);
        fail(504, ResponseFlag.UT, "upstream request timeout\n");
    }

    /** Gives up the upstream side mid-request: the connection (if any) cannot be reused, a wait is cancelled. */
    private void abandonUpstream() {
        FastUpstreamConnection c = conn;
        conn = null;
        if (c != null) {
            c.exchange = null;
            c.channel.close();
        }
        if (waitingForConnection) {
            waitingForConnection = false;
            plane.fastPool(handler.channel.eventLoop()).cancelWait(this, upstream);
        }
        if (pending != null) {
            Object p;
            while ((p = pending.poll()) != null) {
                ReferenceCountUtil.release(p);
            }
        }
    }

    private void fail(int code, ResponseFlag flag, String message) {
        cancelTimer();
        abandonUpstream();
        sendLocal(code, flag, message);
    }

    /** A response made by the gateway itself, as {@link ProxyExchange#sendLocal}. */
    private void sendLocal(int code, ResponseFlag flag, String body) {
        if (flag != null) {
            addFlag(flag);
        }
        if (completed) {
            return;
        }
        if (responseStarted) {
            handler.channel.close();
            complete(true);
            return;
        }
        status = code;
        responseStarted = true;
        responseDone = true;
        HeadersMultiMap h = HeadersMultiMap.httpHeaders();
        if (!body.isEmpty()) {
            h.set("content-type", "text/plain");
        }
        DataPlane.applyResponseMutations(target, route, virtualHost, table, h);
        if (mx != null) {
            plane.peerMetadata.onResponse(this, h, false);
        }
        boolean close = !requestDone || closeAfter || handler.draining();
        if (close) {
            // The body was never read; a keep-alive connection cannot be reused safely.
            h.set("connection", "close");
        }
        ByteBuf content = body.isEmpty() ? Unpooled.EMPTY_BUFFER
                : ByteBufUtil.writeUtf8(handler.channel.alloc(), body);
        h.set("content-length", Integer.toString(content.readableBytes()));
        bytesOut = content.readableBytes();
        var resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(code), content, h,
                HeadersMultiMap.httpHeaders());
        handler.active = true;
        var written = handler.ctx.writeAndFlush(resp);
        if (close) {
            written.addListener(ChannelFutureListener.CLOSE);
            complete(true);
        } else {
            maybeComplete();
        }
    }

    private void writeUp(Object msg) {
        FastUpstreamConnection c = conn;
        c.write(msg);
        if (!handler.reading) {
            c.channel.flush();
        }
    }

    private void writeDown(Object msg) {
        writeDown(msg, false);
    }

    /** {@code raw}: bytes, written from Vert.x's encoder's context so they pass below it, as encoded output does. */
    private void writeDown(Object msg, boolean raw) {
        handler.active = true;
        io.netty.channel.ChannelHandlerContext ctx = raw ? handler.encoderCtx : handler.ctx;
        ctx.write(msg, ctx.voidPromise());
        FastUpstreamConnection c = conn;
        if (c != null && c.reading) {
            c.flushAfterRead(handler);
        } else {
            handler.ctx.flush();
        }
    }

    private void maybeComplete() {
        if (requestDone && responseDone) {
            complete(false);
        }
    }

    private void complete(boolean closing) {
        if (completed) {
            return;
        }
        completed = true;
        cancelTimer();
        endTry(status);
        if (holdsRequestSlot) {
            holdsRequestSlot = false;
            upstream.releaseRequest();
        }
        if (retries != null) {
            retries.release();
        }
        if (retryTimer != null) {
            retryTimer.cancel(false);
            retryTimer = null;
        }
        if (retryHead != null) {
            retryHead.release();
            retryHead = null;
        }
        if (pending != null) {
            Object p;
            while ((p = pending.poll()) != null) {
                ReferenceCountUtil.release(p);
            }
        }
        if (upstreamHead instanceof ByteBuf unwritten) {
            unwritten.release();   // the bytes of a raw-read head, never written (no upstream connection)
            upstreamHead = null;
        }
        plane.record(this);
        handler.exchangeDone(this, closing);
    }

    private void endTry(int code) {
        if (endpointOpen) {
            endpointOpen = false;
            upstream.onRequestEnd(endpoint, code);
        }
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void addFlag(ResponseFlag f) {
        flags |= 1 << f.ordinal();
    }

    private String queryString() {
        int q = uri.indexOf('?');
        return q < 0 ? null : uri.substring(q + 1);
    }

    // RequestView, read by route matching (the same answers as ProxyExchange's).

    @Override
    public String authority() {
        return authority;
    }

    @Override
    public String path() {
        if (path == null) {
            int q = uri.indexOf('?');
            path = q < 0 ? uri : uri.substring(0, q);
        }
        return path;
    }

    @Override
    public String header(String name) {
        if (!name.isEmpty() && name.charAt(0) == ':') {
            return switch (name) {
                case ":method" -> method;
                case ":authority" -> authority;
                case ":path" -> uri;
                case ":scheme" -> handler.source.secure() ? "https" : "http";
                default -> null;
            };
        }
        return raw != null ? raw.header(name) : requestHeaders != null ? requestHeaders.get(name) : null;
    }

    @Override
    public String queryParam(String name) {
        if (query == null) {
            query = new QueryStringDecoder(uri, StandardCharsets.UTF_8, true, 1024, false);
        }
        List<String> values = query.parameters().get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    @Override
    public java.util.Map<String, Object> dynamicMetadata(String filter) {
        metadataRead = true;
        return null;
    }

    /** No filter that writes metadata runs on the fast path. */
    @Override
    java.util.Map<String, Object> loggedMetadata(String filter) {
        return null;
    }

    @Override
    public String principal() {
        Downstream d = handler.source.downstream();
        return d == null ? null : d.peerPrincipal();
    }

    @Override
    public String sourceIp() {
        Downstream d = handler.source.downstream();
        return d != null && d.source() != null ? d.source().hostAddress() : handler.clientIp();
    }

    @Override
    public int destinationPort() {
        Downstream d = handler.source.downstream();
        if (d != null && d.originalDst() != null) {
            return d.originalDst().port();
        }
        return handler.channel.localAddress() instanceof InetSocketAddress local ? local.getPort() : 0;
    }

    // ExchangeRecord, read by RequestLog.

    @Override
    public int status() {
        return status;
    }

    @Override
    public String clusterName() {
        return target == null ? null : target.cluster();
    }

    @Override
    public String requestHeader(String name) {
        if (!started) {
            return header(name);
        }
        return switch (name) {
            case "content-type" -> arrivedContentType;
            case "x-forwarded-for" -> arrivedXff;
            case "x-request-id" -> arrivedRequestId;
            case "user-agent" -> arrivedUserAgent;
            default -> statsHeader(name);
        };
    }

    /** The headers the chain's stats overrides read, as they arrived (null without overrides). */
    private String[] statsHeaderNames;
    private String[] statsHeaderValues;

    /** Keeps the arrived values of {@code names} for the metrics (read before the head is handed upstream). */
    private void keepStatsHeaders(String[] names) {
        String[] values = new String[names.length];
        for (int i = 0; i < names.length; i++) {
            values[i] = header(names[i]);
        }
        statsHeaderNames = names;
        statsHeaderValues = values;
    }

    /** Keeps {@code names} too (the access log filter's), after the stats' if any. */
    private void keepMoreHeaders(String[] names) {
        if (names.length == 0) {
            return;
        }
        String[] kept = statsHeaderNames;
        if (kept == null) {
            keepStatsHeaders(names);
            return;
        }
        String[] all = java.util.Arrays.copyOf(kept, kept.length + names.length);
        System.arraycopy(names, 0, all, kept.length, names.length);
        keepStatsHeaders(all);
    }

    private String statsHeader(String name) {
        String[] names = statsHeaderNames;
        if (names != null) {
            for (int i = 0; i < names.length; i++) {
                if (names[i].equals(name)) {
                    return statsHeaderValues[i];
                }
            }
        }
        return null;
    }

    @Override
    public String grpcStatus() {
        return null;
    }

    @Override
    public long bytesReceived() {
        return bytesIn;
    }

    @Override
    public long bytesSent() {
        return bytesOut;
    }

    @Override
    public Downstream downstream() {
        return handler.source.downstream();
    }

    @Override
    public int flags() {
        return flags;
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public String uri() {
        return uri;
    }

    @Override
    public String protocol() {
        return "HTTP/1.1";
    }

    @Override
    io.netty.channel.Channel downstreamChannel() {
        return handler.channel;
    }

    /** A plaintext listener's connection (the router's) has none: no look at the channel. */
    @Override
    String requestedServerName() {
        return handler.source.secure() ? super.requestedServerName() : null;
    }

    @Override
    io.mesh.gateway.model.ConnectionTls downstreamTls() {
        return handler.source.secure() ? super.downstreamTls() : null;
    }

    /** The pool's connections are HTTP/1.1: the one that answered, if any. */
    @Override
    String upstreamProtocol() {
        return upstreamLocal != null ? "HTTP/1.1" : null;
    }

    @Override
    javax.net.ssl.SSLSession upstreamSession() {
        io.netty.handler.ssl.SslHandler ssl = upstreamSsl;
        return ssl == null ? null : ssl.engine().getSession();
    }

    @Override
    String localAddress() {
        InetSocketAddress local = (InetSocketAddress) handler.channel.localAddress();
        return local == null ? null : local.getAddress().getHostAddress() + ":" + local.getPort();
    }

    @Override
    String responseHeader(String name) {
        MultiMap h = loggedResponseHeaders;
        return h == null ? null : h.get(name);
    }

    @Override
    public String remoteAddress() {
        InetSocketAddress remote = (InetSocketAddress) handler.channel.remoteAddress();
        return remote == null ? null : handler.clientIp() + ":" + remote.getPort();
    }
}
