package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode, the Gateway API's TLSRouteModeTerminate: a TLSRoute (v1alpha2) applied by the real kubectl to the
 * mock API server on a {@code protocol: TLS, tls.mode: Terminate} listener reaches a router over ADS as a chain that
 * terminates TLS with the listener's Secret (over SDS) and sends the decrypted stream to the route's backend; pilot
 * writes the listener's supportedKinds (TLSRoute and TCPRoute, as the newest istiod) and attachedRoutes and the route's
 * Accepted and ResolvedRefs; a listener whose allowedRoutes.kinds names TCPRoute only refuses it
 * (NotAllowedByListeners).
 */
class KubernetesGatewayApiTlsTerminateTest {
    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    static String config() {
        Base64.Encoder b64 = Base64.getEncoder();
        return KubernetesGatewayApiTest.INGRESS + """
                apiVersion: v1
                kind: Service
                metadata: {name: db, namespace: demo}
                spec:
                  selector: {app: db}
                  ports: [{name: tcp, port: 5432, targetPort: 5432}]
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: db-cert, namespace: istio-system}
                type: kubernetes.io/tls
                data: {tls.crt: %s, tls.key: %s}
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  addresses: [{type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}]
                  listeners:
                  - name: db
                    port: 9444
                    protocol: TLS
                    hostname: db.example.com
                    tls: {mode: Terminate, certificateRefs: [{name: db-cert}]}
                    allowedRoutes: {namespaces: {from: All}}
                  - name: tcp-only
                    port: 9445
                    protocol: TLS
                    hostname: db.example.com
                    tls: {mode: Terminate, certificateRefs: [{name: db-cert}]}
                    allowedRoutes: {namespaces: {from: All}, kinds: [{kind: TCPRoute}]}
                ---
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TLSRoute
                metadata: {name: db, namespace: demo}
                spec:
                  parentRefs:
                  - {name: edge, namespace: istio-system, sectionName: db}
                  - {name: edge, namespace: istio-system, sectionName: tcp-only}
                  hostnames: [db.example.com]
                  rules: [{backendRefs: [{name: db, port: 5432}]}]
                """.formatted(b64.encodeToString("CERT-PEM".getBytes()), b64.encodeToString("KEY-PEM".getBytes()));
    }

    @Test
    void tlsRouteOnATerminateListenerIsServedDecryptedWithItsStatus() throws Exception {
        k8s = pilots.startWithGatewayApi(true, r -> r);
        k8s.kubectl(config(), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .anyMatch(vs -> vs.name().startsWith("db~tls~")));

        Struct labels = Struct.newBuilder().putFields("istio",
                Value.newBuilder().setStringValue("ingressgateway").build()).build();
        try (RawAdsClient router = new RawAdsClient(k8s.harness.pilot.xdsPort(),
                "router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local", null)) {
            router.openSotwWithLabels(labels);
            router.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            List<Listener> lds = listeners(router.nextOf(Resources.V3.LISTENER_TYPE_URL, List.of()));
            // The tcp-only listener takes no TLSRoute, and has no other route: no listener.
            assertEquals(List.of("0.0.0.0_9444"), lds.stream().map(Listener::getName).toList());
            FilterChain chain = lds.get(0).getFilterChains(0);
            assertEquals(List.of("db.example.com"), chain.getFilterChainMatch().getServerNamesList());
            DownstreamTlsContext tls = chain.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
            assertEquals("kubernetes-gateway://istio-system/db-cert",
                    tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
            assertEquals("outbound|5432||db.demo.svc.cluster.local", chain.getFilters(chain.getFiltersCount() - 1)
                    .getTypedConfig().unpack(TcpProxy.class).getCluster());
        }

        // istiod's status: the Terminate listener takes TLSRoute and TCPRoute; the route is accepted on it and refused
        // by the listener whose allowedRoutes.kinds names TCPRoute only.
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("gateways.gateway.networking.k8s.io",
                "istio-system", "edge", "{.status.listeners[0].supportedKinds[*].kind} {.status.listeners[*].attachedRoutes}"
                        + " {.status.listeners[1].supportedKinds[*].kind}")
                .equals("TLSRoute TCPRoute 1 0 TCPRoute"));
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonpath("tlsroutes.gateway.networking.k8s.io", "demo", "db",
                "{range .status.parents[*]}{.parentRef.sectionName}:{range .conditions[*]}{.type}={.status}/{.reason}"
                        + ",{end};{end}")
                .equals("db:Accepted=True/Accepted,ResolvedRefs=True/ResolvedRefs,;"
                        + "tcp-only:Accepted=False/NotAllowedByListeners,ResolvedRefs=True/ResolvedRefs,;"));
        String message = jsonpath("tlsroutes.gateway.networking.k8s.io", "demo", "db",
                "{.status.parents[1].conditions[0].message}");
        assertEquals("kind TLSRoute is not allowed by the listener's allowedRoutes.kinds (NotAllowedByListeners)",
                message);
    }

    private String jsonpath(String resource, String namespace, String name, String path) {
        return k8s.kubectl(null, "get", resource, name, "-n", namespace, "-o", "jsonpath=" + path).strip();
    }

    private static List<Listener> listeners(DiscoveryResponse lds) throws Exception {
        List<Listener> out = new ArrayList<>();
        for (com.google.protobuf.Any a : lds.getResourcesList()) {
            out.add(a.unpack(Listener.class));
        }
        return out;
    }
}
