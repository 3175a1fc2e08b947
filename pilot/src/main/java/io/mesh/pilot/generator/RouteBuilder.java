package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.mesh.config.DestinationRule;
import io.mesh.config.Gateway;
import io.mesh.config.Hosts;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Turns one Istio HTTPRoute into Envoy routes: one per match (or a catch-all), carrying the weighted clusters,
 * retries, timeout, fault, mirror, rewrite, redirect, direct response and header operations.
 */
final class RouteBuilder {
    static final String FAULT_FILTER = "envoy.filters.http.fault";
    static final String CORS_FILTER = "envoy.filters.http.cors";
    /** Istio's default number of retries, for routes whose VirtualService has no retries block (and default routes). */
    static final int DEFAULT_RETRIES = 2;
    /** Istio's retry conditions when a VirtualService's retries name none. */
    static final String DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

    private RouteBuilder() {
    }

    /**
     * @param port      the service port this route table serves; matches naming another port are skipped
     * @param proxy     whose routes: a proxyless gRPC client gets only what grpc-java reads (it NACKs nothing here,
     *                  but stays lean); its namespace picks the DestinationRule that applies, and matches for other
     *                  proxies ({@link #forProxy}) are left out
     * @param gateway   the Gateway the routes are served through on a router; null: the mesh (sidecars, proxyless)
     */
    static List<Route> build(VirtualService vs, VirtualService.HttpRoute http, int port, MeshSnapshot snapshot,
            ProxyInfo proxy, Gateway gateway) {
        boolean proxyless = proxy.type() == ProxyInfo.Type.GRPC;
        List<Route> out = new ArrayList<>();
        if (http.route().isEmpty() && http.redirect() == null && http.directResponse() == null) {
            return out;   // a delegating route whose delegate could not be merged in (SnapshotBuilder warned)
        }
        if (proxyless && (http.redirect() != null || http.directResponse() != null)) {
            // grpc-java NACKs a whole route table with a redirect or direct response ("unknown action type"),
            // and a gRPC call cannot follow either; such routes are for HTTP proxies only.
            return out;
        }
        List<VirtualService.Match> matches = http.match().isEmpty() ? java.util.Collections.singletonList(null)
                : http.match();
        Function<String, ServiceModel> services = httpServices(gateway, proxy, snapshot);
        for (VirtualService.Match m : matches) {
            if (m != null && ((m.port() != null && m.port() != port) || !forProxy(m, vs, proxy, gateway))) {
                continue;
            }
            if (proxyless && RouteMatches.hasClaims(m)) {
                // A gRPC client verifies no JWT, and grpc-java does not read dynamic_metadata (the route would match
                // every call): a claim condition can never hold there, an inverted one always does.
                if (m.headers().keySet().stream().anyMatch(io.mesh.config.JwtClaimRoute::isClaimName)) {
                    continue;
                }
                m = RouteMatches.withoutClaims(m);
            }
            Route.Builder r = Route.newBuilder().setMatch(RouteMatches.translate(m, vs.gatewaySemantics()));
            String name = http.name() != null ? http.name() : vs.namespace() + "/" + vs.name();
            r.setName(m != null && m.name() != null ? name + "." + m.name() : name);
            if (!proxyless) {
                r.setMetadata(ConfigMetadata.virtualService(vs.namespace(), vs.name()));
            }
            if (http.redirect() != null) {
                r.setRedirect(RoutePaths.redirect(http.redirect(), vs.gatewaySemantics()));
            } else if (http.directResponse() != null) {
                DirectResponseAction.Builder d = DirectResponseAction.newBuilder()
                        .setStatus(http.directResponse().status());
                if (http.directResponse().body() != null) {
                    d.setBody(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                            .setInlineString(http.directResponse().body()));
                }
                r.setDirectResponse(d);
            } else {
                r.setRoute(action(vs, http, port, snapshot, proxyless, proxy, services, r.getMatch()));
            }
            if (http.fault() != null) {
                r.putTypedPerFilterConfig(FAULT_FILTER, Any.pack(fault(http.fault())));
            }
            if (!proxyless) {
                headers(r, http.headers());
                if (http.cors() != null) {
                    r.putTypedPerFilterConfig(CORS_FILTER, Any.pack(cors(http.cors())));
                }
            }
            out.add(r.build());
        }
        return out;
    }

