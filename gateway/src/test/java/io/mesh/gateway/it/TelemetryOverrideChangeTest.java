package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.testing.FreePorts;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A Telemetry applied to a proxy that already serves traffic: pilot pushes the listener again with Istio's stats filter
 * removing {@code request_protocol}. The Prometheus exposition must then have the new series, without the label; a
 * Prometheus registry refuses a second label set for one metric silently, so the old series must make room.
 */
class TelemetryOverrideChangeTest {

    static Listener withStats(Listener l, String json) throws Exception {
        Struct.Builder config = Struct.newBuilder();
        JsonFormat.parser().merge(json, config);
        FilterChain fc = l.getFilterChains(0);
        Filter f = fc.getFilters(0);
        HttpConnectionManager hcm = f.getTypedConfig().unpack(HttpConnectionManager.class);
        int router = hcm.getHttpFiltersCount() - 1;
        HttpConnectionManager withFilter = hcm.toBuilder().addHttpFilters(router, HttpFilter.newBuilder()
                .setName("istio.stats").setTypedConfig(Any.pack(TypedStruct.newBuilder()
                        .setTypeUrl("type.googleapis.com/stats.PluginConfig").setValue(config).build()))).build();
        return l.toBuilder().setFilterChains(0, fc.toBuilder().setFilters(0, f.toBuilder()
                .setTypedConfig(Any.pack(withFilter)))).build();
    }

    static List<String> requestSeries(PrometheusMeterRegistry registry) {
        return registry.scrape().lines().filter(l -> l.startsWith("istio_requests_total{")).toList();
    }

    @Test
    void aTelemetryThatRemovesALabelTakesEffectOnAProxyThatAlreadyCountedRequests() throws Exception {
        Vertx vertx = Vertx.vertx();
        Backend web = new Backend(vertx, "web");
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        String cluster = "outbound|80||web.demo.svc.cluster.local";
        try (ControlPlane pilot = new ControlPlane()) {
            int port = FreePorts.next();
            Listener plain = Xds.httpListener("http", port, "http.80");
            var routes = List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/", cluster))));
            pilot.set(List.of(Xds.edsCluster(cluster)), List.of(Xds.endpoints(cluster, web.port)), List.of(plain), routes,
                    List.of());
            TestGateway gw = new TestGateway(Map.of("mesh.gateway.xds.address", pilot.address()), null, Map.of(), registry);
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            URI uri = URI.create("http://127.0.0.1:" + port + "/");
            try {
                await().atMost(Duration.ofSeconds(20)).until(gw::ready);
                assertEquals(200, http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())
                        .statusCode());
                await().atMost(Duration.ofSeconds(5)).until(() -> requestSeries(registry).stream()
                        .anyMatch(l -> l.contains("request_protocol=\"http\"")));

                pilot.set(List.of(Xds.edsCluster(cluster)), List.of(Xds.endpoints(cluster, web.port)), List.of(withStats(
                        plain, "{\"metrics\": [{\"tags_to_remove\": [\"request_protocol\"]}]}")), routes, List.of());
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                    assertEquals(200, http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode());
                    List<String> series = requestSeries(registry);
                    assertFalse(series.isEmpty(), registry.scrape());
                    for (String l : series) {
                        assertFalse(l.contains("request_protocol="), l);
                    }
                });
                // The other families changed with it, and the exposition still has one label set per family.
                String body = registry.scrape();
                assertFalse(body.contains("request_protocol="), body);
                assertFalse(requestSeries(registry).isEmpty());
            } finally {
                gw.close();
            }
        } finally {
            vertx.close();
        }
    }
}
