package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.HealthStatusSet;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.envoyproxy.envoy.type.http.v3.Cookie;
import io.mesh.gateway.route.StatefulSession;
import io.mesh.gateway.upstream.ClusterSpec;
import io.mesh.gateway.upstream.Endpoint;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The stateful session filter, its per-route config and {@code override_host_status} as the gateway accepts (ACK) or
 * refuses (NACK, with the reason) them, as Envoy's validation does.
 */
class StatefulSessionTranslationTest {
    static final String FILTER = "envoy.filters.http.stateful_session";

    static io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession cookie(String name, String path,
            long ttl) {
        return io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.newBuilder()
                .setSessionState(TypedExtensionConfig.newBuilder().setName("envoy.http.stateful_session.cookie")
                        .setTypedConfig(Any.pack(CookieBasedSessionState.newBuilder().setCookie(Cookie.newBuilder()
                                .setName(name).setPath(path).setTtl(com.google.protobuf.Duration.newBuilder()
                                        .setSeconds(ttl))).build())))
                .build();
    }

    static Listener listener(HttpFilter... sessionFilters) {
        HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder().setStatPrefix("in")
                .setRds(Rds.newBuilder().setRouteConfigName("r"));
        for (HttpFilter f : sessionFilters) {
            hcm.addHttpFilters(f);
        }
        hcm.addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router").setTypedConfig(Any.pack(
                Router.getDefaultInstance())));
        return Listener.newBuilder().setName("l").setAddress(Address.newBuilder().setSocketAddress(SocketAddress
                .newBuilder().setAddress("127.0.0.1").setPortValue(8080)))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm.build()))))
                .build();
    }

    static HttpFilter filter(com.google.protobuf.Message config) {
        return HttpFilter.newBuilder().setName(FILTER).setTypedConfig(Any.pack(config)).build();
    }

    static RouteConfiguration routes(Any vhostConfig, Any routeConfig) {
        Route.Builder r = Route.newBuilder().setName("r1").setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(RouteAction.newBuilder().setCluster("c"));
        if (routeConfig != null) {
            r.putTypedPerFilterConfig(FILTER, routeConfig);
        }
        VirtualHost.Builder vh = VirtualHost.newBuilder().setName("web").addDomains("*").addRoutes(r);
        if (vhostConfig != null) {
            vh.putTypedPerFilterConfig(FILTER, vhostConfig);
        }
        return RouteConfiguration.newBuilder().setName("http.80").addVirtualHosts(vh).build();
    }

    static Any perRoute(io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession s) {
        return Any.pack(StatefulSessionPerRoute.newBuilder().setStatefulSession(s).build());
    }

    static StatefulSession routeSession(RouteConfiguration rc) throws ConfigRejected {
        return RouteTranslator.translate(rc).virtualHosts().get(0).routes().get(0).statefulSession();
    }

    @Test
    void istiodsEmptyFilterIsAcceptedAndDoesNothingUntilARouteOverridesIt() throws ConfigRejected {
        StatefulSession chain = ListenerTranslator.translate(listener(filter(
                io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.getDefaultInstance())))
                .chains().get(0).statefulSession();
        assertEquals(new StatefulSession(null, false, false), chain);
        assertNull(StatefulSession.effective(chain, null));
        StatefulSession route = routeSession(routes(perRoute(cookie("sticky", "/", 0)), null));
        assertEquals(new StatefulSession(new StatefulSession.Cookie("sticky", "/", 0), false, false),
                StatefulSession.effective(chain, route));
        // Without the filter in the chain a route's config does nothing, as in Envoy.
        assertNull(ListenerTranslator.translate(listener()).chains().get(0).statefulSession());
        assertNull(StatefulSession.effective(null, route));
    }

    @Test
    void aRoutesOwnConfigWinsOverItsVirtualHostsAndMayDisableIt() throws ConfigRejected {
        Any header = perRoute(io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.newBuilder()
                .setStrict(true).setSessionState(TypedExtensionConfig.newBuilder().setName("envoy.http.stateful_session.header")
                        .setTypedConfig(Any.pack(HeaderBasedSessionState.newBuilder().setName("X-Session").build())))
                .build());
        assertEquals(new StatefulSession(new StatefulSession.Header("x-session"), true, false),
                routeSession(routes(perRoute(cookie("sticky", "/", 120)), header)));
        StatefulSession disabled = routeSession(routes(perRoute(cookie("sticky", "/", 120)),
                Any.pack(StatefulSessionPerRoute.newBuilder().setDisabled(true).build())));
        assertEquals(StatefulSession.DISABLED, disabled);
        assertNull(StatefulSession.effective(new StatefulSession(null, false, false), disabled));
    }

    @Test
    void malformedConfigsAreRefusedWithTheirReason() {
        assertNack("cookie.name must not be empty", routes(perRoute(cookie("", "/", 0)), null));
        assertNack("cookie.ttl must not be negative", routes(perRoute(cookie("s", "/", -1)), null));
        assertNack("is not an HTTP token", routes(perRoute(cookie("a b", "/", 0)), null));
        assertNack("cookie is required", routes(perRoute(
                io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.newBuilder()
                        .setSessionState(TypedExtensionConfig.newBuilder().setName("envoy.http.stateful_session.cookie")
                                .setTypedConfig(Any.pack(CookieBasedSessionState.getDefaultInstance()))).build()), null));
        assertNack("name must not be empty", routes(null, perRoute(
                io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.newBuilder()
                        .setSessionState(TypedExtensionConfig.newBuilder().setName("envoy.http.stateful_session.header")
                                .setTypedConfig(Any.pack(HeaderBasedSessionState.getDefaultInstance()))).build())));
        assertNack("unsupported session state type.googleapis.com/google.protobuf.Empty", routes(perRoute(
                io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.newBuilder()
                        .setSessionState(TypedExtensionConfig.newBuilder().setName("envoy.http.stateful_session.envelope")
                                .setTypedConfig(Any.pack(com.google.protobuf.Empty.getDefaultInstance()))).build()), null));
        assertNack("disabled must be true when set", routes(null,
                Any.pack(StatefulSessionPerRoute.newBuilder().setDisabled(false).build())));
        assertNack("needs disabled or stateful_session", routes(null,
                Any.pack(StatefulSessionPerRoute.getDefaultInstance())));
        assertNack("must be type.googleapis.com/envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute",
                routes(null, Any.pack(cookie("s", "/", 0))));
        ConfigRejected twice = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(listener(
                filter(cookie("s", "/", 0)), filter(cookie("t", "/", 0)))));
        assertTrue(twice.getMessage().contains("more than one envoy.filters.http.stateful_session filter"),
                twice.getMessage());
        ConfigRejected wrongType = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(listener(
                filter(StatefulSessionPerRoute.newBuilder().setDisabled(true).build()))));
        assertTrue(wrongType.getMessage().contains("listener l") && wrongType.getMessage().contains("typed_config must be"),
                wrongType.getMessage());
    }

    static void assertNack(String reason, RouteConfiguration rc) {
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> RouteTranslator.translate(rc));
        assertTrue(e.getMessage().contains(reason) && e.getMessage().contains("route config http.80 virtual host web"),
                e.getMessage());
    }

    static Cluster cluster(HealthStatusSet statuses) {
        Cluster.Builder c = Cluster.newBuilder().setName("c").setType(Cluster.DiscoveryType.EDS)
                .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setServiceName("c"));
        if (statuses != null) {
            c.setCommonLbConfig(Cluster.CommonLbConfig.newBuilder().setOverrideHostStatus(statuses));
        }
        return c.build();
    }

    @Test
    void overrideHostStatusIsReadAsEnvoyReadsIt() throws ConfigRejected {
        ClusterSpec unset = ClusterTranslator.translate(cluster(null));
        assertEquals(List.of(true, true, false, false), overrides(unset), "Envoy's default: HEALTHY, DEGRADED");
        ClusterSpec istiod = ClusterTranslator.translate(cluster(HealthStatusSet.newBuilder()
                .addAllStatuses(List.of(HealthStatus.HEALTHY, HealthStatus.DRAINING, HealthStatus.UNKNOWN,
                        HealthStatus.DEGRADED)).build()));
        assertEquals(List.of(true, true, false, true), overrides(istiod));
        ClusterSpec timeout = ClusterTranslator.translate(cluster(HealthStatusSet.newBuilder()
                .addStatuses(HealthStatus.TIMEOUT).build()));
        assertEquals(List.of(false, false, true, false), overrides(timeout), "TIMEOUT counts as UNHEALTHY");
        assertEquals(List.of(false, false, false, false),
                overrides(ClusterTranslator.translate(cluster(HealthStatusSet.getDefaultInstance()))), "set, empty: none");
    }

    static List<Boolean> overrides(ClusterSpec s) {
        return List.of(s.overrides(Endpoint.Health.HEALTHY.ordinal()), s.overrides(Endpoint.Health.DEGRADED.ordinal()),
                s.overrides(Endpoint.Health.UNHEALTHY.ordinal()), s.overrides(Endpoint.Health.DRAINING.ordinal()));
    }
}
