package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GatewayApiRouterTest.ADDRESS;
import static io.mesh.pilot.generator.GatewayApiRouterTest.gateway;
import static io.mesh.pilot.generator.GatewayApiRouterTest.host;
import static io.mesh.pilot.generator.GatewayApiRouterTest.snapshot;
import static io.mesh.pilot.generator.GeneratorGoldenTest.router;
import static io.mesh.pilot.generator.SidecarFixtures.routes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An HTTPRoute rule's {@code retry} (Gateway API v1.2, experimental) reaches the router's route as the retry policy
 * istiod's conversion gives it: the attempts (2 when unset, none at 0), the connection errors and the listed codes
 * as retriable status codes, the backoff as Envoy's base interval, and {@code timeouts.backendRequest} as the per-try
 * timeout while {@code request} stays the route's.
 */
class GatewayApiRetryRouterTest {

    /** The route action of {@link #routerRoute}. */
    static RouteAction route(String rule) {
        return routerRoute(rule).getRoute();
    }

    /** The router's route of an HTTPRoute on web.example.com whose one rule has these extra lines. */
    static Route routerRoute(String rule) {
        String route = """
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web, namespace: demo}
                spec:
                  parentRefs: [{name: edge, namespace: istio-system}]
                  hostnames: [web.example.com]
                  rules:
                  - backendRefs: [{name: web, port: 80}]
                """ + rule.indent(4);
        return host(routes(router(), snapshot(gateway("All", ADDRESS) + route), "http.8080"), "web.example.com")
                .getRoutes(0);
    }

    @Test
    void retryCodesBecomeRetriableStatusCodesBesidesConnectionErrors() {
        RetryPolicy p = route("retry: {attempts: 3, backoff: 100ms, codes: [500, 503]}").getRetryPolicy();
        assertEquals(3, p.getNumRetries().getValue());
        assertEquals("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", p.getRetryOn());
        assertEquals(List.of(500, 503), p.getRetriableStatusCodesList());
        assertEquals(100_000_000, p.getRetryBackOff().getBaseInterval().getNanos());
        assertFalse(p.hasPerTryTimeout());
        assertEquals("envoy.retry_host_predicates.previous_hosts", p.getRetryHostPredicate(0).getName());
    }

    @Test
    void retryWithoutAttemptsRetriesTwiceOnConnectionErrorsOnly() {
        RetryPolicy p = route("retry: {}").getRetryPolicy();
        assertEquals(2, p.getNumRetries().getValue());
        assertEquals("connect-failure,refused-stream,unavailable,cancelled", p.getRetryOn());
        assertEquals(List.of(), p.getRetriableStatusCodesList());
        assertFalse(p.hasRetryBackOff());
    }

    @Test
    void zeroAttemptsTurnsRetriesOff() {
        assertFalse(route("retry: {attempts: 0, codes: [503]}").hasRetryPolicy());
    }

    @Test
    void withRetryTheBackendRequestTimeoutIsEachTrysAndTheRequestTimeoutTheRoutes() {
        RouteAction a = route("retry: {attempts: 2}\ntimeouts: {request: 10s, backendRequest: 3s}");
        assertEquals(10, a.getTimeout().getSeconds());
        assertEquals(3, a.getRetryPolicy().getPerTryTimeout().getSeconds());
    }

    @Test
    void withoutRetryTheBackendRequestTimeoutIsTheRoutesAndIstiosDefaultRetriesStay() {
        RouteAction a = route("timeouts: {request: 10s, backendRequest: 3s}");
        assertEquals(3, a.getTimeout().getSeconds());
        assertTrue(a.hasRetryPolicy());
        RetryPolicyTest.assertIstioDefault(a.getRetryPolicy());
    }

    @Test
    void zeroBackendRequestTimeoutLeavesTheRequestTimeout() {
        assertEquals(10, route("timeouts: {request: 10s, backendRequest: 0s}").getTimeout().getSeconds());
    }
}
