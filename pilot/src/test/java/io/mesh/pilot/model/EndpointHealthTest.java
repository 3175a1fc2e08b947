package io.mesh.pilot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.pilot.model.Endpoint.Health;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which endpoints istiod's EDS sends (endpoint_builder.go filterIstioEndpoint): PILOT_SEND_UNHEALTHY_ENDPOINTS off, and
 * on (every service then sends its UNHEALTHY endpoints, as one with a traffic distribution does).
 */
class EndpointHealthTest {
    static final ServiceModel PLAIN = service(false);
    static final ServiceModel STICKY = service(true);
    /** A service with a traffic distribution: istiod's SupportsUnhealthyEndpoints. */
    static final ServiceModel ZONED = new ServiceModel("web.demo.svc.cluster.local", "demo", List.of(), false,
            "Service/demo/web", List.of(), List.of(), false, List.of(), false, null,
            io.mesh.config.TrafficDistribution.PREFER_SAME_ZONE);

    static ServiceModel service(boolean persistentSession) {
        return new ServiceModel("web.demo.svc.cluster.local", "demo", List.of(), false, "Service/demo/web", List.of(),
                List.of(), false, List.of(), false,
                persistentSession ? new PersistentSession(PersistentSession.Kind.COOKIE, "session", "/") : null);
    }

    @ParameterizedTest(name = "{0}, draining label {1}: sent {2} (persistent session: {3}, traffic distribution: {5})"
            + " as {4}")
    @CsvSource({
            "HEALTHY, false, true, true, HEALTHY, true",
            "UNHEALTHY, false, false, false, UNHEALTHY, true",
            "TERMINATING, false, false, false, TERMINATING, false",
            "DRAINING, false, false, true, DRAINING, false",
            "HEALTHY, true, false, true, DRAINING, false",
            "UNHEALTHY, true, false, false, DRAINING, false"})
    void edsSendsHealthyEndpointsDrainingOnesToPersistentSessionsAndUnhealthyOnesWithATrafficDistribution(
            Health health, boolean drainingLabel, boolean sent, boolean sentToSticky, Health stated,
            boolean sentWithTrafficDistribution) {
        Endpoint e = new Endpoint("10.1.0.1", Map.of(80, 8080), drainingLabel ? Map.of("istio.io/draining", "true")
                : Map.of(), "", 1, health, null);
        assertEquals(sent, e.sentBy(PLAIN, false));
        assertEquals(sentToSticky, e.sentBy(STICKY, false));
        assertEquals(sentWithTrafficDistribution, e.sentBy(ZONED, false));
        assertEquals(stated, e.effectiveHealth());
        // PILOT_SEND_UNHEALTHY_ENDPOINTS: every service is as one with a traffic distribution.
        assertEquals(sentWithTrafficDistribution, e.sentBy(PLAIN, true));
        assertEquals(sentWithTrafficDistribution, e.sentBy(ZONED, true));
    }
}
