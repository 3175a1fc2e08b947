package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** meshctl apps from telemetry's /api/graph: one row per service with traffic, summed over its callers. */
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
               "rps":1.0,"errorRate":0.5,"p50Ms":9.0,"p99Ms":90.0,"requests":60}]}
            """;

    @Test
    void servicesWithTrafficGetOneRowWithTheirCallersSummed() throws Exception {
        List<AppsCommand.App> apps = AppsCommand.apps(new ObjectMapper().readTree(GRAPH));
        assertEquals(List.of(new AppsCommand.App("web.demo.svc.cluster.local", 4.0, 0.875, 4.0, 40.0, 240)), apps);

        StringWriter out = new StringWriter();
        AppsCommand.table(apps, new PrintWriter(out, true));
        assertEquals("""
                NAME                              RPS   SUCCESS     P50_MS     P99_MS
                web.demo.svc.cluster.local       4.00    87.50%        4.0       40.0
                """, out.toString());
    }
}
