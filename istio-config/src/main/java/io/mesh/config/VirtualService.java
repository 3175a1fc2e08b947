package io.mesh.config;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A validated networking.istio.io VirtualService (the HTTP part; tcp/tls routes are accepted and not served).
 * {@code created}: its creation time, or null when its source gave none; VirtualServices are ordered by it
 * ({@link #ISTIO_ORDER}).
 */
public record VirtualService(String namespace, String name, List<String> hosts, List<String> gateways,
        List<HttpRoute> http, List<String> exportTo, Instant created) {

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
        exportTo = List.copyOf(exportTo);
    }

    public record HttpRoute(String name, List<Match> match, List<RouteDestination> route, Redirect redirect,
            DirectResponse directResponse, Rewrite rewrite, Duration timeout, Retries retries, Fault fault,
            Destination mirror, Double mirrorPercent, Headers headers) {
        public HttpRoute {
            match = List.copyOf(match);
            route = List.copyOf(route);
        }
    }

    public record Match(String name, StringMatch uri, StringMatch method, Map<String, StringMatch> headers,
            Map<String, StringMatch> queryParams, Integer port, boolean ignoreUriCase,
            List<String> gateways, Map<String, String> sourceLabels) {
        public Match {
            headers = Map.copyOf(headers);
            queryParams = Map.copyOf(queryParams);
            gateways = List.copyOf(gateways);
            sourceLabels = Map.copyOf(sourceLabels);
        }
    }

    public record Destination(String host, String subset, Integer port) {
    }

    public record RouteDestination(Destination destination, int weight, Headers headers) {
    }

    public record Redirect(String uri, String authority, Integer redirectCode, String scheme) {
    }

    public record DirectResponse(int status, String body) {
    }

    public record Rewrite(String uri, String authority) {
    }

    public record Retries(int attempts, Duration perTryTimeout, String retryOn) {
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
