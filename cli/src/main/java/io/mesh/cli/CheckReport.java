package io.mesh.cli;

import java.io.PrintWriter;
import java.util.List;

/** Prints check results as ✓/✗ lines with hints, or as JSON or YAML for scripts. */
final class CheckReport {

    private CheckReport() {
    }

    static void print(List<CheckResult> results, OutputFormat format, Terminal terminal, PrintWriter out) {
        Printer.print(results, format, out, table -> {
            int width = results.stream().mapToInt(r -> r.check().length()).max().orElse(0);
            for (CheckResult result : results) {
                String mark = result.ok() ? terminal.green("✓") : terminal.red("✗");
                table.printf("%s %-" + width + "s  %s%n", mark, result.check(), result.detail());
                if (!result.ok() && result.hint() != null) {
                    table.printf("  %s%n", terminal.dim("hint: " + result.hint()));
                }
            }
            long failed = results.stream().filter(r -> !r.ok()).count();
            table.println(failed == 0 ? "All " + results.size() + " checks passed."
                    : failed + " of " + results.size() + " checks failed.");
        });
    }
}
