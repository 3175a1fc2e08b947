package io.mesh.pilot.model;

import java.util.List;

/** A service known to the mesh, from a Kubernetes Service or a ServiceEntry host. */
public record ServiceModel(String hostname, String namespace, List<Port> ports, boolean external, String origin) {
    public ServiceModel {
        ports = List.copyOf(ports);
    }

    public record Port(String name, int number, String protocol) {
        public boolean http() {
            return switch (protocol.toUpperCase(java.util.Locale.ROOT)) {
                case "HTTP", "HTTP2", "GRPC", "GRPC-WEB" -> true;
                default -> false;
            };
        }
    }

    public Port port(int number) {
        return ports.stream().filter(p -> p.number() == number).findFirst().orElse(null);
    }
}
