package io.mesh.pilot.model;

import java.util.List;
import java.util.Map;

/** A registry of services that is not Istio config (Kubernetes Services and EndpointSlices). */
public interface ServiceSource {
    /** An immutable view, taken when a snapshot is built. */
    View view();

    /** {@code aliases}: Kubernetes ExternalName Services ({@link ServiceAlias}). */
    record View(List<ServiceModel> services, Map<String, List<Endpoint>> endpoints, List<ServiceAlias> aliases) {
        public static final View EMPTY = new View(List.of(), Map.of());

        public View {
            services = List.copyOf(services);
            endpoints = Map.copyOf(endpoints);
            aliases = aliases == null ? List.of() : List.copyOf(aliases);
        }

        public View(List<ServiceModel> services, Map<String, List<Endpoint>> endpoints) {
            this(services, endpoints, List.of());
        }
    }
}
