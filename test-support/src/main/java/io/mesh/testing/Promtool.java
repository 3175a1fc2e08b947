package io.mesh.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real {@code promtool check metrics} (Debian's prometheus package) on an exposition, as
 * Prometheus' own linter sees it. A missing promtool fails the test: .ci/run installs it.
 */
public final class Promtool {

    /** The Prometheus text exposition format, the one {@code promtool check metrics} lints. */
    public static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    /** The OpenMetrics format that Prometheus asks for first when it scrapes. */
    public static final String OPEN_METRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private Promtool() {
    }

    /** The result of one {@code promtool check metrics} run. */
    public record Result(int exitCode, String output) {
    }

    public static Result checkMetrics(String exposition) {
        ProcessBuilder builder = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true);
        try {
            Process process = builder.start();
            try (OutputStream stdin = process.getOutputStream()) {
                stdin.write(exposition.getBytes(StandardCharsets.UTF_8));
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail("promtool did not finish within 30 s");
            }
            return new Result(process.exitValue(), output);
        } catch (IOException e) {
            throw new AssertionError("promtool could not be run (install Debian's 'prometheus' package): " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running promtool", e);
        }
    }

    /** Asserts that the exposition has metrics and that promtool finds no problem in it. */
    public static void assertValidMetrics(String exposition) {
        assertTrue(exposition.contains("# TYPE "), "the exposition has no metric families:\n" + exposition);
        Result result = checkMetrics(exposition);
        assertEquals(0, result.exitCode(), "promtool check metrics found problems:\n" + result.output());
    }
}
