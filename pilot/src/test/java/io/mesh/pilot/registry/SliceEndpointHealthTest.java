package io.mesh.pilot.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.mesh.pilot.model.Endpoint.Health;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** An EndpointSlice endpoint's conditions as istiod reads them (endpointslice.go endpointHealthStatus). */
class SliceEndpointHealthTest {

    static Boolean flag(String s) {
        return s == null || s.isEmpty() ? null : Boolean.valueOf(s);
    }

    @ParameterizedTest(name = "ready={0} serving={1} terminating={2}: {3}, with persistent sessions {4}")
    @CsvSource(nullValues = "-", value = {
            "true, true, false, HEALTHY, HEALTHY",
            "-, -, -, HEALTHY, HEALTHY",
            "false, false, false, UNHEALTHY, UNHEALTHY",
            "false, true, true, TERMINATING, DRAINING",
            "false, -, -, TERMINATING, DRAINING",
            "false, false, true, TERMINATING, TERMINATING",
            "false, true, false, UNHEALTHY, UNHEALTHY"})
    void conditionsGiveIstiodsHealth(String ready, String serving, String terminating, Health plain, Health sticky) {
        EndpointConditions c = new EndpointConditions(flag(ready), flag(serving), flag(terminating));
        assertEquals(plain, SliceEndpointHealth.of(Map.of(), c));
        assertEquals(sticky, SliceEndpointHealth.of(Map.of("istio.io/persistent-session", "JSESSIONID"), c));
        assertEquals(sticky, SliceEndpointHealth.of(Map.of("istio.io/persistent-session-header", "x-session"), c));
    }

    @Test
    void noConditionsIsHealthyAndAnEmptyLabelKeepsNoSessions() {
        assertEquals(Health.HEALTHY, SliceEndpointHealth.of(Map.of(), null));
        assertEquals(Health.TERMINATING, SliceEndpointHealth.of(Map.of("istio.io/persistent-session", ""),
                new EndpointConditions(false, true, true)));
    }
}
