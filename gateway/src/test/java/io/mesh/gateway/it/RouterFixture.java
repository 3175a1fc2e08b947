package io.mesh.gateway.it;

import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a router test class runs against: a Vert.x for its origins, pilot (a {@link ControlPlane}) and the gateway
 * under test ({@link TestGateway}), each started on first use. It owns what it started and closes it in the only
 * safe order: the gateway, then pilot, then the test's own resources (newest first), then Vert.x, each one even when
 * an earlier close failed, so a {@code @BeforeAll} that fails half way still leaves nothing running.
 *
 * <p>Register it as a static field, {@code @RegisterExtension static final RouterFixture MESH = new RouterFixture();}:
 * JUnit closes it after the class's {@code @AfterAll} methods. A {@code PER_CLASS} test keeps it in an instance field
 * instead and closes it from its own {@code @AfterAll}. Used from one test class's lifecycle thread only.
 */
final class RouterFixture implements AfterAllCallback, AutoCloseable {

    private Vertx vertx;
    private ControlPlane pilot;
    private TestGateway gateway;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();

    /** The test's Vert.x, for origins and clients (not the gateway's own). */
    Vertx vertx() {
        if (vertx == null) {
            vertx = Vertx.vertx();
        }
        return vertx;
    }

    /** The control plane the gateway is pointed at; set its snapshot before {@link #startGateway}. */
    ControlPlane pilot() throws Exception {
        if (pilot == null) {
            pilot = new ControlPlane();
        }
        return pilot;
    }

    /** An origin named {@code name} on {@link #vertx()}, on a free port. */
    Backend backend(String name) throws Exception {
        return closing(new Backend(vertx(), name));
    }

    /** {@code resource}, to be closed with the fixture: after the gateway and pilot, before Vert.x. */
    <T extends AutoCloseable> T closing(T resource) {
        owned.push(resource);
        return resource;
    }

    /** The gateway on {@link #pilot()}'s config with these settings, once that config is applied (within 20 s). */
    TestGateway startGateway(Map<String, String> settings) throws Exception {
        if (gateway != null) {
            throw new IllegalStateException("the gateway is already started");
        }
        gateway = TestGateway.ready(pilot(), settings);
        return gateway;
    }

    /** The gateway {@link #startGateway} started. */
    TestGateway gateway() {
        if (gateway == null) {
            throw new IllegalStateException("the gateway is not started");
        }
        return gateway;
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        close();
    }

    /** Closes everything started, in order; the first failure is thrown once all are closed, later ones suppressed. */
    @Override
    public void close() throws Exception {
        Exception failure = null;
        failure = close(gateway, failure);
        gateway = null;
        failure = close(pilot, failure);
        pilot = null;
        while (!owned.isEmpty()) {
            failure = close(owned.pop(), failure);
        }
        Vertx v = vertx;
        vertx = null;
        failure = close(v == null ? null : () -> v.close().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS),
                failure);
        if (failure != null) {
            throw failure;
        }
    }

    private static Exception close(AutoCloseable part, Exception failure) {
        if (part == null) {
            return failure;
        }
        try {
            part.close();
            return failure;
        } catch (Exception e) {
            if (failure == null) {
                return e;
            }
            failure.addSuppressed(e);
            return failure;
        }
    }
}
