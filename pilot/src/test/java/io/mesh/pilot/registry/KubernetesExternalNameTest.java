package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
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
 * Kubernetes ExternalName Services from the Fabric8 mock API, driven by the real kubectl, as a sidecar sees them over
 * ADS. As in Istio (ENABLE_EXTERNAL_NAME_ALIAS, its default since 1.20) each is another name for the service it
 * points at: the target's virtual host answers to it, and it gets no cluster or listener of its own. Before, each was
 * a service with no endpoints: HTTP to it got 503 from the sidecar, where without the mesh it worked.
 */
class KubernetesExternalNameTest {
    static final String WEB = "web.demo.svc.cluster.local";
    static final String API = "api.example.com";

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;
    PilotHarness harness;

    @BeforeEach
    void start() throws Exception {
        k8s = pilots.start(false);
        harness = k8s.harness;
        k8s.kubectl("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: other}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: demo}
                spec:
                  selector: {app: web}
                  clusterIP: 10.96.0.20
                  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: api, namespace: demo}
                spec:
                  hosts: [api.example.com]
                  location: MESH_EXTERNAL
                  resolution: DNS
                  ports: [{number: 80, name: http, protocol: HTTP}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web-alias, namespace: other}
                spec:
                  type: ExternalName
                  externalName: web.demo.svc.cluster.local
                  ports: [{name: tcp-db, port: 5432, protocol: TCP}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: api, namespace: demo}
                spec:
                  type: ExternalName
                  externalName: API.example.com.
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: nowhere, namespace: demo}
                spec:
                  type: ExternalName
                  externalName: unknown.example.org
                  ports: [{name: http, port: 80, protocol: TCP}, {name: tcp, port: 7777, protocol: TCP}]
                """, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot().services().containsKey(WEB)
                && harness.pilot.snapshot().services().containsKey(API)
                && harness.pilot.snapshot().aliasesOf(WEB, "demo").size() == 1
                && harness.pilot.snapshot().aliasesOf(API, "demo").size() == 1);
    }

    @Test
    void anExternalNameServiceIsAnotherNameForItsTargetAndNothingOfItsOwn() throws Exception {
        try (RawAdsClient sidecar = sidecar("demo")) {
            Map<String, List<String>> hosts = domains(rds(sidecar));
            // The target's virtual host also answers to the alias: its FQDN and the short forms a client in this
            // namespace may write (the bare name only from the alias's own namespace).
            assertTrue(hosts.get(WEB + ":80").containsAll(List.of("web-alias.other.svc.cluster.local", "web-alias.other",
                    "web-alias.other.svc", "web-alias.other:80")), hosts.toString());
            assertFalse(hosts.get(WEB + ":80").contains("web-alias"), hosts.toString());
            // externalName is matched as a DNS name: case and a trailing dot do not matter. The alias works for a
            // ServiceEntry host as well.
            assertTrue(hosts.get(API + ":80").containsAll(List.of("api.demo.svc.cluster.local", "api", "api:80")),
                    hosts.toString());
            // An alias of a name the mesh does not know changes nothing; no ExternalName Service is a host of its own.
            assertEquals(java.util.Set.of(WEB + ":80", API + ":80", "allow_any"), hosts.keySet());
            for (List<String> domains : hosts.values()) {
                assertFalse(domains.stream().anyMatch(d -> d.startsWith("nowhere")), domains.toString());
            }
        }
        // No cluster and no listener for any of them: their ports (5432, 7777) are not captured.
        try (RawAdsClient sidecar = sidecar("demo")) {
            sidecar.request(Resources.V3.CLUSTER_TYPE_URL, List.of(), "", "", null);
            List<String> clusters = names(next(sidecar, Resources.V3.CLUSTER_TYPE_URL), Cluster.class);
            assertTrue(clusters.contains("outbound|80||" + WEB), clusters.toString());
            assertFalse(clusters.stream().anyMatch(c -> c.contains("web-alias") || c.contains("nowhere")
                    || c.contains("api.demo")), clusters.toString());
            sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            List<String> listeners = names(next(sidecar, Resources.V3.LISTENER_TYPE_URL), Listener.class);
            assertEquals(List.of("0.0.0.0_80", "virtualInbound", "virtualOutbound"), listeners.stream().sorted().toList());
        }
        // From the alias's own namespace, its bare name works too.
        try (RawAdsClient sidecar = sidecar("other")) {
            Map<String, List<String>> hosts = domains(rds(sidecar));
            assertTrue(hosts.get(WEB + ":80").containsAll(List.of("web-alias", "web-alias:80")), hosts.toString());
        }
    }

    @Test
    void repointingOrDeletingTheExternalNameServiceMovesOrDropsTheAlias() throws Exception {
        try (RawAdsClient sidecar = sidecar("demo")) {
            assertTrue(domains(rds(sidecar)).get(WEB + ":80").contains("web-alias.other"));
            k8s.kubectl(null, "patch", "service", "web-alias", "-n", "other", "--type=merge", "-p",
                    "{\"spec\":{\"externalName\":\"api.example.com\"}}");
            Map<String, List<String>> hosts = domains(next(sidecar, Resources.V3.ROUTE_TYPE_URL));
            assertFalse(hosts.get(WEB + ":80").contains("web-alias.other"), hosts.toString());
            assertTrue(hosts.get(API + ":80").contains("web-alias.other"), hosts.toString());
            k8s.kubectl(null, "delete", "service", "web-alias", "-n", "other");
            hosts = domains(next(sidecar, Resources.V3.ROUTE_TYPE_URL));
            assertFalse(hosts.values().stream().anyMatch(d -> d.contains("web-alias.other")), hosts.toString());
        }
    }

    private RawAdsClient sidecar(String namespace) {
        return RawAdsClient.sidecar(harness.pilot.xdsPort(), "10.1.0.9", "client-1", namespace);
    }

    private static DiscoveryResponse rds(RawAdsClient c) throws Exception {
        c.request(Resources.V3.ROUTE_TYPE_URL, List.of("80"), "", "", null);
        return next(c, Resources.V3.ROUTE_TYPE_URL);
    }

    /** The next response of this type (ACKed), skipping others on the stream. */
    private static DiscoveryResponse next(RawAdsClient c, String type) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            DiscoveryResponse r = c.next(Duration.ofMillis(500));
            if (r != null) {
                c.ack(r, r.getTypeUrl().equals(Resources.V3.ROUTE_TYPE_URL) ? List.of("80") : List.of());
                if (r.getTypeUrl().equals(type)) {
                    return r;
                }
            }
        }
        throw new AssertionError("no " + type + " response");
    }

    /** Route configuration "80": each virtual host's name and domains, in order. */
    private static Map<String, List<String>> domains(DiscoveryResponse rds) throws Exception {
        assertEquals(1, rds.getResourcesCount());
        RouteConfiguration rc = rds.getResources(0).unpack(RouteConfiguration.class);
        Map<String, List<String>> out = new java.util.LinkedHashMap<>();
        for (VirtualHost vh : rc.getVirtualHostsList()) {
            out.put(vh.getName(), vh.getDomainsList());
        }
        return out;
    }

    private static <T extends com.google.protobuf.Message> List<String> names(DiscoveryResponse r, Class<T> type)
            throws Exception {
        List<String> out = new java.util.ArrayList<>();
        for (var any : r.getResourcesList()) {
            T m = any.unpack(type);
            out.add(Resources.getResourceName(m));
        }
        return out;
    }
}
