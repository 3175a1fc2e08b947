package io.mesh.gateway.capture;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Installs and removes the capture rules with the real {@code iptables} binary, in the {@code nat} table
 * of the current network namespace. Install is idempotent (it removes any earlier capture first), and a
 * failed install is rolled back so a pod is never left half-captured.
 */
public final class IptablesCapture {

    /** The outcome of one iptables invocation. */
    public record Result(List<String> command, int exitCode, String output) {
    }

    /** Runs one iptables invocation; replaceable so the command lines can be checked without root. */
    @FunctionalInterface
    public interface Iptables {
        Result run(List<String> args);
    }

    private final Iptables iptables;

    public IptablesCapture(Iptables iptables) {
        this.iptables = iptables;
    }

    /** The system's iptables, waiting up to 10 s for the xtables lock, in the nat table. */
    public static IptablesCapture system() {
        return new IptablesCapture(IptablesCapture::exec);
    }

    public void install(CaptureOptions options) {
        cleanup();
        for (List<String> rule : CaptureRules.install(options)) {
            Result result = iptables.run(rule);
            if (result.exitCode() != 0) {
                cleanup();
                throw new IllegalStateException("iptables " + String.join(" ", result.command()) + " failed (exit "
                        + result.exitCode() + "): " + result.output().strip() + "; the capture was rolled back");
            }
        }
    }

    /** Removes every rule and chain a capture added; running it when nothing is installed is harmless. */
    public void cleanup() {
        for (List<String> rule : CaptureRules.cleanup()) {
            if (rule.get(0).equals("-D")) {
                // A jump may have been added more than once by hand; delete until none is left.
                for (int i = 0; i < 100 && iptables.run(rule).exitCode() == 0; i++) {
                    // deleted one
                }
            } else {
                iptables.run(rule);
            }
        }
    }

    private static Result exec(List<String> args) {
        List<String> command = new ArrayList<>(List.of("iptables", "-w", "10", "-t", "nat"));
        command.addAll(args);
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new Result(command, -1, "timed out");
            }
            return new Result(command, process.exitValue(), output);
        } catch (IOException e) {
            return new Result(command, 127, "cannot run iptables: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(command, 130, "interrupted");
        }
    }
}
