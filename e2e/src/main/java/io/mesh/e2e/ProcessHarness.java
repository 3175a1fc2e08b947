package io.mesh.e2e;

import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts the packaged components (and any other command) as real processes on 127.0.0.1, waits for them
 * with a deadline, prints their logs when a test fails, and always stops them.
 *
 * <p>Register it with {@code @RegisterExtension}: as a static field, processes live for the class; as an
 * instance field, for each test. It never leaves a process behind, whether the test passed or not.
 */
public final class ProcessHarness implements AfterEachCallback, AfterAllCallback {

    /** How long a component may take to become ready. Generous: CI machines are shared and slow. */
    public static final Duration READY_DEADLINE = Duration.ofSeconds(90);

    private static final Duration STOP_GRACE = Duration.ofSeconds(10);

    private final List<ManagedProcess> processes = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Path root = ProjectLayout.root();
    private String workName = "default";
    private boolean keepBetweenTests;

    /** Names the folder (under e2e/target/e2e-work) that holds this harness's logs and state. */
    public ProcessHarness named(String name) {
        this.workName = name;
        return this;
    }

    /**
     * For a harness in a static field whose processes serve every test of the class (ordered tests on one
     * running mesh): they are stopped after all tests, not after each.
     */
    public ProcessHarness keepBetweenTests() {
        this.keepBetweenTests = true;
        return this;
    }

    public Path projectRoot() {
        return root;
    }

    public Path workDir() {
        return ProjectLayout.workDir(workName);
    }

    /**
     * Starts a packaged component with every port on a free one (unless {@code extraEnv} sets it) and waits
     * until it is ready. A gateway is pointed at an xDS address where nothing listens unless one is given.
     */
    public RunningComponent start(Component component, Map<String, String> extraEnv) {
        Path jar = component.runnableJar(root);
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: package the components first (./mvnw package)");
        }
        int monitoringPort = FreePorts.next();
        Map<String, String> env = new HashMap<>();
        env.put("QUARKUS_HTTP_HOST", "127.0.0.1");
        env.put("MESH_MODE", "local");
        env.put(component.envPrefix() + "MONITORING_PORT", Integer.toString(monitoringPort));
        for (String port : component.portVariables()) {
            env.put(port, Integer.toString(FreePorts.next()));
        }
        if (component == Component.GATEWAY) {
            env.put("MESH_GATEWAY_XDS_ADDRESS", "127.0.0.1:" + FreePorts.next());
        }
        env.put(component.envPrefix() + "STATE_DIR", workDir().resolve("state").resolve(component.id()).toString());
        env.putAll(extraEnv);
        List<String> command = List.of(javaExecutable(), "-XX:+UseSerialGC", "-Xmx256m", "-jar", jar.toString());
        ManagedProcess process = startProcess(component.id(), command, env, root);
        RunningComponent running = new RunningComponent(component, process, monitoringPort, Map.copyOf(env));
        awaitHttpOk(process, running.monitoring("/q/health/ready"), READY_DEADLINE);
        return running;
    }

    /**
     * Starts the packaged gateway in router mode as {@code pilot}'s xDS client, its listeners on 127.0.0.1, and waits
     * for its config readiness (15021's {@code /healthz/ready}: the first complete config applied, every listener bound).
     */
    public RunningComponent startRouter(RunningComponent pilot) {
        RunningComponent gateway = start(Component.GATEWAY, Map.of(
                "MESH_GATEWAY_XDS_ADDRESS", "127.0.0.1:" + pilot.env().get("MESH_PILOT_XDS_PORT"),
                "MESH_GATEWAY_LISTENERS_HOST", "127.0.0.1"));
        awaitHttpOk(gateway.process(), URI.create("http://127.0.0.1:"
                + gateway.env().get("MESH_GATEWAY_STATUS_PORT") + "/healthz/ready"), READY_DEADLINE);
        return gateway;
    }

    /** Starts any command with its output going to {@code <work dir>/logs/<name>.log}. */
    public ManagedProcess startProcess(String name, List<String> command, Map<String, String> env, Path directory) {
        try {
            Path logs = Files.createDirectories(workDir().resolve("logs"));
            Path log = logs.resolve(name + ".log");
            ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile())
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            builder.environment().putAll(env);
            ManagedProcess process = new ManagedProcess(name, builder.start(), log);
            processes.add(process);
            return process;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + command, e);
        }
    }

    /** Polls {@code uri} until it answers 200; fails at once, with the log, if the process dies first. */
    public void awaitHttpOk(ManagedProcess process, URI uri, Duration deadline) {
        Instant end = Instant.now().plus(deadline);
        String last = "no answer";
        while (Instant.now().isBefore(end)) {
            if (!process.isAlive()) {
                throw new AssertionError(process.name() + " exited before " + uri + " answered; its log:\n" + process.logTail(80));
            }
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return;
                }
                last = response.statusCode() + " " + response.body();
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + uri, e);
            }
            pause();
        }
        throw new AssertionError(process.name() + " did not answer 200 on " + uri + " within " + deadline
                + " (last: " + last + "); its log:\n" + process.logTail(80));
    }

    /** A GET with a short timeout, for assertions. */
    public HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    public List<ManagedProcess> processes() {
        return List.copyOf(processes);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (keepBetweenTests) {
            if (context.getExecutionException().isPresent()) {
                printLogs();
            }
            return;
        }
        finish(context);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        finish(context);
    }

    private void finish(ExtensionContext context) {
        if (context.getExecutionException().isPresent()) {
            printLogs();
        }
        stopAll();
    }

    private void printLogs() {
        for (ManagedProcess process : processes) {
            System.err.printf("%n===== %s: last lines of %s =====%n%s%n", process.name(), process.log(), process.logTail(80));
        }
    }

    /** Stops every process this harness started, newest first. */
    public void stopAll() {
        List<ManagedProcess> reversed = new ArrayList<>(processes);
        java.util.Collections.reverse(reversed);
        for (ManagedProcess process : reversed) {
            process.stop(STOP_GRACE);
            processes.remove(process);
        }
    }

    private static String javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The polling interval; a pause between polls, not a wait for an outcome. */
    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
