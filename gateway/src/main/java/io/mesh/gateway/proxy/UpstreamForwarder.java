package io.mesh.gateway.proxy;

import io.mesh.gateway.route.MirrorPolicy;
import io.mesh.gateway.route.RouteAction;
import io.mesh.gateway.route.WeightedCluster;
import io.mesh.gateway.upstream.Hashing;
import io.mesh.gateway.upstream.Upstream;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The last interceptor: picks the weighted cluster, takes a circuit-breaker slot, builds the upstream
 * request head once (rewrites, forwarding headers, trace context, header mutations) and hands it to an
 * {@link UpstreamCall}, which owns tries, retries and timeouts.
 */
final class UpstreamForwarder implements ProxyInterceptor {

    @Override
    public void onRequest(ProxyExchange ex) {
        RouteAction.Forward fwd = ex.forward;
        WeightedCluster wc = fwd.pick(fwd.totalWeight() <= 1 ? 0 : ThreadLocalRandom.current().nextInt(fwd.totalWeight()));
        ex.target = wc;
        Upstream upstream = ex.config.upstreams().get(wc.cluster());
        if (upstream == null) {
            ex.sendLocal(fwd.clusterNotFoundStatus(), ResponseFlag.NC, "no cluster " + wc.cluster() + "\n");
            return;
        }
        ex.upstream = upstream;
        if (!upstream.tryAcquireRequest()) {
            ex.sendLocal(503, ResponseFlag.UO, "upstream connect error or disconnect/reset before headers. reset reason: overflow\n");
            return;
        }
        MultiMap headers = HttpHeaders.headers();
        boolean upgrade = isWebSocketUpgrade(ex);
        HopByHop.copy(ex.request.headers(), headers, upgrade);
        forwardingHeaders(ex, headers);
        if (ex.mx != null) {
            ex.plane.peerMetadata.onRequest(ex, headers, wc.cluster());
        }
        ex.plane.applyRequestMutations(ex, headers);
        String uri = rewrite(ex, fwd);
        String authority = fwd.hostRewrite() != null ? fwd.hostRewrite() : ex.authority();
        long hash = hash(ex, fwd);
        UpstreamCall call = new UpstreamCall(ex, upstream, headers, uri, authority, hash);
        ex.call = call;
        call.holdsRequestSlot = true;
        List<MirrorPolicy> mirrors = new ArrayList<>();
        for (MirrorPolicy m : fwd.mirrors()) {
            if (m.perMillion() >= 1_000_000 || ThreadLocalRandom.current().nextInt(1_000_000) < m.perMillion()) {
                mirrors.add(m);
            }
        }
        if (!mirrors.isEmpty()) {
            // The copy's head is taken now, before a retry's x-envoy-attempt-count; its body once the call has it.
            MultiMap head = HttpHeaders.headers().addAll(headers);
            call.mirrors = new MirrorTee(ex, mirrors, head, uri, authority);
        }
        if (upgrade) {
            call.tunnel();
        } else {
            call.start();
        }
    }

    static boolean isWebSocketUpgrade(ProxyExchange ex) {
        String up = ex.request.getHeader("upgrade");
        return up != null && up.equalsIgnoreCase("websocket") && ex.request.method() == HttpMethod.GET && !ex.http2();
    }

    private static void forwardingHeaders(ProxyExchange ex, MultiMap h) {
        // A sidecar's requests arrive over a loopback hop: the client is the captured connection's source.
        SocketAddress remote = ex.downstream != null ? ex.downstream.source() : ex.request.remoteAddress();
        clientHeaders(h, remote == null ? null : remote.hostAddress(), ex.request.isSSL());
        String incoming = h.get("traceparent");
        OtlpReporter otlp = ex.plane.otlp();
        ex.startTrace(incoming, otlp, ex.plane.traceSampling());
        h.set("traceparent", ex.traceparent);
    }

    /** x-forwarded-for (appended), x-forwarded-proto and x-request-id (when absent): the same on both paths. */
    static void clientHeaders(MultiMap h, String client, boolean ssl) {
        if (client != null) {
            String xff = h.get("x-forwarded-for");
            h.set("x-forwarded-for", xff == null ? client : xff + ", " + client);
        }
        h.set("x-forwarded-proto", ssl ? "https" : "http");
        if (!h.contains("x-request-id")) {
            h.set("x-request-id", newRequestId());
        }
    }

    /** A random (version 4) UUID as text: {@link Tracing#requestId()}. */
    static CharSequence newRequestId() {
        return Tracing.requestId();
    }

    private static String rewrite(ProxyExchange ex, RouteAction.Forward fwd) {
        if (fwd.prefixRewrite() == null && fwd.regexRewrite() == null) {
            return ex.forwardUri();
        }
        return rewrite(ex.forwardUri(), ex.path(), ex.forwardQuery(), ex.route, fwd);
    }

    /** The upstream URI after the route's prefix or regex rewrite; {@code query} may be null. */
    static String rewrite(String uri, String path, String query, io.mesh.gateway.route.Route route, RouteAction.Forward fwd) {
        if (fwd.prefixRewrite() == null && fwd.regexRewrite() == null) {
            return uri;
        }
        String rewritten = path;
        if (fwd.regexRewrite() != null) {
            rewritten = fwd.regexRewrite().matcher(path).replaceAll(fwd.regexSubstitution());
        } else {
            var pm = route.path();
            int cut = switch (pm.kind()) {
                case PREFIX, SEPARATED_PREFIX, EXACT -> Math.min(path.length(), pm.value().length());
                case REGEX -> path.length();
            };
            rewritten = fwd.prefixRewrite() + path.substring(cut);
            if (rewritten.startsWith("//")) {
                rewritten = rewritten.substring(1);
            }
            if (rewritten.isEmpty()) {
                rewritten = "/";
            }
        }
        return query == null ? rewritten : rewritten + "?" + query;
    }

    private static long hash(ProxyExchange ex, RouteAction.Forward fwd) {
        return Hashing.key(fwd.hashPolicies(), p -> switch (p.kind()) {
            case HEADER -> ex.request.getHeader(p.name());
            case COOKIE -> cookie(ex, p);
            case SOURCE_IP -> ex.request.remoteAddress() == null ? null : ex.request.remoteAddress().hostAddress();
            case QUERY_PARAMETER -> ex.queryParam(p.name());
        });
    }

    /**
     * The hash cookie's value; when the request has none and the policy has a TTL, one made from the client's
     * address (as Envoy makes it) that the response sets, so the client's next requests go to the same endpoint.
     */
    private static String cookie(ProxyExchange ex, io.mesh.gateway.route.HashPolicy p) {
        String v = io.mesh.gateway.route.Cookies.value(ex.request.headers().getAll("cookie"), p.name());
        if (v != null) {
            return v;
        }
        if (p.ttlSeconds() < 0 || ex.request.remoteAddress() == null) {
            return null;
        }
        String made = Long.toHexString(Hashing.hash(ex.request.remoteAddress().toString()));
        ex.setCookie = p.setCookie(made);
        return made;
    }
}
