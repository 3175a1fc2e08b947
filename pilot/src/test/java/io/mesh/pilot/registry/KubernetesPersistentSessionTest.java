package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code kubectl label svc} turns a Service's persistent sessions on, switches them from a cookie to a header and off
 * again, and each change reaches a connected sidecar as istiod would send it (with PILOT_ENABLE_PERSISTENT_SESSION_FILTER
 * on): the stateful session config on the Service's outbound virtual host, and {@code override_host_status} on its
 * cluster. The Fabric8 mock API server, the real kubectl and a raw ADS client.
 */
class KubernetesPersistentSessionTest {
    static final String HOST = "web.demo.svc.cluster.local";
    static final String CLUSTER = "outbound|80||" + HOST;

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;
    /** What the sidecar was last sent (a resource that does not change is not sent again). */
    String seenSession;
    Boolean seenOverrides;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
        k8s.harness.pilot.withMesh(MeshSettings.DEFAULT.withPersistentSessionFilter(true));
        k8s.kubectl("""
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: demo}
                spec:
                  selector: {app: web}
                  ports: [{name: http, port: 80, targetPort: 8080}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: web-abc
                  namespace: demo
                  labels: {kubernetes.io/service-name: web}
                addressType: IPv4
                ports: [{name: http, port: 8080, protocol: TCP}]
                endpoints:
                - {addresses: [10.1.0.1], conditions: {ready: true}}
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().endpointsOf(HOST).size() == 1);
    }

    @Test
    void labellingTheServicePushesItsSessionAndRemovingTheLabelRemovesIt() throws Exception {
        try (RawAdsClient sidecar = RawAdsClient.sidecar(k8s.harness.pilot.xdsPort(), "10.1.0.9", "client-1", "demo")) {
            sidecar.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            sidecar.request(Resources.V3.ROUTE_TYPE_URL, List.of("80"), "", "", null);
            awaitState(sidecar, "none", false);

            k8s.kubectl(null, "label", "svc", "web", "-n", "demo", "istio.io/persistent-session=JSESSIONID");
            awaitState(sidecar, "cookie JSESSIONID path /", true);

            k8s.kubectl(null, "label", "svc", "web", "-n", "demo", "istio.io/persistent-session-",
                    "istio.io/persistent-session-header=x-session");
            awaitState(sidecar, "header x-session", true);

            k8s.kubectl(null, "label", "svc", "web", "-n", "demo", "istio.io/persistent-session-header-");
            awaitState(sidecar, "none", false);
        }
    }

    /**
     * Reads the sidecar's pushes (each ACKed) until its route table's web virtual host carries {@code session} and the
     * web cluster {@code override_host_status} as {@code overrides} says, and nothing more comes; fails after 10 s.
     */
    private void awaitState(RawAdsClient c, String session, boolean overrides) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            DiscoveryResponse r = c.next(Duration.ofMillis(200));
            if (r == null) {
                if (session.equals(seenSession) && Boolean.valueOf(overrides).equals(seenOverrides)) {
                    return;
                }
                continue;
            }
            c.ack(r, r.getTypeUrl().equals(Resources.V3.ROUTE_TYPE_URL) ? List.of("80") : List.of());
            if (r.getTypeUrl().equals(Resources.V3.ROUTE_TYPE_URL)) {
                seenSession = session(r.getResources(0).unpack(RouteConfiguration.class));
            } else if (r.getTypeUrl().equals(Resources.V3.CLUSTER_TYPE_URL)) {
                for (Any a : r.getResourcesList()) {
                    Cluster cl = a.unpack(Cluster.class);
                    if (cl.getName().equals(CLUSTER)) {
                        seenOverrides = cl.getCommonLbConfig().hasOverrideHostStatus();
                        if (seenOverrides) {
                            assertEquals(List.of(HealthStatus.HEALTHY, HealthStatus.DRAINING, HealthStatus.UNKNOWN,
                                    HealthStatus.DEGRADED), cl.getCommonLbConfig().getOverrideHostStatus().getStatusesList());
                        }
                    }
                }
            }
        }
        assertEquals(session + " " + overrides, seenSession + " " + seenOverrides);
    }

    private static String session(RouteConfiguration rc) throws Exception {
        for (VirtualHost vh : rc.getVirtualHostsList()) {
            if (vh.getDomainsList().contains(HOST)) {
                Any any = vh.getTypedPerFilterConfigMap().get("envoy.filters.http.stateful_session");
                if (any == null) {
                    return "none";
                }
                var state = any.unpack(StatefulSessionPerRoute.class).getStatefulSession().getSessionState();
                if (state.getName().equals("envoy.http.stateful_session.cookie")) {
                    var cookie = state.getTypedConfig().unpack(CookieBasedSessionState.class).getCookie();
                    return "cookie " + cookie.getName() + " path " + cookie.getPath();
                }
                assertTrue(state.getName().equals("envoy.http.stateful_session.header"), state.getName());
                return "header " + state.getTypedConfig().unpack(HeaderBasedSessionState.class).getName();
            }
        }
        throw new AssertionError("no virtual host for " + HOST + ": " + rc);
    }
}
