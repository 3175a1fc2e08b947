package io.mesh.pilot.testing;

/** YAML the xDS tests write into pilot's config folder. */
public final class MeshFixtures {
    private MeshFixtures() {
    }

    /** A ServiceEntry for NAME.demo.svc.cluster.local on port 80 (gRPC), with endpoints on 127.0.0.1. */
    public static String serviceEntry(String name, String labelsYaml, int... ports) {
        StringBuilder eps = new StringBuilder();
        for (int p : ports) {
            eps.append("  - address: 127.0.0.1\n    ports:\n      grpc: ").append(p)
                    .append("\n    labels:\n      app: ").append(name).append('\n').append(labelsYaml);
        }
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: %s
                  namespace: demo
                spec:
                  hosts:
                  - %s.demo.svc.cluster.local
                  location: MESH_INTERNAL
                  ports:
                  - number: 80
                    name: grpc
                    protocol: GRPC
                  resolution: STATIC
                  endpoints:
                %s""".formatted(name, name, eps);
    }

    /** The seed's canary in valid Istio YAML: host web, split between backend and web. */
    public static String canary(int backendWeight, int webWeight) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: web
                  namespace: demo
                spec:
                  hosts:
                  - web
                  http:
                  - route:
                    - destination:
                        host: backend
                      weight: %d
                    - destination:
                        host: web
                      weight: %d
                """.formatted(backendWeight, webWeight);
    }

    /** The seed article's VirtualService, verbatim in shape: invalid Istio YAML. */
    public static final String SEED_ARTICLE_VS = """
            apiVersion: networking.istio.io/v1alpha3
            kind: VirtualService
            metadata:
              name: web
              namespace: demo
            spec:
              hosts:
              - web
              http:
              - route:
                  destinations:
                  - host: backend
                    weight: 50
                  - host: web
                    weight: 50
            """;

    public static String bootstrapJson(int xdsPort, String nodeId) {
        return """
                {"xds_servers":[{"server_uri":"127.0.0.1:%d","channel_creds":[{"type":"insecure"}],
                "server_features":["xds_v3"]}],
                "node":{"id":"%s","metadata":{"GENERATOR":"grpc","NAMESPACE":"demo"}},
                "server_listener_resource_name_template":"grpc/server?xds.resource.listening_address=%%s"}
                """.formatted(xdsPort, nodeId);
    }
}
