package io.mesh.telemetry;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.Promtool;
import java.util.List;

/**
 * {@code promtool check metrics} for an exposition that carries Istio's standard series. Istio's own name
 * {@code istio_request_duration_milliseconds} breaks one lint rule (base unit seconds), and operators'
 * dashboards and alerts depend on that exact name, so that single finding is accepted; any other finding, and
 * any parse error, fails. promtool exits 3 for lint findings and 1 for unparsable input.
 */
public final class IstioPromtool {

    static final String ISTIO_DURATION_UNIT_LINT =
            "istio_request_duration_milliseconds use base unit \"seconds\" instead of \"milliseconds\"";

    private IstioPromtool() {
    }

    public static void assertValidMetrics(String exposition) {
        assertTrue(exposition.contains("# TYPE "), "the exposition has no metric families:\n" + exposition);
        Promtool.Result result = Promtool.checkMetrics(exposition);
        if (result.exitCode() == 0) {
            return;
        }
        List<String> findings = result.output().lines().filter(l -> !l.isBlank()).toList();
        assertTrue(result.exitCode() == 3 && !findings.isEmpty()
                && findings.stream().allMatch(ISTIO_DURATION_UNIT_LINT::equals),
                "promtool check metrics found problems (exit " + result.exitCode() + "):\n" + result.output());
    }
}
