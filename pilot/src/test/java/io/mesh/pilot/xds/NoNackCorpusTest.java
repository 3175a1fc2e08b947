package io.mesh.pilot.xds;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.grpc.ManagedChannel;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.debug.DebugRoutes;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.ServiceModel;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.testing.MeshFixtures;
import io.mesh.pilot.testing.PilotHarness;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every Istio YAML of the project (deploy/ and the test resources) is pushed to real grpc-java clients, one per
 * service port, and none of it is NACKed: every type ends SYNCED in /debug/syncz. And a resource built wrong on
 * purpose is NACKed, visibly.
 */
class NoNackCorpusTest {
    @TempDir
    Path dir;

    static Stream<Path> corpus() throws IOException {
        List<Path> roots = List.of(Path.of("src/test/resources/configs"), Path.of("src/test/resources/generator"),
                Path.of("../deploy"));
        List<Path> files = new ArrayList<>();
        for (Path root : roots) {
            if (Files.isDirectory(root)) {
                try (Stream<Path> s = Files.walk(root)) {
                    s.filter(p -> p.toString().endsWith(".yaml") && !p.toString().contains("/crds/"))
                            .filter(NoNackCorpusTest::hasIstioServices).sorted().forEach(files::add);
                }
            }
        }
        return files.stream();
    }

    /** Files that define a routable service, so a grpc client has something to ask for. */
    static boolean hasIstioServices(Path p) {
        try {
            String text = Files.readString(p);
            return text.contains("networking.istio.io") && (text.contains("kind: ServiceEntry")
                    || text.contains("kind: Service\n"));
        } catch (IOException e) {
            return false;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void grpcClientsAckEverythingPilotSendsForTheCorpus(Path file) throws IOException {
        Files.copy(file, dir.resolve("corpus.yaml"));
        List<ServiceModel> services = new ArrayList<>();
        Map<String, List<Endpoint>> endpoints = new HashMap<>();
        for (RawResource raw : YamlDocuments.parse(Files.readString(file), file.toString()).resources()) {
            if (raw.kind().equals("Service") && raw.apiVersion().equals("v1") && raw.spec() != null) {
                String host = raw.name() + "." + raw.namespace() + ".svc.cluster.local";
                List<ServiceModel.Port> ports = new ArrayList<>();
                Map<Integer, Integer> epPorts = new HashMap<>();
                raw.spec().path("ports").forEach(p -> {
                    ports.add(new ServiceModel.Port(p.path("name").asText(""), p.path("port").asInt(), "HTTP"));
                    epPorts.put(p.path("port").asInt(), p.path("port").asInt());
                });
                services.add(new ServiceModel(host, raw.namespace(), ports, false, "corpus", List.of(), List.of()));
                endpoints.put(host, List.of(new Endpoint("127.0.0.1", epPorts, Map.of(), "", 1, null)));
            }
        }
        ServiceSource.View view = new ServiceSource.View(services, endpoints);
        try (PilotHarness harness = new PilotHarness(dir, () -> view)) {
            harness.pilot.configChanged("test");
            await().atMost(Duration.ofSeconds(5)).until(() -> !harness.pilot.snapshot().services().isEmpty());
            List<String> targets = new ArrayList<>();
            harness.pilot.snapshot().services().values().forEach(s -> s.ports()
                    .forEach(p -> targets.add(s.hostname() + ":" + p.number())));
            List<ManagedChannel> channels = new ArrayList<>();
            for (String target : targets.subList(0, Math.min(6, targets.size()))) {
                ManagedChannel ch = harness.xdsChannel(target, "corpus-" + target);
                ch.getState(true);
                channels.add(ch);
            }
            int expected = channels.size();
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                List<Map<String, Object>> syncz = DebugRoutes.syncz(harness.pilot);
                assertEquals(expected, syncz.size(), "connected clients");
                for (Map<String, Object> proxy : syncz) {
                    @SuppressWarnings("unchecked")
                    Map<String, Map<String, Object>> xds = (Map<String, Map<String, Object>>) proxy.get("xds");
                    assertTrue(xds.keySet().containsAll(List.of("lds", "rds", "cds", "eds")), proxy.toString());
                    xds.forEach((type, s) -> assertEquals("SYNCED", s.get("status"), proxy.get("proxy") + " " + type
                            + " " + s));
                }
            });
            assertTrue(harness.metrics.find("pilot_total_xds_rejects").counters().isEmpty(), "no NACKs");
        }
    }

    @Test
    void aClusterBuiltWrongOnPurposeIsNackedVisiblyAndNotResent() {
        // grpc-java rejects STATIC clusters (XDS-NOTES); pilot never builds one, so this generator does.
        io.mesh.pilot.generator.Generator broken = (type, proxy, snapshot, names) -> {
            var resources = io.mesh.pilot.generator.Generator.DEFAULT.generate(type, proxy, snapshot, names);
            if (!type.equals(Resources.V3.CLUSTER_TYPE_URL)) {
                return resources;
            }
            return resources.stream().map(m -> ((Cluster) m).toBuilder().setType(Cluster.DiscoveryType.STATIC)
                    .clearEdsClusterConfig().build()).toList();
        };
        try (PilotHarness harness = new PilotHarness(dir, () -> ServiceSource.View.EMPTY, (raw, reason) -> {
        }, broken)) {
            harness.write("services.yaml", MeshFixtures.serviceEntry("web", "", 9001));
            await().atMost(Duration.ofSeconds(5)).until(() -> !harness.pilot.snapshot().services().isEmpty());
            harness.xdsChannel("web.demo.svc.cluster.local:80", "broken-client").getState(true);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                List<Map<String, Object>> syncz = DebugRoutes.syncz(harness.pilot);
                assertFalse(syncz.isEmpty());
                @SuppressWarnings("unchecked")
                Map<String, Map<String, Object>> xds = (Map<String, Map<String, Object>>) syncz.get(0).get("xds");
                // The connection shows in syncz before its CDS request does: an assertion, so the wait goes on.
                assertTrue(xds != null && xds.get("cds") != null, String.valueOf(xds));
                assertEquals("NACKED", xds.get("cds").get("status"), xds.toString());
                assertTrue(xds.get("cds").get("lastNack").toString().contains("error"), xds.toString());
            });
            double rejects = harness.metrics.find("pilot_total_xds_rejects").tag("type", "cds").counter().count();
            assertEquals(1.0, rejects, "exactly one NACK: the rejected config is not resent");
        }
    }
}
