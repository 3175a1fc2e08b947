package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode, GAMMA for TCPRoutes and TLSRoutes: applied by the real kubectl with a Service or an Istio
 * ServiceEntry as parent (no Gateway at all), they reach a sidecar over ADS as its listeners' routes for that Service's
 * address or the ServiceEntry's host, and pilot writes their parents' status as istiod does (controllerName
 * istio.io/gateway-controller; a ServiceEntry that does not exist: NoMatchingParent with istiod's message).
 */
class KubernetesGatewayApiMeshL4Test {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    static final String CONFIG = """
            apiVersion: v1
            kind: Service
            metadata: {name: db, namespace: demo}
            spec:
              clusterIP: 10.96.0.30
              selector: {app: db}
              ports: [{name: tcp, port: 5432, targetPort: 5432}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: db-v2, namespace: demo}
            spec:
              clusterIP: 10.96.0.31
              selector: {app: db-v2}
              ports: [{name: tcp, port: 5432, targetPort: 5432}]
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: secure, namespace: demo}
            spec:
              hosts: [secure.example.com]
              location: MESH_EXTERNAL
              ports: [{number: 443, name: tls, protocol: TLS}]
              resolution: DNS
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TCPRoute
            metadata: {name: db-split, namespace: demo}
            spec:
              parentRefs: [{group: "", kind: Service, name: db, port: 5432}]
              rules: [{backendRefs: [{name: db-v2, port: 5432}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TLSRoute
            metadata: {name: secure, namespace: demo}
            spec:
              parentRefs: [{group: networking.istio.io, kind: ServiceEntry, name: secure}]
              rules: [{backendRefs: [{name: db-v2, port: 5432}]}]
            ---
            apiVersion: gateway.networking.k8s.io/v1alpha2
            kind: TCPRoute
            metadata: {name: orphan, namespace: demo}
            spec:
              parentRefs: [{group: networking.istio.io, kind: ServiceEntry, name: nope}]
              rules: [{backendRefs: [{name: db, port: 5432}]}]
            """;

    @Test
    void tcpAndTlsRoutesOfAServiceAndAServiceEntryReachTheSidecarAndGetIstiodsParentStatus() throws Exception {
        k8s = pilots.startWithGatewayApi(false, r -> r);
        k8s.kubectl(CONFIG, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .filter(vs -> vs.gatewaySemantics() && vs.gateways().equals(List.of("mesh"))).count() == 2);

        List<Listener> lds = listeners();
        assertEquals(List.of("[] -> outbound|5432||db-v2.demo.svc.cluster.local"), chains(lds, "10.96.0.30_5432"));
        assertEquals("[secure.example.com] -> outbound|5432||db-v2.demo.svc.cluster.local",
                chains(lds, "0.0.0.0_443").get(0));

        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("tcproutes", "db-split",
                "{.status.parents[0].controllerName} {.status.parents[0].parentRef.kind}"
                        + " {.status.parents[0].parentRef.port} {.status.parents[0].conditions[*].status}")
                .equals("istio.io/gateway-controller Service 5432 True True"));
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("tlsroutes", "secure",
                "{.status.parents[0].parentRef.group} {.status.parents[0].parentRef.kind}"
                        + " {.status.parents[0].conditions[*].status}")
                .equals("networking.istio.io ServiceEntry True True"));
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("tcproutes", "orphan",
                "{.status.parents[0].conditions[0].reason}: {.status.parents[0].conditions[0].message}")
                .equals("NoMatchingParent: parent service entry: \"nope\" not found"));

        k8s.kubectl(null, "delete", "tcproute", "-n", "demo", "db-split");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .noneMatch(vs -> !vs.tcp().isEmpty()));
        assertEquals(List.of("[] -> outbound|5432||db.demo.svc.cluster.local"), chains(listeners(), "10.96.0.30_5432"),
                "without its route the Service's connections go to itself again");
    }

    private List<Listener> listeners() throws Exception {
        try (RawAdsClient sidecar = RawAdsClient.sidecar(k8s.harness.pilot.xdsPort(), "10.1.0.9", "client-1", "demo")) {
            sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            List<Listener> out = new ArrayList<>();
            for (com.google.protobuf.Any a : sidecar.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of())
                    .getResourcesList()) {
                out.add(a.unpack(Listener.class));
            }
            return out;
        }
    }

    /** A listener's filter chains, each as "server names -> the tcp_proxy's cluster". */
    private static List<String> chains(List<Listener> lds, String name) throws Exception {
        Listener l = lds.stream().filter(x -> x.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no listener " + name + " in "
                        + lds.stream().map(Listener::getName).toList()));
        List<String> out = new ArrayList<>();
        for (FilterChain c : l.getFilterChainsList()) {
            TcpProxy tcp = c.getFilters(c.getFiltersCount() - 1).getTypedConfig().unpack(TcpProxy.class);
            out.add(c.getFilterChainMatch().getServerNamesList() + " -> " + tcp.getCluster());
        }
        return out;
    }

    private String jsonpath(String resource, String name, String path) {
        return k8s.kubectl(null, "get", resource + ".gateway.networking.k8s.io", name, "-n", "demo", "-o",
                "jsonpath=" + path).strip();
    }
}
