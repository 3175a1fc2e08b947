package io.mesh.testing.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real kubectl, pointed at one kubeconfig (usually {@link KubeApiMock}'s), with its own cache folder so
 * parallel test runs never share discovery. Every call must succeed: a failure fails the test with kubectl's
 * output.
 */
public final class Kubectl {

    private final Path kubeconfig;
    private final Path workDir;

    public Kubectl(Path kubeconfig, Path workDir) {
        this.kubeconfig = kubeconfig.toAbsolutePath();
        this.workDir = workDir.toAbsolutePath();
    }

    /** {@code kubectl ARGS}; returns its output. */
    public String run(String... args) {
        return run(null, args);
    }

    /** {@code kubectl ARGS} with {@code stdin} as standard input (for {@code apply -f -}), when not null. */
    public String run(String stdin, String... args) {
        List<String> command = new ArrayList<>(List.of("kubectl", "--kubeconfig", kubeconfig.toString(),
                "--cache-dir", workDir.resolve("kube-cache").toString()));
        command.addAll(List.of(args));
        try {
            Files.createDirectories(workDir);
            Path log = workDir.resolve("kubectl.log");
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try (OutputStream in = process.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            assertTrue(process.waitFor(120, TimeUnit.SECONDS), "kubectl " + String.join(" ", args) + " timed out");
            String output = Files.readString(log);
            assertEquals(0, process.exitValue(), "kubectl " + String.join(" ", args) + " failed:\n" + output);
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run kubectl (is it installed?)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running kubectl", e);
        }
    }
}
