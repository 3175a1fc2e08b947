package io.mesh.gateway.it;

import io.mesh.gateway.Gateway;
import io.mesh.gateway.GatewayConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The gateway core in the test JVM, on its own Vert.x (native epoll), configured like the real one. */
final class TestGateway implements AutoCloseable {

    final Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(2));
    final io.micrometer.core.instrument.MeterRegistry registry;
    final GatewayConfig config;
    final Gateway gateway;

    TestGateway(Map<String, String> props) throws Exception {
        this(props, null);
    }

    TestGateway(Map<String, String> props, io.opentelemetry.api.OpenTelemetry otel) throws Exception {
        this(props, otel, Map.of());
    }

    /** {@code env}: the process environment the gateway sees (its ISTIO_META_* node metadata), instead of this JVM's. */
    TestGateway(Map<String, String> props, io.opentelemetry.api.OpenTelemetry otel, Map<String, String> env)
            throws Exception {
        this(props, otel, env, new SimpleMeterRegistry());
    }

    /** {@code registry}: where the gateway's meters go (a Prometheus one, for its text exposition and label sets). */
    TestGateway(Map<String, String> props, io.opentelemetry.api.OpenTelemetry otel, Map<String, String> env,
            io.micrometer.core.instrument.MeterRegistry registry) throws Exception {
        this.registry = registry;
        Map<String, String> all = new HashMap<>();
        all.put("mesh.gateway.status-port", "0");
        all.put("mesh.gateway.admin-port", "0");
        all.put("mesh.gateway.listeners.event-loops", "2");
        all.put("mesh.gateway.listeners.drain-timeout", "2s");
        all.put("mesh.gateway.xds.initial-backoff", "100ms");
        all.put("mesh.gateway.xds.max-backoff", "1s");
        all.put("mesh.gateway.telemetry.access-log", "false");
        all.putAll(props);
        config = config(all);
        try {
            gateway = Gateway.start(vertx, config, registry, otel, env).toCompletionStage().toCompletableFuture()
                    .get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            // No gateway to close: its Vert.x would outlive the failed start.
            vertx.close();
            throw e;
        }
    }

    /** The settings as the gateway would read them from these properties. */
    static GatewayConfig config(Map<String, String> props) {
        SmallRyeConfig c = new SmallRyeConfigBuilder().withMapping(GatewayConfig.class)
                .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withSources(new PropertiesConfigSource(props, "test", 500)).build();
        return c.getConfigMapping(GatewayConfig.class);
    }

    static TestGateway withXds(ControlPlane cp, Map<String, String> props) throws Exception {
        return withXds(cp, props, Map.of());
    }

    static TestGateway withXds(ControlPlane cp, Map<String, String> props, Map<String, String> env) throws Exception {
        return withXds(cp, props, env, new SimpleMeterRegistry());
    }

    static TestGateway withXds(ControlPlane cp, Map<String, String> props, Map<String, String> env,
            io.micrometer.core.instrument.MeterRegistry registry) throws Exception {
        Map<String, String> p = new HashMap<>(props);
        p.put("mesh.gateway.xds.address", cp.address());
        return new TestGateway(p, null, env, registry);
    }

    /** A gateway with pilot's xDS at {@code cp}, once its first complete config has arrived (within 20 s). */
    static TestGateway ready(ControlPlane cp, Map<String, String> props) throws Exception {
        return ready(cp, props, Map.of());
    }

    /** The same, with {@code env} as the gateway's process environment. */
    static TestGateway ready(ControlPlane cp, Map<String, String> props, Map<String, String> env) throws Exception {
        return ready(cp, props, env, new SimpleMeterRegistry());
    }

    /** The same, Istio's meters in {@code registry}. */
    static TestGateway ready(ControlPlane cp, Map<String, String> props, Map<String, String> env,
            io.micrometer.core.instrument.MeterRegistry registry) throws Exception {
        TestGateway gw = withXds(cp, props, env, registry);
        try {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(gw::ready);
        } catch (RuntimeException | Error e) {
            // The caller never gets it, so it could never close it.
            try {
                gw.close();
            } catch (Exception closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        return gw;
    }

    boolean ready() {
        return gateway.dataPlane().ready();
    }

    @Override
    public void close() throws Exception {
        gateway.stop().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
        vertx.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    }
}
