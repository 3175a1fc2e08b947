package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A VirtualService's {@code retries} in sidecar RDS, converted as Istio converts them, and Istio's default policy. */
class RetryPolicyTest {

    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");

    /** The route backend.demo's virtual host gets from a VirtualService with these retries (null: no retries block). */
    static Route route(String retries) {
        String yaml = AutoMtlsTest.backend("{address: 10.0.0.2}") + """
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: backend, namespace: demo}
                spec:
                  hosts: [backend.demo.svc.cluster.local]
                  http:
                  - route:
                    - destination: {host: backend.demo.svc.cluster.local}
                """ + (retries == null ? "" : "    retries: " + retries + "\n");
        return routes(POD, snapshot(yaml), "80").getVirtualHosts(0).getRoutes(0);
    }

    @Test
    void statusCodesInRetryOnBecomeRetriableStatusCodes() {
        RetryPolicy p = route("{attempts: 3, retryOn: \"503,connect-failure,429\"}").getRoute().getRetryPolicy();
        assertEquals(3, p.getNumRetries().getValue());
        assertEquals("connect-failure,retriable-status-codes", p.getRetryOn());
        assertEquals(List.of(503, 429), p.getRetriableStatusCodesList());
    }

    @Test
    void namedRetriableStatusCodesIsNotAddedTwice() {
        RetryPolicy p = route("{attempts: 2, retryOn: \"retriable-status-codes,502,gateway-error\"}").getRoute()
                .getRetryPolicy();
        assertEquals("retriable-status-codes,gateway-error", p.getRetryOn());
        assertEquals(List.of(502), p.getRetriableStatusCodesList());
    }

    @Test
    void conditionsAloneCarryNoStatusCodes() {
        RetryPolicy p = route("{attempts: 2, perTryTimeout: 2s, retryOn: \"5xx,reset\"}").getRoute().getRetryPolicy();
        assertEquals("5xx,reset", p.getRetryOn());
        assertEquals(List.of(), p.getRetriableStatusCodesList());
        assertEquals(2, p.getPerTryTimeout().getSeconds());
    }

    @Test
    void withoutRetryOnIstiosDefaultConditionsApplyWith503Retriable() {
        RetryPolicy p = route("{attempts: 4}").getRoute().getRetryPolicy();
        assertEquals(4, p.getNumRetries().getValue());
        assertEquals("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", p.getRetryOn());
        assertEquals(List.of(503), p.getRetriableStatusCodesList());
    }

    @Test
    void backoffIsTheBaseIntervalOfEnvoysRetryBackOff() {
        RetryPolicy p = route("{attempts: 2, backoff: 250ms}").getRoute().getRetryPolicy();
        assertEquals(250_000_000, p.getRetryBackOff().getBaseInterval().getNanos());
        assertFalse(p.getRetryBackOff().hasMaxInterval(), "Envoy's default maximum: ten times the base");
        assertFalse(route("{attempts: 2}").getRoute().getRetryPolicy().hasRetryBackOff());
    }

    @Test
    void zeroAttemptsMeansNoRetryPolicy() {
        assertFalse(route("{attempts: 0}").getRoute().hasRetryPolicy());
    }

    @Test
    void withoutARetriesBlockIstiosDefaultPolicyApplies() {
        assertIstioDefault(route(null).getRoute().getRetryPolicy());
    }

    @Test
    void aServiceWithoutAVirtualServiceGetsTheDefaultPolicyOnItsDefaultRoute() {
        Route r = routes(POD, snapshot(AutoMtlsTest.backend("{address: 10.0.0.2}")), "80").getVirtualHosts(0).getRoutes(0);
        assertEquals("default", r.getName());
        assertIstioDefault(r.getRoute().getRetryPolicy());
    }

    @Test
    void explicitRetriesAlsoGoToAnotherEndpoint() {
        RetryPolicy p = route("{attempts: 3, retryOn: \"5xx\"}").getRoute().getRetryPolicy();
        assertEquals("envoy.retry_host_predicates.previous_hosts", p.getRetryHostPredicate(0).getName());
        assertEquals(5, p.getHostSelectionRetryMaxAttempts());
    }

    static void assertIstioDefault(RetryPolicy p) {
        assertEquals(2, p.getNumRetries().getValue());
        assertEquals("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", p.getRetryOn());
        assertEquals(List.of(503), p.getRetriableStatusCodesList());
        assertEquals(1, p.getRetryHostPredicateCount());
        assertEquals("envoy.retry_host_predicates.previous_hosts", p.getRetryHostPredicate(0).getName());
        assertEquals("type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
                p.getRetryHostPredicate(0).getTypedConfig().getTypeUrl());
        assertEquals(5, p.getHostSelectionRetryMaxAttempts());
    }
}
