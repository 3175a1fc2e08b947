package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** meshctl apps from telemetry's /api/graph and /q/metrics: one row per service with traffic, golden table and JSON. */
class AppsTableTest {

    private static final String GRAPH = """
            {"windowSeconds":60,"nodes":[
              {"id":"service:web.demo.svc.cluster.local","kind":"service","name":"web.demo.svc.cluster.local"},
              {"id":"service:idle.demo.svc.cluster.local","kind":"service","name":"idle.demo.svc.cluster.local"},
              {"id":"workload:istio-system/istio-ingressgateway","kind":"workload","name":"istio-ingressgateway"},
              {"id":"workload:demo/shop","kind":"workload","name":"shop"}],
             "edges":[
              {"source":"workload:istio-system/istio-ingressgateway","target":"service:web.demo.svc.cluster.local",
               "rps":3.0,"errorRate":0.0,"p50Ms":4.0,"p99Ms":40.0,"requests":180},
              {"source":"workload:demo/shop","target":"service:web.demo.svc.cluster.local",
               "rps":1.0,"errorRate":0.5,"p50Ms":9.0,"p99Ms":90.0,"requests":60,"protocol":"http"},
              {"source":"workload:demo/shop","target":"service:web.demo.svc.cluster.local",
               "rps":7.0,"errorRate":0.0,"p50Ms":null,"p99Ms":null,"requests":420,"protocol":"tcp","bytesPerSecond":9000.0}]}
            """;

    private static final Path CAPTURED = Path.of("src/test/resources/captured");

    private static String print(List<AppsCommand.App> apps, OutputFormat format) {
        StringWriter out = new StringWriter();
        Printer.print(apps, format, new PrintWriter(out, true), table -> AppsCommand.table(apps, table));
        return out.toString();
    }

    /** Telemetry's TCP edges (connections, not requests) do not count as requests. */
    @Test
    void servicesWithTrafficGetOneRowWithTheirCallersSummed() throws Exception {
        List<AppsCommand.App> apps = AppsCommand.apps(new ObjectMapper().readTree(GRAPH), Map.of("web.demo.svc.cluster.local", 0.75));
        assertEquals(List.of(new AppsCommand.App("web.demo.svc.cluster.local", 4.0, 0.875, 4.0, 40.0, 240, 0.75)), apps);
        assertEquals("""
                NAME                              RPS   SUCCESS     P50_MS     P99_MS     MTLS
                web.demo.svc.cluster.local       4.00    87.50%        4.0       40.0      75%
                """, print(apps, OutputFormat.table));
        assertEquals("""
                [ {
                  "name" : "web.demo.svc.cluster.local",
                  "rps" : 4.0,
                  "successRate" : 0.875,
                  "p50Ms" : 4.0,
                  "p99Ms" : 40.0,
                  "requests" : 240,
                  "mtlsShare" : 0.75
                } ]
                """, print(apps, OutputFormat.json));
    }

    /** What the local demo's telemetry answered (captured from ./mesh up): the gateway reports no mTLS, so 0%. */
    @Test
    void theLocalDemoAsTelemetryServedIt() throws Exception {
        List<AppsCommand.App> apps = AppsCommand.apps(new ObjectMapper().readTree(Files.readString(CAPTURED.resolve("telemetry-graph.json"))),
                MtlsShare.byService(Files.readString(CAPTURED.resolve("telemetry-metrics.txt"))));
        assertEquals("""
                NAME                                  RPS   SUCCESS     P50_MS     P99_MS     MTLS
                backend.demo.svc.cluster.local       0.52   100.00%        4.6       94.8       0%
                web.demo.svc.cluster.local           0.48   100.00%        3.9       47.6       0%
                """, print(apps, OutputFormat.table));
    }

    @Test
    void aServiceTelemetryHasNoRequestSeriesForShowsADash() throws Exception {
        List<AppsCommand.App> apps = AppsCommand.apps(new ObjectMapper().readTree(GRAPH), Map.of());
        assertEquals("""
                NAME                              RPS   SUCCESS     P50_MS     P99_MS     MTLS
                web.demo.svc.cluster.local       4.00    87.50%        4.0       40.0        -
                """, print(apps, OutputFormat.table));
        assertEquals("""
                - name: web.demo.svc.cluster.local
                  rps: 4.0
                  successRate: 0.875
                  p50Ms: 4.0
                  p99Ms: 40.0
                  requests: 240
                  mtlsShare: null
                """, print(apps, OutputFormat.yaml));
    }
}
