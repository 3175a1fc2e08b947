package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import java.util.List;

/**
 * The HttpConnectionManager every HTTP listener carries. The router filter is last with a typed Router config
 * (XDS-NOTES: grpc-java NACKs otherwise); the fault filter precedes it so VirtualService faults apply.
 */
final class Hcm {
    static final String NAME = "envoy.filters.network.http_connection_manager";

    private Hcm() {
    }

    /**
     * @param cors with the CORS filter, which applies routes' CORS policies: for Envoy-like proxies (sidecars,
     *             routers), not for proxyless gRPC clients (grpc-java NACKs a filter it does not know)
     */
    static HttpConnectionManager rds(String statPrefix, String routeName, List<HttpFilter> extraFilters, boolean cors) {
        return rds(statPrefix, routeName, extraFilters, cors, false);
    }

    /**
     * @param sessions with the stateful session filter ({@link StatefulSessions#emptyFilter}) before the router, as
     *                 istiod with PILOT_ENABLE_PERSISTENT_SESSION_FILTER for outbound and router listeners
     */
    static HttpConnectionManager rds(String statPrefix, String routeName, List<HttpFilter> extraFilters, boolean cors,
            boolean sessions) {
        return base(statPrefix, extraFilters, cors, sessions).setRds(Rds.newBuilder().setConfigSource(Protos.ads())
                .setRouteConfigName(routeName)).build();
    }

    /** Inline routes with the router filter only: grpc-java servers reject client-only filters such as fault. */
    static HttpConnectionManager inline(String statPrefix, RouteConfiguration routes) {
        return HttpConnectionManager.newBuilder().setStatPrefix(statPrefix).setRouteConfig(routes)
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
                        .setTypedConfig(Any.pack(Router.getDefaultInstance())))
                .build();
    }

    private static HttpConnectionManager.Builder base(String statPrefix, List<HttpFilter> extraFilters, boolean cors,
            boolean sessions) {
        HttpConnectionManager.Builder b = HttpConnectionManager.newBuilder().setStatPrefix(statPrefix);
        b.addAllHttpFilters(extraFilters);
        if (cors) {
            // Before fault, as istiod orders them: a preflight is answered even where a fault would abort.
            b.addHttpFilters(HttpFilter.newBuilder().setName(RouteBuilder.CORS_FILTER)
                    .setTypedConfig(Any.pack(Cors.getDefaultInstance())));
        }
        b.addHttpFilters(HttpFilter.newBuilder().setName(RouteBuilder.FAULT_FILTER)
                .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())));
        if (sessions) {
            b.addHttpFilters(StatefulSessions.emptyFilter());
        }
        b.addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
                .setTypedConfig(Any.pack(Router.getDefaultInstance())));
        return b;
    }
}
