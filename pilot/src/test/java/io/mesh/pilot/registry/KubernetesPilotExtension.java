package io.mesh.pilot.registry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Starts {@link KubernetesPilot}s for one test and closes them after it, so that a Kubernetes test class keeps no work
 * folder and no clean-up of its own. The start methods are {@link KubernetesPilot}'s, without the work folder: each
 * pilot gets its own under a temporary folder of the test (its kubeconfig, kubectl's cache and log), deleted once the
 * pilots are closed.
 *
 * <p>Register it as an instance field, {@code @RegisterExtension final KubernetesPilotExtension pilots = new
 * KubernetesPilotExtension();}: JUnit closes the pilots after the test's own {@code @AfterEach} methods, so what a test
 * closes there goes first. Used from one test's thread only.
 */
final class KubernetesPilotExtension implements AfterEachCallback {
    private final Deque<KubernetesPilot> started = new ArrayDeque<>();
    private Path work;

    /** As {@link KubernetesPilot#start(Path, boolean)}. */
    KubernetesPilot start(boolean credentials) throws Exception {
        return closedAfterTheTest(KubernetesPilot.start(nextWorkFolder(), credentials));
    }

    /** As {@link KubernetesPilot#start(Path, boolean, List, Duration)}. */
    KubernetesPilot start(boolean credentials, List<String> crds, Duration crdRecheck) throws Exception {
        return closedAfterTheTest(KubernetesPilot.start(nextWorkFolder(), credentials, crds, crdRecheck));
    }

    /** As {@link KubernetesPilot#startWithGatewayApi}. */
    KubernetesPilot startWithGatewayApi(boolean credentials, UnaryOperator<KubernetesRegistry> configure)
            throws Exception {
        return closedAfterTheTest(KubernetesPilot.startWithGatewayApi(nextWorkFolder(), credentials, configure));
    }

    private KubernetesPilot closedAfterTheTest(KubernetesPilot pilot) {
        started.push(pilot);
        return pilot;
    }

    /** A folder of its own for each pilot: two pilots of one test must not share a kubeconfig. */
    private Path nextWorkFolder() throws IOException {
        if (work == null) {
            work = Files.createTempDirectory("kubernetes-pilot");
        }
        return work.resolve("pilot-" + (started.size() + 1));
    }

    /** Closes the pilots, newest first, then deletes the work folder. */
    @Override
    public void afterEach(ExtensionContext context) throws IOException {
        try {
            while (!started.isEmpty()) {
                started.pop().close();
            }
        } finally {
            if (work != null) {
                try (Stream<Path> files = Files.walk(work)) {
                    for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(file);
                    }
                }
                work = null;
            }
        }
    }
}
