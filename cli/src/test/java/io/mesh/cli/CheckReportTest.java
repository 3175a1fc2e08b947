package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Golden output of meshctl check: people read the table, scripts read the JSON. */
class CheckReportTest {

    private static final List<CheckResult> RESULTS = List.of(
            CheckResult.pass("the cluster is reachable", "https://127.0.0.1:6443/ (Kubernetes v1.32.0)"),
            CheckResult.fail("istio-pilot is ready", "0/2 replicas ready", "kubectl -n istio-system describe deployment istio-pilot"));

    private static String print(OutputFormat format) {
        StringWriter out = new StringWriter();
        CheckReport.print(RESULTS, format, Terminal.plain(), new PrintWriter(out));
        return out.toString();
    }

    @Test
    void tableShowsAMarkPerCheckAndAHintUnderEachFailure() {
        assertEquals("""
                ✓ the cluster is reachable  https://127.0.0.1:6443/ (Kubernetes v1.32.0)
                ✗ istio-pilot is ready      0/2 replicas ready
                  hint: kubectl -n istio-system describe deployment istio-pilot
                1 of 2 checks failed.
                """, print(OutputFormat.table));
    }

    @Test
    void jsonListsEveryCheckWithItsOutcome() {
        assertEquals("""
                [ {
                  "check" : "the cluster is reachable",
                  "ok" : true,
                  "detail" : "https://127.0.0.1:6443/ (Kubernetes v1.32.0)",
                  "hint" : null
                }, {
                  "check" : "istio-pilot is ready",
                  "ok" : false,
                  "detail" : "0/2 replicas ready",
                  "hint" : "kubectl -n istio-system describe deployment istio-pilot"
                } ]
                """, print(OutputFormat.json));
    }

    @Test
    void yamlIsTheSameListForScripts() {
        assertEquals("""
                - check: the cluster is reachable
                  ok: true
                  detail: https://127.0.0.1:6443/ (Kubernetes v1.32.0)
                  hint: null
                - check: istio-pilot is ready
                  ok: false
                  detail: 0/2 replicas ready
                  hint: kubectl -n istio-system describe deployment istio-pilot
                """, print(OutputFormat.yaml));
    }
}
