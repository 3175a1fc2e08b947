package io.mesh.pilot.model;

import java.util.List;
import java.util.Map;

/** A registry of services that is not Istio config (Kubernetes Services and EndpointSlices). */
public interface ServiceSource {
    /** An immutable view, taken when a snapshot is built. */
    View view();

    record View(List<ServiceModel> services, Map<String, List<Endpoint>> endpoints) {
        public static final View EMPTY = new View(List.of(), Map.of());

        public View {
            services = List.copyOf(services);
            endpoints = Map.copyOf(endpoints);
        }
    }
}
