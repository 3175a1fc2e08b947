package io.mesh.pilot.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolverRegistry;
import io.grpc.xds.XdsNameResolverProvider;
import io.mesh.pilot.PilotRuntime;
import io.mesh.pilot.model.ExecutorScheduler;
import io.mesh.pilot.model.ServiceSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A whole pilot (registry, push, ADS on a free port) in the test JVM, plus real grpc-java xDS channels bootstrapped
 * at it. Each channel gets its own resolver scheme and bootstrap, so tests do not share grpc-java's global client.
 */
public final class PilotHarness implements AutoCloseable {
    private static final AtomicInteger SCHEMES = new AtomicInteger();
    public final Path configDir;
    public final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    public final PilotRuntime pilot;
    private final List<ManagedChannel> channels = new ArrayList<>();

    public PilotHarness(Path configDir, ServiceSource services) {
        this(configDir, services, (raw, reason) -> {
        });
    }

    public PilotHarness(Path configDir, ServiceSource services,
            io.mesh.pilot.registry.ConfigStore.RejectionListener rejections) {
        this(configDir, services, rejections, io.mesh.pilot.generator.Generator.DEFAULT);
    }

    public PilotHarness(Path configDir, ServiceSource services,
            io.mesh.pilot.registry.ConfigStore.RejectionListener rejections,
            io.mesh.pilot.generator.Generator generator) {
        this.configDir = configDir;
        try {
            pilot = new PilotRuntime(new PilotRuntime.Settings("127.0.0.1", 0, configDir, Duration.ofMillis(100),
                    Duration.ofSeconds(10), 2), metrics,
                    new ExecutorScheduler(Executors.newSingleThreadScheduledExecutor()), services, rejections, generator).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public PilotHarness(Path configDir) {
        this(configDir, () -> ServiceSource.View.EMPTY);
    }

    public void write(String file, String yaml) {
        try {
            Path tmp = configDir.resolve("." + file + ".tmp");
            Files.writeString(tmp, yaml);
            Files.move(tmp, configDir.resolve(file), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Map<String, ?> bootstrap(String nodeId) {
        try {
            @SuppressWarnings("unchecked")
            Map<String, ?> m = new ObjectMapper().readValue(MeshFixtures.bootstrapJson(pilot.xdsPort(), nodeId), Map.class);
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A proxyless gRPC channel to "xds:///" + target, with its own xDS client and node id. */
    public ManagedChannel xdsChannel(String target, String nodeId) {
        String scheme = "xds-test-" + SCHEMES.incrementAndGet();
        NameResolverRegistry.getDefaultRegistry().register(XdsNameResolverProvider.createForTest(scheme,
                bootstrap(nodeId)));
        ManagedChannel ch = Grpc.newChannelBuilder(scheme + ":///" + target, InsecureChannelCredentials.create())
                .build();
        channels.add(ch);
        return ch;
    }

    @Override
    public void close() {
        channels.forEach(ManagedChannel::shutdownNow);
        pilot.close();
    }
}
