package io.mesh.pilot.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.model.SnapshotBuilder;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** Istio YAML -> snapshot -> a sidecar's xDS, through the generators' one entry point. */
final class SidecarFixtures {
    private SidecarFixtures() {
    }

    static MeshSnapshot snapshot(String yaml) {
        return snapshot(yaml, MeshSettings.DEFAULT);
    }

    static MeshSnapshot snapshot(String yaml, MeshSettings mesh) {
        return snapshot(yaml, mesh, Map.of());
    }

    /** With {@code credentials} as pilot's certificates (credentialName Secrets, CA ConfigMaps). */
    static MeshSnapshot snapshot(String yaml, MeshSettings mesh, Map<String, io.mesh.pilot.model.TlsCredential> credentials) {
        Map<ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(yaml, "test.yaml").resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors(), raw.key().toString());
            config.put(raw.key(), r.model());
        }
        return SnapshotBuilder.build(1, config, ServiceSource.View.EMPTY, credentials, mesh);
    }

    /**
     * A MESH_INTERNAL ServiceEntry with one STATIC endpoint, the shape these tests declare services in: a YAML document
     * that starts with "---". {@code hosts} and {@code ports} are YAML flow lists, {@code endpoint} a flow map.
     */
    static String services(String name, String namespace, String hosts, String ports, String endpoint) {
        return """
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: %s, namespace: %s}
                spec:
                  hosts: %s
                  location: MESH_INTERNAL
                  ports: %s
                  resolution: STATIC
                  endpoints:
                  - %s
                """.formatted(name, namespace, hosts, ports, endpoint);
    }

    static final String HTTP_80 = "[{number: 80, name: http, protocol: HTTP}]";

    /** The ingress Gateway istio-system/public (istio: ingressgateway): HTTP on 8080 for every host. Starts with "---". */
    static final String PUBLIC_GATEWAY = """
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: public, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 8080, name: http, protocol: HTTP}
                hosts: ["*"]
            """;

    static ProxyInfo sidecar(String ip, String namespace) {
        return ProxyInfo.from(Node.newBuilder().setId("sidecar~" + ip + "~pod-1." + namespace + "~" + namespace
                + ".svc.cluster.local").build());
    }

    static ProxyInfo router() {
        return ProxyInfo.from(Node.newBuilder().setId("router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local")
                .build());
    }

    static ProxyInfo grpc() {
        return ProxyInfo.from(Node.newBuilder().setId("grpc-client").setMetadata(com.google.protobuf.Struct.newBuilder()
                .putFields("GENERATOR", com.google.protobuf.Value.newBuilder().setStringValue("grpc").build())
                .putFields("NAMESPACE", com.google.protobuf.Value.newBuilder().setStringValue("demo").build())).build());
    }

    static Listener listener(ProxyInfo proxy, MeshSnapshot snapshot, String name) {
        return (Listener) one(Resources.V3.LISTENER_TYPE_URL, proxy, snapshot, name);
    }

    static Cluster cluster(ProxyInfo proxy, MeshSnapshot snapshot, String name) {
        return (Cluster) one(Resources.V3.CLUSTER_TYPE_URL, proxy, snapshot, name);
    }

    static RouteConfiguration routes(ProxyInfo proxy, MeshSnapshot snapshot, String name) {
        return (RouteConfiguration) one(Resources.V3.ROUTE_TYPE_URL, proxy, snapshot, name);
    }

    private static Message one(String type, ProxyInfo proxy, MeshSnapshot snapshot, String name) {
        List<? extends Message> out = XdsGenerators.generate(type, proxy, snapshot, Set.of(name));
        assertEquals(1, out.size(), () -> "exactly one " + name + ", got " + out);
        return out.get(0);
    }

    static <T extends Message> T unpack(com.google.protobuf.Any any, Class<T> type) {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }
}
