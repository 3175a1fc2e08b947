package io.mesh.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AppProberTest {

    @Test
    void theInjectorsProbersParseWithKubernetesDefaults() {
        // What injector's golden pod-with-probes/patch.json passes in ISTIO_KUBE_APP_PROBERS.
        Map<String, AppProber> probers = AppProber.parseAll("""
                {"/app-health/api/livez":{"httpGet":{"path":"/live","port":9090,"httpHeaders":[{"name":"X-Probe","value":"kubelet"}]},"timeoutSeconds":2},
                 "/app-health/api/readyz":{"httpGet":{"path":"/ready","port":8080},"timeoutSeconds":1},
                 "/app-health/api/startupz":{"tcpSocket":{"port":8080},"timeoutSeconds":1},
                 "/app-health/grpc/livez":{"grpc":{"port":9000,"service":"orders"}},
                 "/app-health/tls/readyz":{"httpGet":{"port":8443,"scheme":"HTTPS"},"timeoutSeconds":0}}""");
        assertEquals(new AppProber(AppProber.Kind.HTTP_GET, 9090, "/live", false, List.of(Map.entry("X-Probe", "kubelet")), null,
                Duration.ofSeconds(2)), probers.get("/app-health/api/livez"));
        assertEquals(AppProber.Kind.TCP_SOCKET, probers.get("/app-health/api/startupz").kind());
        assertEquals("orders", probers.get("/app-health/grpc/livez").grpcService());
        assertEquals(Duration.ofSeconds(1), probers.get("/app-health/grpc/livez").timeout());
        AppProber tls = probers.get("/app-health/tls/readyz");
        assertTrue(tls.https());
        assertEquals("/", tls.path());
        assertEquals(Duration.ofSeconds(1), tls.timeout());
    }

    @Test
    void unsetOrBlankMeansNoProbers() {
        assertEquals(Map.of(), AppProber.parseAll(""));
        assertEquals(Map.of(), AppProber.parseAll(null));
    }

    @Test
    void badProbersAreRefusedWithWhatIsWrong() {
        assertMessage("not a JSON object", "[1,2]");
        assertMessage("not a JSON object", "{");
        assertMessage("must match", "{\"/healthz\":{\"tcpSocket\":{\"port\":80}}}");
        assertMessage("exactly one of httpGet, tcpSocket, grpc",
                "{\"/app-health/a/livez\":{\"tcpSocket\":{\"port\":80},\"httpGet\":{\"port\":80}}}");
        assertMessage("exactly one of", "{\"/app-health/a/livez\":{\"exec\":{}}}");
        assertMessage("port must be a number 1-65535, got http", "{\"/app-health/a/livez\":{\"httpGet\":{\"port\":\"http\"}}}");
        assertMessage("port must be a number 1-65535, got 70000", "{\"/app-health/a/livez\":{\"tcpSocket\":{\"port\":70000}}}");
        assertMessage("scheme must be HTTP or HTTPS", "{\"/app-health/a/livez\":{\"httpGet\":{\"port\":80,\"scheme\":\"FTP\"}}}");
        assertMessage("timeoutSeconds", "{\"/app-health/a/livez\":{\"tcpSocket\":{\"port\":80},\"timeoutSeconds\":-1}}");
    }

    @Test
    void scrapeTargetsFollowIstiosDefaultsAndRefuseTheMonitoringPort() {
        assertEquals(Optional.of(new ScrapeTarget(9100, "/metrics")),
                ScrapeTarget.parse("{\"scrape\":\"true\",\"path\":\"/metrics\",\"port\":\"9100\"}", 15020));
        assertEquals(Optional.of(new ScrapeTarget(80, "/metrics")), ScrapeTarget.parse("{\"scrape\":\"true\"}", 15020));
        assertEquals(Optional.of(new ScrapeTarget(8080, "/stats")), ScrapeTarget.parse("{\"path\":\"stats\",\"port\":\"8080\"}", 15020));
        assertEquals(Optional.empty(), ScrapeTarget.parse("{\"scrape\":\"false\",\"port\":\"8080\"}", 15020));
        assertEquals(Optional.empty(), ScrapeTarget.parse("", 15020));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ScrapeTarget.parse("{\"port\":\"15020\"}", 15020))
                .getMessage().contains("monitoring port"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ScrapeTarget.parse("{\"port\":\"http\"}", 15020))
                .getMessage().contains("port must be a number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ScrapeTarget.parse("not json", 15020))
                .getMessage().contains("ISTIO_PROMETHEUS_ANNOTATIONS"));
    }

    private static void assertMessage(String part, String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AppProber.parseAll(json));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
