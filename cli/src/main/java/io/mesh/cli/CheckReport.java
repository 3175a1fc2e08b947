package io.mesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.List;

/** Prints check results as ✓/✗ lines with hints, or as JSON or YAML for scripts. */
final class CheckReport {

    private CheckReport() {
    }

    static void print(List<CheckResult> results, OutputFormat format, Terminal terminal, PrintWriter out) {
        try {
            switch (format) {
                case json -> out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(results));
                case yaml -> out.print(new ObjectMapper(new YAMLFactory().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                        .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)).writeValueAsString(results));
                case table -> {
                    int width = results.stream().mapToInt(r -> r.check().length()).max().orElse(0);
                    for (CheckResult result : results) {
                        String mark = result.ok() ? terminal.green("✓") : terminal.red("✗");
                        out.printf("%s %-" + width + "s  %s%n", mark, result.check(), result.detail());
                        if (!result.ok() && result.hint() != null) {
                            out.printf("  %s%n", terminal.dim("hint: " + result.hint()));
                        }
                    }
                    long failed = results.stream().filter(r -> !r.ok()).count();
                    out.println(failed == 0 ? "All " + results.size() + " checks passed."
                            : failed + " of " + results.size() + " checks failed.");
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        out.flush();
    }
}
