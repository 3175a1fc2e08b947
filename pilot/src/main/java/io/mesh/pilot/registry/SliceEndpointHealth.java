package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.mesh.pilot.model.Endpoint.Health;
import io.mesh.pilot.model.PersistentSession;
import java.util.Map;

/**
 * An EndpointSlice endpoint's health as istiod reads its conditions (endpointslice.go endpointHealthStatus), and the
 * Service labels that change it. Pure. A condition the API leaves out counts as true, as in istiod: {@code ready} absent
 * is ready, and an endpoint that is not ready and does not say it is not terminating is terminating.
 */
final class SliceEndpointHealth {
    private SliceEndpointHealth() {
    }

    /**
     * Ready (or no {@code ready}): HEALTHY. Not ready: DRAINING when the Service keeps sessions and the endpoint still
     * serves while terminating; else TERMINATING while its pod shuts down; else UNHEALTHY (a pod whose readiness probe
     * fails).
     */
    static Health of(Map<String, String> serviceLabels, EndpointConditions c) {
        if (c == null || c.getReady() == null || c.getReady()) {
            return Health.HEALTHY;
        }
        boolean serving = c.getServing() == null || c.getServing();
        boolean terminating = c.getTerminating() == null || c.getTerminating();
        if (tracksDraining(serviceLabels) && serving && terminating) {
            return Health.DRAINING;
        }
        return terminating ? Health.TERMINATING : Health.UNHEALTHY;
    }

    /** istiod's Service.SupportsDrainingEndpoints: either persistent-session label, with a value. */
    static boolean tracksDraining(Map<String, String> serviceLabels) {
        return PersistentSession.fromLabels(serviceLabels) != null;
    }
}
