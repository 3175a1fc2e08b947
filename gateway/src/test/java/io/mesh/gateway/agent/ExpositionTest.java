package io.mesh.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExpositionTest {

    @Test
    void openMetricsBecomesTextThatPromtoolAccepts() {
        String text = Exposition.openMetricsToText(TestApp.OPEN_METRICS + "");
        assertEquals("""
                # HELP app_jobs_total Jobs done, with a "quoted" help.
                # TYPE app_jobs_total counter
                app_jobs_total{kind="a{b} # c"} 5
                # HELP app_build_info Build of the app.
                # TYPE app_build_info gauge
                app_build_info{version="1.2"} 1
                # HELP app_temperature_celsius Temperature.
                # TYPE app_temperature_celsius gauge
                app_temperature_celsius 21.5 1700000000250
                """, text);
        AgentEndpointsTest.assertPromtoolAccepts(text);
    }

    @Test
    void histogramsSummariesAndUnknownsKeepTheirSamples() {
        String text = Exposition.openMetricsToText("""
                # TYPE rpc_seconds histogram
                rpc_seconds_bucket{le="0.1"} 1
                rpc_seconds_bucket{le="+Inf"} 2 # {id="x"} 0.2
                rpc_seconds_count 2
                rpc_seconds_sum 0.3
                rpc_seconds_created 1.7e9
                # TYPE legacy unknown
                legacy 1
                # TYPE queue gaugehistogram
                queue_bucket{le="+Inf"} 4
                queue_gcount 4
                queue_gsum 9
                # EOF
                """);
        assertEquals("""
                # TYPE rpc_seconds histogram
                rpc_seconds_bucket{le="0.1"} 1
                rpc_seconds_bucket{le="+Inf"} 2
                rpc_seconds_count 2
                rpc_seconds_sum 0.3
                # TYPE legacy untyped
                legacy 1
                queue_bucket{le="+Inf"} 4
                queue_gcount 4
                queue_gsum 9
                """, text);
    }

    @Test
    void theAppsFamiliesThatTheProxyHasAreDropped() {
        String proxy = """
                # HELP jvm_threads_live_threads Threads.
                # TYPE jvm_threads_live_threads gauge
                jvm_threads_live_threads 30.0
                # TYPE http_seconds histogram
                http_seconds_bucket{le="+Inf"} 1
                http_seconds_count 1
                http_seconds_sum 1
                """;
        String app = """
                # TYPE jvm_threads_live_threads gauge
                jvm_threads_live_threads 42
                http_seconds_count 3
                # TYPE app_up gauge
                app_up 1
                """;
        List<String> dropped = new ArrayList<>();
        assertEquals("# TYPE app_up gauge\napp_up 1\n", Exposition.withoutFamiliesOf(proxy, app, dropped));
        assertEquals(List.of("jvm_threads_live_threads", "http_seconds_count"), dropped);
    }

    @Test
    void onlyTextAndOpenMetricsAreMerged() {
        assertEquals("a 1\n", AppScraper.asText("text/plain; version=0.0.4", "a 1"));
        assertEquals("a 1\n", AppScraper.asText(null, "a 1\n"));
        assertEquals("# TYPE a_total counter\na_total 1\n", AppScraper.asText("application/openmetrics-text; version=1.0.0", "# TYPE a counter\na_total 1\n# EOF\n"));
        assertThrows(IllegalArgumentException.class, () -> AppScraper.asText("text/html", "<html>"));
    }
}
