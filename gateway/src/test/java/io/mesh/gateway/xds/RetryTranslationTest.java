package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.config.VirtualServiceParser;
import io.mesh.gateway.route.RouteAction.Forward;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** RDS retry policies: which retry_on conditions the gateway applies, accepts as inert, or rejects. */
class RetryTranslationTest {

    static io.mesh.gateway.route.RetryPolicy translate(RetryPolicy.Builder p) throws ConfigRejected {
        RouteConfiguration rc = RouteConfiguration.newBuilder().setName("r").addVirtualHosts(VirtualHost.newBuilder()
                .setName("v").addDomains("*").addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRoute(RouteAction.newBuilder().setCluster("c").setRetryPolicy(p)))).build();
        Forward f = (Forward) RouteTranslator.translate(rc).virtualHosts().get(0).routes().get(0).action();
        return f.retry();
    }

    @Test
    void pilotsConversionOfStatusCodesIsApplied() throws Exception {
        var r = translate(RetryPolicy.newBuilder().setRetryOn("connect-failure,retriable-status-codes")
                .addRetriableStatusCodes(503).addRetriableStatusCodes(429).setNumRetries(UInt32Value.of(3)));
        assertEquals(3, r.numRetries());
        assertTrue(r.retriesStatus(503));
        assertTrue(r.retriesStatus(429));
        assertFalse(r.retriesStatus(500));
        assertTrue(r.retriesFailure(true, false));
    }

    /** Whatever retry condition pilot lets a VirtualService name, this proxy takes the route configuration. */
    @Test
    void everyConditionAVirtualServiceMayNameIsAccepted() throws Exception {
        for (String condition : VirtualServiceParser.RETRY_CONDITIONS) {
            translate(RetryPolicy.newBuilder().setRetryOn(condition).setNumRetries(UInt32Value.of(1)));
        }
        translate(RetryPolicy.newBuilder().setRetryOn(String.join(",", VirtualServiceParser.RETRY_CONDITIONS)));
    }

    @Test
    void conditionsThatCannotHoldHereAreAcceptedWithoutEffect() throws Exception {
        var r = translate(RetryPolicy.newBuilder().setRetryOn("envoy-ratelimited,http3-post-connect-failure,retriable-headers"));
        assertEquals(Set.of(), r.retryOn());
        assertFalse(r.retriesStatus(503));
        assertFalse(r.retriesFailure(true, false));
    }

    @Test
    void resetBeforeRequestRetriesConnectFailuresOnly() throws Exception {
        var r = translate(RetryPolicy.newBuilder().setRetryOn("reset-before-request"));
        assertTrue(r.retriesFailure(true, false), "a connection that never opened saw none of the request");
        assertFalse(r.retriesFailure(false, false), "a reset after the request went out may have reached the app");
        assertFalse(r.retriesStatus(503));
    }

    @Test
    void unknownConditionsAndRetriableHeadersAreRejectedPrecisely() {
        var unknown = assertThrows(ConfigRejected.class, () -> translate(RetryPolicy.newBuilder().setRetryOn("5xx,503")));
        assertTrue(unknown.getMessage().endsWith("unsupported retry_on '503'"), unknown.getMessage());
        var headers = assertThrows(ConfigRejected.class, () -> translate(RetryPolicy.newBuilder()
                .setRetryOn("retriable-headers").addRetriableHeaders(HeaderMatcher.newBuilder().setName("x-retry"))));
        assertTrue(headers.getMessage().endsWith("retriable_headers and retriable_request_headers are not supported"),
                headers.getMessage());
    }
}
