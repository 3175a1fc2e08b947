package io.mesh.config;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A validated networking.istio.io VirtualService (http, tls and tcp routes).
 * {@code created}: its creation time, or null when its source gave none; VirtualServices are ordered by it
 * ({@link #ISTIO_ORDER}). {@code gatewaySemantics}: translated from a Kubernetes Gateway API HTTPRoute (istiod's
 * {@code internal.istio.io/route-semantics: gateway}), whose routes the generators build as istiod does for those: a
 * path prefix matches whole segments, a missing backend answers 500, a prefix rewrite to "/" drops the prefix.
 */
public record VirtualService(String namespace, String name, List<String> hosts, List<String> gateways,
        List<HttpRoute> http, List<L4Route> tls, List<L4Route> tcp, List<String> exportTo, Instant created,
        boolean gatewaySemantics) {

    /** A VirtualService written as such (Istio's semantics). */
    public VirtualService(String namespace, String name, List<String> hosts, List<String> gateways,
            List<HttpRoute> http, List<L4Route> tls, List<L4Route> tcp, List<String> exportTo, Instant created) {
        this(namespace, name, hosts, gateways, http, tls, tcp, exportTo, created, false);
    }

    /**
     * Istio's order of VirtualServices (its sortConfigByCreationTime): oldest first, one without a creation time
     * before all others, then by name, then by namespace. It decides whose routes come first when VirtualServices
     * bound to a gateway for the same host are merged, and which one routes a host for sidecars when several claim it.
     */
    public static final Comparator<VirtualService> ISTIO_ORDER = Comparator
            .comparing((VirtualService vs) -> vs.created() == null ? Instant.MIN : vs.created())
            .thenComparing(VirtualService::name).thenComparing(VirtualService::namespace);

    public VirtualService {
        hosts = List.copyOf(hosts);
        gateways = List.copyOf(gateways);
        http = List.copyOf(http);
        tls = List.copyOf(tls);
        tcp = List.copyOf(tcp);
        exportTo = List.copyOf(exportTo);
    }

    /**
     * A {@code tls} route (matched by SNI, the TLS stream passed through) or a {@code tcp} route (matched by port):
     * served on gateways, as a TCP proxy to the destinations (by weight).
     */
    public record L4Route(List<L4Match> match, List<RouteDestination> route) {
        public L4Route {
            match = List.copyOf(match);
            route = List.copyOf(route);
        }
    }

    /** {@code sniHosts} (tls routes only), the gateway port, the gateways the match is for (empty: the VirtualService's). */
    public record L4Match(List<String> sniHosts, Integer port, List<String> gateways) {
        public L4Match {
            sniHosts = List.copyOf(sniHosts);
            gateways = List.copyOf(gateways);
        }
    }

    /**
     * @param mirrors copies of each request sent, fire and forget ({@code mirror} with {@code mirrorPercentage}, or
     *                {@code mirrors})
     * @param cors     the route's CORS policy, or null
     * @param delegate the delegate VirtualService whose routes this one stands for, or null; {@link Delegation}
     *                 replaces such a route by the delegate's
     */
    public record HttpRoute(String name, List<Match> match, List<RouteDestination> route, Redirect redirect,
            DirectResponse directResponse, Rewrite rewrite, Duration timeout, Retries retries, Fault fault,
            List<Mirror> mirrors, Headers headers, CorsPolicy cors, Delegate delegate) {
        public HttpRoute {
            match = List.copyOf(match);
            route = List.copyOf(route);
            mirrors = List.copyOf(mirrors);
        }
    }

    /** A root route's delegate: a VirtualService without hosts, in {@code namespace} (null: the root's). */
    public record Delegate(String name, String namespace) {
    }

    /** One mirror: where copies go, and for which share of requests (null: all). */
    public record Mirror(Destination destination, Double percent) {
    }

    /**
     * Istio's CorsPolicy. {@code allowOrigins} holds {@code allowOrigin}'s exact values too; {@code maxAge} is whole
     * seconds or null; {@code forwardUnmatchedPreflights}: preflights from other origins go to the upstream
     * (Istio's {@code unmatchedPreflights: FORWARD}, the default) or are answered without CORS headers (IGNORE).
     */
    public record CorsPolicy(List<StringMatch> allowOrigins, List<String> allowMethods, List<String> allowHeaders,
            List<String> exposeHeaders, Duration maxAge, boolean allowCredentials, boolean forwardUnmatchedPreflights) {
        public CorsPolicy {
            allowOrigins = List.copyOf(allowOrigins);
            allowMethods = List.copyOf(allowMethods);
            allowHeaders = List.copyOf(allowHeaders);
            exposeHeaders = List.copyOf(exposeHeaders);
        }
    }

    /**
     * An HTTPMatchRequest. Every condition set must hold. {@code headers}, {@code withoutHeaders} and
     * {@code queryParams} may hold {@link StringMatch.Type#PRESENT} ({@code {}} in YAML). {@code gateways},
     * {@code sourceLabels} and {@code sourceNamespace} say which proxies the match is for: pilot leaves it out of the
     * others' routes.
     */
    public record Match(String name, StringMatch uri, StringMatch scheme, StringMatch method, StringMatch authority,
            Map<String, StringMatch> headers, Map<String, StringMatch> withoutHeaders,
            Map<String, StringMatch> queryParams, Integer port, boolean ignoreUriCase,
            List<String> gateways, Map<String, String> sourceLabels, String sourceNamespace) {
        public Match {
            headers = Map.copyOf(headers);
            withoutHeaders = Map.copyOf(withoutHeaders);
            queryParams = Map.copyOf(queryParams);
            gateways = List.copyOf(gateways);
            sourceLabels = Map.copyOf(sourceLabels);
        }
    }

    public record Destination(String host, String subset, Integer port) {
    }

    public record RouteDestination(Destination destination, int weight, Headers headers) {
    }

    /**
     * {@code port}: the port to redirect to (null: the request's). {@code uri} may start with {@code %PREFIX()%}
     * (gateway semantics only): the matched prefix is replaced by the rest, as istiod translates a Gateway API
     * ReplacePrefixMatch.
     */
    public record Redirect(String uri, String authority, Integer redirectCode, String scheme, Integer port) {
        public Redirect(String uri, String authority, Integer redirectCode, String scheme) {
            this(uri, authority, redirectCode, scheme, null);
        }
    }

    public record DirectResponse(int status, String body) {
    }

    /**
     * {@code uri}: replaces the matched prefix; {@code regexMatch} and {@code regexRewrite} (Istio's
     * {@code uriRegexRewrite}, both or neither): the path's regex match is replaced instead.
     */
    public record Rewrite(String uri, String authority, String regexMatch, String regexRewrite) {
        public Rewrite(String uri, String authority) {
            this(uri, authority, null, null);
        }
    }

    /**
     * {@code backoff}: Istio's {@code retries.backoff}, the base interval between tries (Envoy's
     * {@code retry_back_off.base_interval}), or null for Envoy's 25ms.
     */
    public record Retries(int attempts, Duration perTryTimeout, String retryOn, Duration backoff) {
        public Retries(int attempts, Duration perTryTimeout, String retryOn) {
            this(attempts, perTryTimeout, retryOn, null);
        }
    }

    public record Fault(Duration delay, Double delayPercent, Integer abortStatus, Integer abortGrpcStatus,
            Double abortPercent) {
    }

    /** Header add/set/remove for requests and responses. */
    public record Headers(Map<String, String> requestSet, Map<String, String> requestAdd, List<String> requestRemove,
            Map<String, String> responseSet, Map<String, String> responseAdd, List<String> responseRemove) {
        public static final Headers NONE = new Headers(Map.of(), Map.of(), List.of(), Map.of(), Map.of(), List.of());

        public Headers {
            requestSet = Map.copyOf(requestSet);
            requestAdd = Map.copyOf(requestAdd);
            requestRemove = List.copyOf(requestRemove);
            responseSet = Map.copyOf(responseSet);
            responseAdd = Map.copyOf(responseAdd);
            responseRemove = List.copyOf(responseRemove);
        }

        public boolean isEmpty() {
            return equals(NONE);
        }
    }
}
