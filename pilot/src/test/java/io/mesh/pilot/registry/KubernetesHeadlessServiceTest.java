package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A headless Service (clusterIP: None, a StatefulSet's) from the Fabric8 mock API, driven by the real kubectl, as a
 * sidecar sees it over ADS, in istiod's shape: ORIGINAL_DST clusters with auto mTLS when every pod has a sidecar,
 * a TCP listener per pod IP to that cluster, HTTP routed by the port's listener with the pods' names under the
 * service's, and the per-pod listeners following the pods.
 */
class KubernetesHeadlessServiceTest {
    static final String DB = "db.demo.svc.cluster.local";
    static final String PLAIN = "plain.demo.svc.cluster.local";

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;
    KubernetesClient client;
    PilotHarness harness;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
        client = k8s.client;
        harness = k8s.harness;
        kubectl(pod("db-0", "db", true) + pod("db-1", "db", true) + pod("plain-0", "plain", false) + """
                apiVersion: v1
                kind: Service
                metadata: {name: db, namespace: demo}
                spec:
                  clusterIP: None
                  selector: {app: db}
                  ports:
                  - {name: tcp-postgres, port: 5432, protocol: TCP}
                  - {name: http-admin, port: 8080, protocol: TCP}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: plain, namespace: demo}
                spec:
                  clusterIP: None
                  selector: {app: plain}
                  ports: [{name: tcp-redis, port: 6379, protocol: TCP}]
                ---
                """ + slice("db", "db-0", "10.1.0.20") + slice("db", "db-1", "10.1.0.21")
                + slice("plain", "plain-0", "10.1.0.30"), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().endpointsOf(DB).size() == 2
                && harness.pilot.snapshot().endpointsOf(PLAIN).size() == 1);
    }

    private String kubectl(String stdin, String... args) {
        return k8s.kubectl(stdin, args);
    }

    /** A pod of the app; {@code sidecar}: the injector's label, as on a pod with a mesh sidecar. */
    private static String pod(String name, String app, boolean sidecar) {
        return """
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: demo, labels: {app: %s%s}}
                spec:
                  serviceAccountName: %s
                  containers: [{name: app, image: %s}]
                ---
                """.formatted(name, app, sidecar ? ", security.istio.io/tlsMode: istio" : "", app, app);
    }

    /** One EndpointSlice per pod, named after it, with the service's ports. */
    private static String slice(String service, String pod, String ip) {
        String ports = service.equals("db")
                ? "[{name: tcp-postgres, port: 5432, protocol: TCP}, {name: http-admin, port: 8080, protocol: TCP}]"
                : "[{name: tcp-redis, port: 6379, protocol: TCP}]";
        return """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: %s
                  namespace: demo
                  labels: {kubernetes.io/service-name: %s}
                addressType: IPv4
                ports: %s
                endpoints:
                - addresses: [%s]
                  conditions: {ready: true}
                  targetRef: {kind: Pod, name: %s, namespace: demo}
                ---
                """.formatted(pod, service, ports, ip, pod);
    }

    private RawAdsClient sidecar(String ip, String pod) {
        RawAdsClient c = new RawAdsClient(harness.pilot.xdsPort(), "sidecar~" + ip + "~" + pod + ".demo~demo.svc.cluster.local",
                null);
        c.openSotw();
        return c;
    }

    /** The next response of this type (ACKed), skipping others on the stream. */
    private static DiscoveryResponse next(RawAdsClient c, String type) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            DiscoveryResponse r = c.next(Duration.ofMillis(500));
            if (r != null) {
                c.ack(r, r.getTypeUrl().equals(Resources.V3.ROUTE_TYPE_URL) ? List.of("8080") : List.of());
                if (r.getTypeUrl().equals(type)) {
                    return r;
                }
            }
        }
        throw new AssertionError("no " + type + " response");
    }

    /** Each outbound TCP listener (not virtual, not 0.0.0.0): name -> "address:port -> cluster". */
    private static Map<String, String> tcpListeners(DiscoveryResponse lds) throws Exception {
        Map<String, String> out = new TreeMap<>();
        for (var any : lds.getResourcesList()) {
            Listener l = any.unpack(Listener.class);
            if (l.getName().startsWith("virtual") || l.getName().startsWith("0.0.0.0_")) {
                continue;
            }
            assertFalse(l.getBindToPort().getValue(), l.getName());
            assertEquals(1, l.getFilterChainsCount(), l.getName());
            var f = l.getFilterChains(0).getFilters(0);
            assertEquals("envoy.filters.network.tcp_proxy", f.getName());
            out.put(l.getName(), l.getAddress().getSocketAddress().getAddress() + ":"
                    + l.getAddress().getSocketAddress().getPortValue() + " -> "
                    + f.getTypedConfig().unpack(TcpProxy.class).getCluster());
        }
        return out;
    }

    private static Map<String, Cluster> clusters(DiscoveryResponse cds) throws Exception {
        Map<String, Cluster> out = new TreeMap<>();
        for (var any : cds.getResourcesList()) {
            Cluster c = any.unpack(Cluster.class);
            out.put(c.getName(), c);
        }
        return out;
    }

    private static List<String> sans(Cluster c) throws Exception {
        return c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class).getCommonTlsContext()
                .getCombinedValidationContext().getDefaultValidationContext().getMatchSubjectAltNamesList().stream()
                .map(m -> m.getExact()).toList();
    }

    @Test
    void aPassthroughServicesClustersAreOriginalDstWithAutoMtlsOnlyWhenEveryPodHasASidecar() throws Exception {
        try (RawAdsClient sidecar = sidecar("10.1.0.9", "client-1")) {
            sidecar.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            Map<String, Cluster> clusters = clusters(next(sidecar, Resources.V3.CLUSTER_TYPE_URL));
            for (String name : List.of("outbound|5432||" + DB, "outbound|8080||" + DB, "outbound|6379||" + PLAIN)) {
                Cluster c = clusters.get(name);
                assertNotNull(c, name + " in " + clusters.keySet());
                assertEquals(Cluster.DiscoveryType.ORIGINAL_DST, c.getType(), name);
                assertEquals(Cluster.LbPolicy.CLUSTER_PROVIDED, c.getLbPolicy(), name);
                assertFalse(c.hasEdsClusterConfig(), name);
            }
            // db's pods carry security.istio.io/tlsMode=istio: ISTIO_MUTUAL checking db's service account.
            Cluster db = clusters.get("outbound|5432||" + DB);
            assertTrue(db.hasTransportSocket());
            assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/db"), sans(db));
            assertEquals("outbound_.5432_._." + DB, db.getTransportSocket().getTypedConfig()
                    .unpack(UpstreamTlsContext.class).getSni());
            assertTrue(clusters.get("outbound|8080||" + DB).hasTransportSocket());
            // plain's pod has no sidecar: plaintext.
            assertFalse(clusters.get("outbound|6379||" + PLAIN).hasTransportSocket());
        }
        // A router has no original destination: istiod gives it EDS for a headless Service too.
        try (RawAdsClient router = new RawAdsClient(harness.pilot.xdsPort(),
                "router~10.1.0.2~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
            router.openSotw();
            router.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            Cluster db = clusters(next(router, Resources.V3.CLUSTER_TYPE_URL)).get("outbound|5432||" + DB);
            assertEquals(Cluster.DiscoveryType.EDS, db.getType());
        }
    }

    @Test
    void eachPodOfATcpPortGetsAListenerToTheServiceAndHttpIsRoutedByThePodsNames() throws Exception {
        try (RawAdsClient sidecar = sidecar("10.1.0.9", "client-1")) {
            sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            DiscoveryResponse lds = next(sidecar, Resources.V3.LISTENER_TYPE_URL);
            assertEquals(Map.of(
                    "10.1.0.20_5432", "10.1.0.20:5432 -> outbound|5432||" + DB,
                    "10.1.0.21_5432", "10.1.0.21:5432 -> outbound|5432||" + DB,
                    "10.1.0.30_6379", "10.1.0.30:6379 -> outbound|6379||" + PLAIN), tcpListeners(lds),
                    "a listener per pod and TCP port; the HTTP port has none of its own");
            assertTrue(lds.getResourcesList().stream().anyMatch(a -> {
                try {
                    return a.unpack(Listener.class).getName().equals("0.0.0.0_8080");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }), "the HTTP port's listener");

            sidecar.request(Resources.V3.ROUTE_TYPE_URL, List.of("8080"), "", "", null);
            RouteConfiguration rds = next(sidecar, Resources.V3.ROUTE_TYPE_URL).getResources(0)
                    .unpack(RouteConfiguration.class);
            VirtualHost vh = rds.getVirtualHostsList().stream().filter(v -> v.getName().equals(DB + ":8080"))
                    .findFirst().orElseThrow();
            assertTrue(vh.getDomainsList().containsAll(List.of(DB, "db", "*." + DB, "*." + DB + ":8080", "*.db")),
                    vh.getDomainsList().toString());
            assertEquals("outbound|8080||" + DB, vh.getRoutes(0).getRoute().getCluster());
        }
        // db-0's own sidecar: no listener for its own pod IP (the app calling itself is not outbound).
        try (RawAdsClient self = sidecar("10.1.0.20", "db-0")) {
            self.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            Map<String, String> tcp = tcpListeners(next(self, Resources.V3.LISTENER_TYPE_URL));
            assertFalse(tcp.containsKey("10.1.0.20_5432"), tcp.toString());
            assertTrue(tcp.containsKey("10.1.0.21_5432"), tcp.toString());
        }
    }

    @Test
    void thePerPodListenersFollowThePodsAsTheyComeAndGo() throws Exception {
        try (RawAdsClient sidecar = sidecar("10.1.0.9", "client-1")) {
            sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            assertTrue(tcpListeners(next(sidecar, Resources.V3.LISTENER_TYPE_URL)).containsKey("10.1.0.21_5432"));

            // Scaled up: a third pod and its slice (endpoints only): LDS follows, not only EDS.
            kubectl(pod("db-2", "db", true) + slice("db", "db-2", "10.1.0.22"), "apply", "-f", "-");
            Map<String, String> tcp = Map.of();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!tcp.containsKey("10.1.0.22_5432") && System.nanoTime() < deadline) {
                tcp = tcpListeners(next(sidecar, Resources.V3.LISTENER_TYPE_URL));
            }
            assertEquals("10.1.0.22:5432 -> outbound|5432||" + DB, tcp.get("10.1.0.22_5432"), tcp.toString());

            // A pod goes: its listener goes with it.
            kubectl(null, "delete", "endpointslice", "-n", "demo", "db-0");
            deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (tcp.containsKey("10.1.0.20_5432") && System.nanoTime() < deadline) {
                tcp = tcpListeners(next(sidecar, Resources.V3.LISTENER_TYPE_URL));
            }
            assertEquals(List.of("10.1.0.21_5432", "10.1.0.22_5432", "10.1.0.30_6379"), List.copyOf(tcp.keySet()));
        }
    }

    @Test
    void aPodWithoutASidecarTurnsTheServicesClusterPlaintextAsInIstio() throws Exception {
        try (RawAdsClient sidecar = sidecar("10.1.0.9", "client-1")) {
            sidecar.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            assertTrue(clusters(next(sidecar, Resources.V3.CLUSTER_TYPE_URL)).get("outbound|5432||" + DB)
                    .hasTransportSocket());
            // istiod infers mTLS for a Passthrough service from all its endpoints: one without a sidecar disables it.
            kubectl(pod("db-2", "db", false) + slice("db", "db-2", "10.1.0.22"), "apply", "-f", "-");
            Cluster db = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while ((db == null || db.hasTransportSocket()) && System.nanoTime() < deadline) {
                db = clusters(next(sidecar, Resources.V3.CLUSTER_TYPE_URL)).get("outbound|5432||" + DB);
            }
            assertFalse(db.hasTransportSocket(), "plaintext to every pod of db");
            assertEquals(Cluster.DiscoveryType.ORIGINAL_DST, db.getType());
        }
    }
}
