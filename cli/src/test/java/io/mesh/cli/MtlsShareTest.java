package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The MTLS column: mutual_tls requests over all, per destination_service, from istio_requests_total. */
class MtlsShareTest {

    @Test
    void theServingProxysReportWinsOverTheCallersAndEachCodeCounts() {
        String metrics = """
                # HELP istio_requests_total Requests handled by an Istio proxy
                # TYPE istio_requests_total counter
                istio_requests_total{reporter="destination",destination_service="reviews.default.svc.cluster.local",response_code="200",connection_security_policy="mutual_tls"} 60.0
                istio_requests_total{reporter="destination",destination_service="reviews.default.svc.cluster.local",response_code="503",connection_security_policy="mutual_tls"} 15.0
                istio_requests_total{reporter="destination",destination_service="reviews.default.svc.cluster.local",response_code="200",connection_security_policy="none"} 25.0
                istio_requests_total{reporter="source",destination_service="reviews.default.svc.cluster.local",response_code="200",connection_security_policy="unknown"} 100.0
                istio_requests_total{reporter="source",destination_service="web.demo.svc.cluster.local",response_code="200",connection_security_policy="unknown"} 40.0
                istio_requests_total{reporter="source",source_workload="a \\"quoted\\" name, with a comma",destination_service="ratings.default.svc.cluster.local",connection_security_policy="mutual_tls"} 3
                istio_request_duration_milliseconds_count{reporter="destination",destination_service="web.demo.svc.cluster.local",connection_security_policy="mutual_tls"} 40.0
                istio_requests_total{reporter="source",destination_service="idle.demo.svc.cluster.local",connection_security_policy="mutual_tls"} 0.0
                """;
        assertEquals(Map.of("reviews.default.svc.cluster.local", 0.75, "web.demo.svc.cluster.local", 0.0,
                "ratings.default.svc.cluster.local", 1.0), MtlsShare.byService(metrics));
    }

    @Test
    void labelValuesAreUnescaped() {
        assertEquals(Map.of("a", "x \"y\", z", "b", "line\nbreak", "c", "back\\slash"),
                MtlsShare.labels("a=\"x \\\"y\\\", z\",b=\"line\\nbreak\",c=\"back\\\\slash\""));
    }
}
