package io.mesh.pilot.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.generator.Generator;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.PushRequest;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.model.SnapshotBuilder;
import io.mesh.pilot.testing.MeshFixtures;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** A client that stopped reading is closed (and counted) when a push is due; a merely busy one is left alone. */
class SlowClientTest {
    static final String WEB = "web.demo.svc.cluster.local:80";

    /** A clock the test moves. */
    static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    static MeshSnapshot snapshot(long version, int weight) {
        Map<io.mesh.config.ConfigKey, Object> config = new TreeMap<>();
        String yaml = MeshFixtures.serviceEntry("web", "", 9001) + "---\n" + MeshFixtures.serviceEntry("backend", "", 9002)
                + "---\n" + MeshFixtures.canary(weight, 100 - weight);
        for (RawResource raw : YamlDocuments.parse(yaml, "t").resources()) {
            config.put(raw.key(), ConfigValidator.validate(raw).model());
        }
        return SnapshotBuilder.build(version, config, ServiceSource.View.EMPTY);
    }

    @Test
    void stuckClientIsClosedAndCountedWhileABusyOneIsKept() {
        ManualClock clock = new ManualClock();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        XdsMetrics metrics = new XdsMetrics(registry, () -> 0, () -> 0);
        PushWatcher watcher = new PushWatcher(MoreExecutors.newDirectExecutorService(), metrics, clock,
                Generator.DEFAULT);
        watcher.initialize(snapshot(1, 50));
        AtomicBoolean closed = new AtomicBoolean();
        watcher.registerTransport(7, new PushWatcher.Transport(() -> closed.set(true), () -> false));

        Node node = Node.newBuilder().setId("slow").setMetadata(Struct.newBuilder().putFields("GENERATOR",
                Value.newBuilder().setStringValue("grpc").build())).build();
        DiscoveryRequest request = DiscoveryRequest.newBuilder().setNode(node)
                .setTypeUrl(Resources.V3.ROUTE_TYPE_URL).addResourceNames(WEB).build();
        List<Response> sent = new ArrayList<>();
        watcher.onV3StreamRequest(7, request);
        watcher.createWatch(true, XdsRequest.create(request), Set.of(), sent::add, false, false);
        assertEquals(1, sent.size());
        watcher.onV3StreamResponse(7, request, DiscoveryResponse.newBuilder().setTypeUrl(Resources.V3.ROUTE_TYPE_URL)
                .setNonce("0").setVersionInfo(sent.get(0).version()).build());

        // Not reading for 10 s: busy, not stuck. The push waits for its ACK.
        clock.now = clock.now.plusSeconds(10);
        watcher.push(snapshot(2, 60), PushRequest.config("test", clock.now));
        assertFalse(closed.get());
        assertEquals(1, watcher.connectionCount());

        // Still nothing read after more than 30 s: closed so it reconnects and resyncs, and counted.
        clock.now = clock.now.plus(PushWatcher.STUCK_AFTER);
        watcher.push(snapshot(3, 70), PushRequest.config("test", clock.now));
        assertTrue(closed.get());
        assertEquals(0, watcher.connectionCount());
        assertEquals(1.0, registry.find("pilot_xds_push_queue_overflows").counter().count());
    }
}
