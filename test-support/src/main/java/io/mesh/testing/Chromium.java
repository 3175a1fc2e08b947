package io.mesh.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real headless Chromium (Debian's {@code chromium}) once, with a fresh profile under {@code target/}. The
 * page gets 8 s of virtual time, so its fetches complete before the DOM is dumped or a screenshot taken. A missing
 * chromium fails the test: .ci/run installs it.
 */
public final class Chromium {
    private Chromium() {
    }

    /** Chromium's standard output for these arguments (e.g. {@code --dump-dom URL}: the page's DOM after its scripts). */
    public static String run(String... args) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "chromium-profile-");
        List<String> command = new ArrayList<>(List.of("chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--virtual-time-budget=8000"));
        command.addAll(List.of(args));
        Path out = profile.resolve("stdout.txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile())
                .redirectError(profile.resolve("stderr.txt").toFile()).start();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("chromium did not finish in 120 s: " + read(profile.resolve("stderr.txt")));
        }
        assertEquals(0, process.exitValue(), () -> "chromium failed: " + read(profile.resolve("stderr.txt")));
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    private static String read(Path path) {
        try {
            return Files.readString(path);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
