package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** meshctl check's questions to pilot: rejected config (/debug/configz) and proxies out of sync (/debug/syncz). */
class PilotChecksTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theLocalDemoPassesBoth() throws Exception {
        Path captured = Path.of("src/test/resources/captured");
        assertEquals(CheckResult.pass(PilotChecks.CONFIG, "5 resources accepted"),
                PilotChecks.config(JSON.readTree(Files.readString(captured.resolve("pilot-configz.json")))));
        assertEquals(CheckResult.pass(PilotChecks.SYNC, "1 proxy in sync"),
                PilotChecks.sync(JSON.readTree(Files.readString(captured.resolve("pilot-syncz.json")))));
    }

    @Test
    void aRejectedResourceAndAnUnreadableFileFailTheConfigCheck() throws Exception {
        CheckResult result = PilotChecks.config(JSON.readTree("""
                {"resources":[{"kind":"VirtualService","namespace":"demo","name":"web","status":"Rejected",
                  "reason":"spec.http[0].route: weights must sum to 100, got 110"},
                 {"kind":"Gateway","namespace":"demo","name":"ingress","status":"Accepted"}],
                 "fileErrors":["bad.yaml: invalid YAML at line 3"]}
                """));
        assertEquals(CheckResult.fail(PilotChecks.CONFIG, "2 rejected: VirtualService demo/web: spec.http[0].route: weights must "
                + "sum to 100, got 110; bad.yaml: invalid YAML at line 3",
                "meshctl analyze <your config>; the last good version of each stays in force"), result);
    }

    @Test
    void aNackedOrStaleTypeFailsTheSyncCheckNamingTheProxy() throws Exception {
        CheckResult result = PilotChecks.sync(JSON.readTree("""
                [{"proxy":"router~1","xds":{"cds":{"status":"SYNCED"},"rds":{"status":"NACKED"},"eds":{"status":"STALE"}}},
                 {"proxy":"sidecar~2","xds":{"lds":{"status":"SYNCED"},"sds":{"status":"NOT SENT"}}}]
                """));
        assertEquals("router~1 (RDS NACKED, EDS STALE)", result.detail());
        assertEquals(false, result.ok());
    }
}