    /** Istio's CorsPolicy in Envoy's terms, as istiod translates it (per-route config of the CORS filter). */
    static CorsPolicy cors(VirtualService.CorsPolicy c) {
        CorsPolicy.Builder b = CorsPolicy.newBuilder()
                .setForwardNotMatchingPreflights(BoolValue.of(c.forwardUnmatchedPreflights()))
                .setAllowMethods(String.join(",", c.allowMethods()))
                .setAllowHeaders(String.join(",", c.allowHeaders()))
                .setExposeHeaders(String.join(",", c.exposeHeaders()))
                .setFilterEnabled(RuntimeFractionalPercent.newBuilder().setDefaultValue(FractionalPercent.newBuilder()
                        .setNumerator(100).setDenominator(FractionalPercent.DenominatorType.HUNDRED)));
        c.allowOrigins().forEach(o -> b.addAllowOriginStringMatch(RouteMatches.string(o)));
        if (c.allowCredentials()) {
            b.setAllowCredentials(BoolValue.of(true));
        }
        if (c.maxAge() != null) {
            b.setMaxAge(Long.toString(c.maxAge().getSeconds()));
        }
        return b.build();
    }

    /**
     * Whether a match is for this proxy, as istiod decides (its sourceMatchHTTP): a match naming gateways is for
     * those ("mesh": sidecars; a name without namespace: in the VirtualService's); otherwise it is for proxies whose
     * labels include its sourceLabels, in its sourceNamespace when it names one.
     */
    static boolean forProxy(VirtualService.Match m, VirtualService vs, ProxyInfo proxy, Gateway gateway) {
        if (!m.gateways().isEmpty()) {
            return m.gateways().stream().anyMatch(g -> gateway == null ? g.equals("mesh")
                    : g.equals(gateway.namespace() + "/" + gateway.name())
                            || (g.equals(gateway.name()) && vs.namespace().equals(gateway.namespace())));
        }
        return m.sourceLabels().entrySet().stream().allMatch(e -> e.getValue().equals(proxy.labels().get(e.getKey())))
                && (m.sourceNamespace() == null || m.sourceNamespace().equals(proxy.namespace()));
    }

    private static RouteAction action(VirtualService vs, VirtualService.HttpRoute http, int port,
            MeshSnapshot snapshot, boolean proxyless, ProxyInfo proxy, Function<String, ServiceModel> services,
            io.envoyproxy.envoy.config.route.v3.RouteMatch match) {
        RouteAction.Builder a = RouteAction.newBuilder();
        if (vs.gatewaySemantics()) {
            // As istiod for Gateway API routes: a backend that is not there answers 500 (the Gateway API's rule for
            // an invalid backendRef), not 503.
            a.setClusterNotFoundResponseCode(RouteAction.ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR);
        }
        List<VirtualService.RouteDestination> dests = http.route();
        if (dests.size() == 1) {
            a.setCluster(cluster(vs, dests.get(0).destination(), port, services));
        } else {
            WeightedCluster.Builder wc = WeightedCluster.newBuilder();
            for (VirtualService.RouteDestination d : dests) {
                if (d.weight() == 0) {
                    continue;
                }
                WeightedCluster.ClusterWeight.Builder cw = WeightedCluster.ClusterWeight.newBuilder()
                        .setName(cluster(vs, d.destination(), port, services))
                        .setWeight(UInt32Value.of(d.weight()));
                if (!proxyless) {
                    VirtualService.Headers h = d.headers();
                    h.requestSet().forEach((k, v) -> cw.addRequestHeadersToAdd(header(k, v, false)));
                    h.requestAdd().forEach((k, v) -> cw.addRequestHeadersToAdd(header(k, v, true)));
                    cw.addAllRequestHeadersToRemove(h.requestRemove());
                    h.responseSet().forEach((k, v) -> cw.addResponseHeadersToAdd(header(k, v, false)));
                    h.responseAdd().forEach((k, v) -> cw.addResponseHeadersToAdd(header(k, v, true)));
                    cw.addAllResponseHeadersToRemove(h.responseRemove());
                }
                wc.addClusters(cw);
            }
            a.setWeightedClusters(wc);
        }
        if (http.timeout() != null) {
            a.setTimeout(Protos.duration(http.timeout()));
            if (proxyless) {
                a.setMaxStreamDuration(RouteAction.MaxStreamDuration.newBuilder()
                        .setMaxStreamDuration(Protos.duration(http.timeout())));
            }
        }
        if (http.retries() == null ? !proxyless : http.retries().attempts() > 0) {
            // No retries block: Istio's default policy (proxyless gRPC clients get only what the VirtualService says).
            RetryPolicy rp = http.retries() == null ? defaultRetryPolicy() : retryPolicy(http.retries());
            a.setRetryPolicy(proxyless ? rp.toBuilder().clearRetryHostPredicate().clearHostSelectionRetryMaxAttempts().build()
                    : rp);
        }
        if (!proxyless) {
            if (http.rewrite() != null) {
                RoutePaths.rewrite(a, http.rewrite(), vs.gatewaySemantics(), match);
                if (http.rewrite().authority() != null) {
                    a.setHostRewriteLiteral(http.rewrite().authority());
                }
            }
            for (VirtualService.Mirror mirror : http.mirrors()) {
                double pct = mirror.percent() == null ? 100.0 : mirror.percent();
                a.addRequestMirrorPolicies(RouteAction.RequestMirrorPolicy.newBuilder()
                        .setCluster(cluster(vs, mirror.destination(), port, services))
                        .setRuntimeFraction(RuntimeFractionalPercent.newBuilder().setDefaultValue(
                                FractionalPercent.newBuilder().setNumerator((int) Math.round(pct * 10_000))
                                        .setDenominator(FractionalPercent.DenominatorType.MILLION))));
            }
        }
        VirtualService.Destination first = dests.get(0).destination();
        String firstHost = Hosts.resolve(first.host(), vs.namespace());
        DestinationRule dr = snapshot.destinationRule(firstHost, proxy.namespace(), proxy.labels());
        addHashPolicy(a, dr, port(first, port, services.apply(firstHost)), first.subset(), proxyless);
        return a.build();
    }

