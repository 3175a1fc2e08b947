package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.pilot.testing.AdsAnswers;
import io.mesh.pilot.testing.RawAdsClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * EndpointSlice endpoints that are not ready, as istiod (PILOT_SEND_UNHEALTHY_ENDPOINTS off, its default) treats them:
 * left out of EDS, whether the pod fails its readiness probe (not ready, not terminating) or shuts down
 * (terminating, serving or not); a pod labelled {@code istio.io/draining} too. Only a Service labelled
 * {@code istio.io/persistent-session} gets its endpoints that still serve while terminating, as DRAINING. A not-ready
 * pod's own sidecar still serves the Service's port. Services, slices and pods come from the Fabric8 mock API through
 * the real kubectl; a raw ADS client reads EDS and LDS. Before, every not-ready endpoint was sent as UNHEALTHY.
 */
class KubernetesEndpointHealthTest {
    static final String WEB = "outbound|80||web.demo.svc.cluster.local";
    static final String STICKY = "outbound|80||sticky.demo.svc.cluster.local";

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
                kind: Service
                metadata: {name: web, namespace: demo}
                spec:
                  selector: {app: web}
                  ports: [{name: http, port: 80, targetPort: 8080}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: sticky, namespace: demo, labels: {istio.io/persistent-session: JSESSIONID}}
                spec:
                  selector: {app: sticky}
                  ports: [{name: http, port: 80, targetPort: 8080}]
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: web-6, namespace: demo, labels: {app: web, istio.io/draining: "true"}}
                spec:
                  containers: [{name: app, image: app}]
                ---
                """ + slice("web", """
                - {addresses: [10.1.0.1], conditions: {ready: true, serving: true, terminating: false}}
                - {addresses: [10.1.0.2], conditions: {ready: false, serving: false, terminating: false}}
                - {addresses: [10.1.0.3], conditions: {ready: false, serving: true, terminating: true}}
                - {addresses: [10.1.0.4], conditions: {ready: false, serving: false, terminating: true}}
                - {addresses: [10.1.0.5], conditions: {}}
                - {addresses: [10.1.0.6], conditions: {ready: true}, targetRef: {kind: Pod, name: web-6, namespace: demo}}
                """) + slice("sticky", """
                - {addresses: [10.2.0.1], conditions: {ready: true, serving: true, terminating: false}}
                - {addresses: [10.2.0.2], conditions: {ready: false, serving: false, terminating: false}}
                - {addresses: [10.2.0.3], conditions: {ready: false, serving: true, terminating: true}}
                - {addresses: [10.2.0.4], conditions: {ready: false, serving: false, terminating: true}}
                """), "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> harness.pilot.snapshot()
                .endpointsOf("web.demo.svc.cluster.local").size() == 6
                && harness.pilot.snapshot().endpointsOf("sticky.demo.svc.cluster.local").size() == 4);
    }

    /** The Service's one EndpointSlice, as the EndpointSlice controller writes it, with these endpoints (YAML list). */
    static String slice(String service, String endpoints) {
        return """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: %s-abc
                  namespace: demo
                  labels: {kubernetes.io/service-name: %s}
                addressType: IPv4
                ports: [{name: http, port: 8080, protocol: TCP}]
                endpoints:
                %s---
                """.formatted(service, service, endpoints);
    }

    @Test
    void endpointsThatAreNotReadyOrDrainingAreLeftOutOfEdsAndComeBackWhenReady() throws Exception {
        try (RawAdsClient sidecar = sidecar("10.1.0.9", "client-1")) {
            sidecar.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(WEB, STICKY), "", "", null);
            // Ready, and with no ready condition at all; not the not-ready ones, not web-6 (istio.io/draining).
            assertEquals(Map.of("10.1.0.1:8080", HealthStatus.HEALTHY, "10.1.0.5:8080", HealthStatus.HEALTHY),
                    AdsAnswers.endpoints(next(sidecar), WEB));

            // 10.1.0.2's readiness probe passes: it joins.
            k8s.kubectl(slice("web", """
                    - {addresses: [10.1.0.1], conditions: {ready: true, serving: true, terminating: false}}
                    - {addresses: [10.1.0.2], conditions: {ready: true, serving: true, terminating: false}}
                    """), "apply", "-f", "-");
            assertEquals(Map.of("10.1.0.1:8080", HealthStatus.HEALTHY, "10.1.0.2:8080", HealthStatus.HEALTHY),
                    AdsAnswers.endpoints(next(sidecar), WEB));
        }
    }

    @Test
    void aPersistentSessionServiceGetsItsTerminatingEndpointsThatStillServeAsDraining() throws Exception {
        try (RawAdsClient sidecar = sidecar("10.1.0.9", "client-1")) {
            sidecar.request(Resources.V3.ENDPOINT_TYPE_URL, List.of(STICKY), "", "", null);
            assertEquals(Map.of("10.2.0.1:8080", HealthStatus.HEALTHY, "10.2.0.3:8080", HealthStatus.DRAINING),
                    AdsAnswers.endpoints(next(sidecar), STICKY));
        }
    }

    @Test
    void aPodThatIsNotReadyStillServesItsServicesPortOnItsInbound() throws Exception {
        // Its readiness probe reaches the app through the sidecar's inbound side (or the rewritten probe): istiod
        // gives a proxy its service targets whatever its readiness.
        try (RawAdsClient sidecar = sidecar("10.1.0.2", "web-2")) {
            sidecar.request(Resources.V3.LISTENER_TYPE_URL, List.of(), "", "", null);
            List<String> chains = AdsAnswers.inboundChains(next(sidecar, Resources.V3.LISTENER_TYPE_URL));
            assertTrue(chains.contains("inbound|8080||-raw_buffer"), chains.toString());
        }
    }

    private RawAdsClient sidecar(String ip, String podName) {
        return RawAdsClient.sidecar(harness.pilot.xdsPort(), ip, podName, "demo");
    }

    private static DiscoveryResponse next(RawAdsClient c) throws Exception {
        return next(c, Resources.V3.ENDPOINT_TYPE_URL);
    }

    private static DiscoveryResponse next(RawAdsClient c, String type) throws Exception {
        return AdsAnswers.next(c, type, List.of(WEB, STICKY));
    }
}
