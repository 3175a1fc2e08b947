package io.mesh.pilot.generator;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.TextFormat;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.model.SnapshotBuilder;
import io.mesh.proto.XdsTypes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Generators, table-driven: Istio YAML in, xDS protos out, compared with reviewed golden files (text format).
 * Regenerate after an intended change with {@code -Dgolden.update=true} and review the diff.
 */
class GeneratorGoldenTest {
    static final Path DIR = Path.of("src/test/resources/generator");
    static final String LDS = Resources.V3.LISTENER_TYPE_URL;
    static final String RDS = Resources.V3.ROUTE_TYPE_URL;
    static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
    static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;

    static Stream<Arguments> cases() {
        String web = "web.demo.svc.cluster.local:80";
        String reviews = "reviews.demo.svc.cluster.local:9080";
        return Stream.of(
                Arguments.of("grpc-lds-canary", "canary.yaml", grpc(), LDS, Set.of(web, "unknown.demo:80")),
                Arguments.of("grpc-rds-canary", "canary.yaml", grpc(), RDS, Set.of(web)),
                Arguments.of("grpc-cds-canary", "canary.yaml", grpc(), CDS,
                        Set.of("outbound|80||backend.demo.svc.cluster.local", "outbound|80||web.demo.svc.cluster.local")),
                Arguments.of("grpc-eds-canary", "canary.yaml", grpc(), EDS,
                        Set.of("outbound|80||backend.demo.svc.cluster.local")),
                Arguments.of("grpc-lds-server", "canary.yaml", grpc(), LDS,
                        Set.of(GrpcListenerGenerator.SERVER_PREFIX + "0.0.0.0:9081")),
                Arguments.of("grpc-rds-routing", "routing.yaml", grpc(), RDS, Set.of(reviews)),
                Arguments.of("grpc-cds-routing", "routing.yaml", grpc(), CDS,
                        Set.of("outbound|9080|v2|reviews.demo.svc.cluster.local")),
                Arguments.of("grpc-eds-routing", "routing.yaml", grpc(), EDS,
                        Set.of("outbound|9080|v2|reviews.demo.svc.cluster.local",
                                "outbound|9080||reviews.demo.svc.cluster.local")),
                Arguments.of("sidecar-rds-routing", "routing.yaml", sidecar("10.5.0.1"), RDS, Set.of("9080")),
                Arguments.of("sidecar-cds-routing", "routing.yaml", sidecar("10.5.0.1"), CDS, Set.of()),
                Arguments.of("sidecar-lds-inbound", "sidecar.yaml", sidecar("10.0.0.1"), LDS, Set.of()),
                Arguments.of("sidecar-cds-scoped", "sidecar.yaml", sidecar("10.0.0.1"), CDS, Set.of()),
                // Auto mTLS per endpoint: the labelled db endpoint carries the transport socket match, web's does not.
                Arguments.of("sidecar-eds-scoped", "sidecar.yaml", sidecar("10.0.0.1"), EDS,
                        Set.of("outbound|9000||db.demo.svc.cluster.local", "outbound|80||web.demo.svc.cluster.local")),
                Arguments.of("sidecar-lds-extauthz", "extauthz.yaml", sidecar("10.0.0.1"), LDS, Set.of("virtualInbound")),
                Arguments.of("sidecar-cds-extauthz", "extauthz.yaml", sidecar("10.0.0.1"), CDS,
                        Set.of("outbound|8000||ext-authz.foo.svc.cluster.local")),
                Arguments.of("router-lds-gateway", "gateway.yaml", router(), LDS, Set.of()),
                Arguments.of("router-rds-gateway", "gateway.yaml", router(), RDS, Set.of("http.8080", "http.8443")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void generatesTheGoldenResources(String name, String config, ProxyInfo proxy, String type, Set<String> names)
            throws IOException {
        MeshSnapshot snapshot = snapshot(DIR.resolve(config));
        List<? extends Message> resources = XdsGenerators.generate(type, proxy, snapshot, names);
        for (Message m : resources) {
            // As the config dumps print it (pilot's /debug/config_dump, the gateway's /config_dump): every Any resolves.
            assertDoesNotThrow(() -> JsonFormat.printer().usingTypeRegistry(XdsTypes.REGISTRY).print(m), name);
        }
        String actual = resources.stream().sorted(java.util.Comparator.comparing(Resources::getResourceName))
                .map(m -> "# " + Resources.getResourceName(m) + "\n" + TextFormat.printer().usingTypeRegistry(XdsTypes.REGISTRY).printToString(m))
                .collect(Collectors.joining("---\n"));
        Path golden = DIR.resolve("golden").resolve(name + ".txtpb");
        if (Boolean.getBoolean("golden.update") || !Files.exists(golden)) {
            Files.writeString(golden, actual);
        }
        assertEquals(Files.readString(golden), actual, name);
    }

    /** With the mesh's extensionProviders from NAME.providers.yaml beside the config NAME.yaml, when there is one. */
    static MeshSnapshot snapshot(Path file) throws IOException {
        Path providers = file.resolveSibling(file.getFileName().toString().replace(".yaml", ".providers.yaml"));
        io.mesh.pilot.model.MeshSettings mesh = io.mesh.pilot.model.MeshSettings.DEFAULT;
        if (Files.exists(providers)) {
            mesh = mesh.withExtAuthzProviders(io.mesh.pilot.model.ExtAuthzProviders.parse(Files.readString(providers)));
        }
        Map<io.mesh.config.ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(Files.readString(file), file.toString()).resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors(), raw.key().toString());
            config.put(raw.key(), r.model());
        }
        return SnapshotBuilder.build(1, config, ServiceSource.View.EMPTY, Map.of(), mesh);
    }

    static ProxyInfo grpc() {
        return ProxyInfo.from(Node.newBuilder().setId("grpc-client").setMetadata(Struct.newBuilder()
                .putFields("GENERATOR", Value.newBuilder().setStringValue("grpc").build())
                .putFields("NAMESPACE", Value.newBuilder().setStringValue("demo").build())).build());
    }

    static ProxyInfo sidecar(String ip) {
        return ProxyInfo.from(Node.newBuilder().setId("sidecar~" + ip + "~web-1.demo~demo.svc.cluster.local").build());
    }

    static ProxyInfo router() {
        Struct labels = Struct.newBuilder()
                .putFields("istio", Value.newBuilder().setStringValue("ingressgateway").build()).build();
        return ProxyInfo.from(Node.newBuilder().setId("router~10.0.9.9~ingress-1.istio-system~istio-system.svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(labels).build()))
                .build());
    }
}