    /**
     * The DestinationRule's consistent-hash key for this port and subset, if it has one, as the route's hash policy
     * (grpc-java hashes on headers only: proxyless clients get no other key).
     */
    static void addHashPolicy(RouteAction.Builder a, DestinationRule dr, int port, String subset, boolean proxyless) {
        DestinationRule.LoadBalancer lb = dr == null ? null : dr.policyFor(port, subset).loadBalancer();
        if (lb != null && lb.consistentHash() && (!proxyless || lb.hashHeader() != null)) {
            a.addHashPolicy(hashPolicy(lb));
        }
    }

    /** A DestinationRule's consistent-hash key as the route's hash policy, as istiod translates it. */
    private static RouteAction.HashPolicy hashPolicy(DestinationRule.LoadBalancer lb) {
        RouteAction.HashPolicy.Builder h = RouteAction.HashPolicy.newBuilder();
        if (lb.hashHeader() != null) {
            h.setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(lb.hashHeader()));
        } else if (lb.hashCookie() != null) {
            RouteAction.HashPolicy.Cookie.Builder c = RouteAction.HashPolicy.Cookie.newBuilder().setName(lb.hashCookie());
            if (lb.cookiePath() != null) {
                c.setPath(lb.cookiePath());
            }
            if (lb.cookieTtl() != null) {
                c.setTtl(Protos.duration(lb.cookieTtl()));
            }
            h.setCookie(c);
        } else if (lb.hashSourceIp()) {
            h.setConnectionProperties(RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true));
        } else {
            h.setQueryParameter(RouteAction.HashPolicy.QueryParameter.newBuilder().setName(lb.hashQueryParameter()));
        }
        return h.build();
    }

    /**
     * The cluster a destination names, as istiod's GetDestinationCluster: its port ({@link #port}), for the service
     * {@code services} gives for its host (null: none).
     */
    static String cluster(VirtualService vs, VirtualService.Destination d, int port,
            Function<String, ServiceModel> services) {
        String host = Hosts.resolve(d.host(), vs.namespace());
        return ClusterNames.outbound(host, port(d, port, services.apply(host)), d.subset());
    }

    /**
     * A destination's port, as istiod's GetDestinationCluster picks it: its own, else the port of {@code service}
     * when that is its only one, else the port of the route (listener) being built. Which service istiod passes
     * depends on the route ({@link #httpServices}; a sidecar's TCP and TLS routes: its scope's).
     */
    static int port(VirtualService.Destination d, int port, ServiceModel service) {
        if (d.port() != null) {
            return d.port();
        }
        return service != null && service.ports().size() == 1 ? service.ports().get(0).number() : port;
    }

    /**
     * The services istiod looks an HTTP route's destinations up in. On a router, the one of that name exported to
     * its namespace (gateway.go buildNameToServiceMapForHTTPRoutes, whose fallback is the gateway's scope), so a
     * single-port destination keeps its port. On a sidecar or a proxyless client none: istiod looks them up among
     * the services its egress sees with the route's port, each cut down to that one port (httproute.go
     * BuildSidecarOutboundVirtualHosts), so a destination without a port always goes to the route's port.
     */
    static Function<String, ServiceModel> httpServices(Gateway gateway, ProxyInfo proxy, MeshSnapshot snapshot) {
        return gateway == null ? host -> null : host -> snapshot.service(host, proxy.namespace());
    }

    static HTTPFault fault(VirtualService.Fault f) {
        HTTPFault.Builder b = HTTPFault.newBuilder();
        if (f.delay() != null) {
            b.setDelay(FaultDelay.newBuilder().setFixedDelay(Protos.duration(f.delay()))
                    .setPercentage(Protos.percent(f.delayPercent())));
        }
        if (f.abortStatus() != null || f.abortGrpcStatus() != null) {
            FaultAbort.Builder a = FaultAbort.newBuilder().setPercentage(Protos.percent(f.abortPercent()));
            if (f.abortStatus() != null) {
                a.setHttpStatus(f.abortStatus());
            } else {
                a.setGrpcStatus(f.abortGrpcStatus());
            }
            b.setAbort(a);
        }
        return b.build();
    }

    private static void headers(Route.Builder r, VirtualService.Headers h) {
        h.requestSet().forEach((k, v) -> r.addRequestHeadersToAdd(header(k, v, false)));
        h.requestAdd().forEach((k, v) -> r.addRequestHeadersToAdd(header(k, v, true)));
        r.addAllRequestHeadersToRemove(h.requestRemove());
        h.responseSet().forEach((k, v) -> r.addResponseHeadersToAdd(header(k, v, false)));
        h.responseAdd().forEach((k, v) -> r.addResponseHeadersToAdd(header(k, v, true)));
        r.addAllResponseHeadersToRemove(h.responseRemove());
    }

    private static HeaderValueOption header(String k, String v, boolean append) {
        return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(k).setValue(v))
                .setAppendAction(append ? HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
                        : HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
                .build();
    }

    /** Retries go to another endpoint than the tries before (Envoy's previous_hosts predicate), as Istio asks. */
    private static final RetryPolicy.RetryHostPredicate PREVIOUS_HOSTS = RetryPolicy.RetryHostPredicate.newBuilder()
            .setName("envoy.retry_host_predicates.previous_hosts")
            .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate
                    .getDefaultInstance()))
            .build();
    private static final int HOST_SELECTION_ATTEMPTS = 5;

    /**
     * Istio's default retry policy, on every HTTP route whose VirtualService has no {@code retries} block and on the
     * default route of a service without a VirtualService: 2 retries on connect-failure, refused-stream, unavailable,
     * cancelled and status 503, each on another endpoint. {@code retries: {attempts: 0}} turns it off.
     */
    static RetryPolicy defaultRetryPolicy() {
        return retryPolicy(new VirtualService.Retries(DEFAULT_RETRIES, null, null));
    }

    /**
     * A VirtualService's {@code retries} as Envoy's retry policy, the way Istio converts it: HTTP status codes in
     * {@code retryOn} ("503,connect-failure") become {@code retriable_status_codes} (with the
     * {@code retriable-status-codes} condition added when it is missing), since Envoy's {@code retry_on} takes
     * only condition names; without a {@code retryOn}, Istio's default conditions apply with 503 retriable; a
     * {@code backoff} is the base interval of Envoy's {@code retry_back_off}.
     */
    static RetryPolicy retryPolicy(VirtualService.Retries retries) {
        RetryPolicy.Builder rp = RetryPolicy.newBuilder().setNumRetries(UInt32Value.of(retries.attempts()))
                .addRetryHostPredicate(PREVIOUS_HOSTS).setHostSelectionRetryMaxAttempts(HOST_SELECTION_ATTEMPTS);
        if (retries.retryOn() == null || retries.retryOn().isBlank()) {
            rp.setRetryOn(DEFAULT_RETRY_ON).addRetriableStatusCodes(503);
        } else {
            List<String> on = new ArrayList<>();
            for (String token : retries.retryOn().split(",")) {
                String t = token.trim();
                if (t.isEmpty()) {
                    continue;
                }
                if (t.chars().allMatch(Character::isDigit)) {
                    rp.addRetriableStatusCodes(Integer.parseInt(t));
                } else if (!on.contains(t)) {
                    on.add(t);
                }
            }
            if (rp.getRetriableStatusCodesCount() > 0 && !on.contains("retriable-status-codes")) {
                on.add("retriable-status-codes");
            }
            rp.setRetryOn(String.join(",", on));
        }
        if (retries.perTryTimeout() != null) {
            rp.setPerTryTimeout(Protos.duration(retries.perTryTimeout()));
        }
        if (retries.backoff() != null) {
            rp.setRetryBackOff(RetryPolicy.RetryBackOff.newBuilder().setBaseInterval(Protos.duration(retries.backoff())));
        }
        return rp.build();
    }
}
