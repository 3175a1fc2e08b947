package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.HealthStatusSet;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.envoyproxy.envoy.type.http.v3.Cookie;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.PersistentSession;
import io.mesh.pilot.model.ServiceModel;

/**
 * Istio's persistent sessions, as the newest istiod emits them (pilot/pkg/networking/util
 * MaybeBuildStatefulSessionFilterConfig and its callers): with PILOT_ENABLE_PERSISTENT_SESSION_FILTER
 * ({@link MeshSettings#persistentSessionFilter}) every outbound and router HttpConnectionManager carries the stateful
 * session filter with an empty config (xdsfilters.EmptySessionFilter: it does nothing on its own), and the virtual
 * host of a labelled service overrides it per route ({@code typed_per_filter_config}) with the service's cookie or
 * header session state. Inbound sides get neither. Whatever the flag, a labelled service's default outbound cluster
 * keeps its DRAINING endpoints usable by a session ({@code override_host_status}, istiod's SupportsDrainingEndpoints).
 */
final class StatefulSessions {
    static final String FILTER = "envoy.filters.http.stateful_session";
    static final String COOKIE = "envoy.http.stateful_session.cookie";
    static final String HEADER = "envoy.http.stateful_session.header";

    private StatefulSessions() {
    }

    /** istiod's EmptySessionFilter: in the chain so that routes can turn it on. */
    static HttpFilter emptyFilter() {
        return HttpFilter.newBuilder().setName(FILTER).setTypedConfig(Any.pack(StatefulSession.getDefaultInstance()))
                .build();
    }

    /**
     * The service's session on its virtual host, when the flag is on. The cookie has no TTL (a session cookie): the
     * newest istiod sets none ("expiration is better handled in the cookie content"); older ones set 120s.
     */
    static void addTo(VirtualHost.Builder vh, ServiceModel service, MeshSettings mesh) {
        PersistentSession session = service == null ? null : service.persistentSession();
        if (session == null || !mesh.persistentSessionFilter()) {
            return;
        }
        vh.putTypedPerFilterConfig(FILTER, Any.pack(StatefulSessionPerRoute.newBuilder()
                .setStatefulSession(config(session)).build()));
    }

    static StatefulSession config(PersistentSession session) {
        TypedExtensionConfig state = session.kind() == PersistentSession.Kind.COOKIE
                ? TypedExtensionConfig.newBuilder().setName(COOKIE).setTypedConfig(Any.pack(
                        CookieBasedSessionState.newBuilder().setCookie(Cookie.newBuilder().setName(session.name())
                                .setPath(session.path())).build())).build()
                : TypedExtensionConfig.newBuilder().setName(HEADER).setTypedConfig(Any.pack(
                        HeaderBasedSessionState.newBuilder().setName(session.name()).build())).build();
        return StatefulSession.newBuilder().setSessionState(state).build();
    }

    /**
     * istiod's override_host_status for a service with either label, in its order: HEALTHY, DRAINING, UNKNOWN,
     * DEGRADED (Envoy's default lacks DRAINING), so that a session's requests still reach a draining endpoint.
     */
    static void overrideHostStatus(Cluster.Builder c, ServiceModel service) {
        if (service.persistentSession() == null) {
            return;
        }
        c.setCommonLbConfig(c.getCommonLbConfig().toBuilder().setOverrideHostStatus(HealthStatusSet.newBuilder()
                .addStatuses(HealthStatus.HEALTHY).addStatuses(HealthStatus.DRAINING)
                .addStatuses(HealthStatus.UNKNOWN).addStatuses(HealthStatus.DEGRADED)));
    }
}
