package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A route to a cluster the gateway does not have answers with the route's {@code cluster_not_found_response_code}
 * (503 by default; istiod sets 500 on the Kubernetes Gateway API's routes, whose backendRef names no Service),
 * on both paths, while a route to a known cluster is proxied. Real gateways on real ADS servers,
 * requests by the JDK's HTTP client.
 */
class ClusterNotFoundTest {
    static Vertx vertx;
    static Backend web;
    static PathPair pair;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        web = new Backend(vertx, "web");
        pair = new PathPair();
        Route missing = Xds.prefixTo("/gateway-api", "outbound|80||ghost.demo.svc.cluster.local");
        missing = missing.toBuilder().setRoute(missing.getRoute().toBuilder()
                .setClusterNotFoundResponseCode(RouteAction.ClusterNotFoundResponseCode.INTERNAL_SERVER_ERROR)).build();
        Route missing404 = Xds.prefixTo("/not-found", "outbound|80||ghost.demo.svc.cluster.local");
        missing404 = missing404.toBuilder().setRoute(missing404.getRoute().toBuilder()
                .setClusterNotFoundResponseCode(RouteAction.ClusterNotFoundResponseCode.NOT_FOUND)).build();
        List<Route> routes = List.of(missing, missing404, Xds.prefixTo("/default", "outbound|80||ghost.demo.svc.cluster.local"),
                Xds.prefixTo("/", "web"));
        pair.publish((cp, port) -> cp.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(Xds.httpListener("http", port, "http.80")),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), routes.toArray(Route[]::new)))), List.of()));
        pair.start(Map.of(), null);
    }

    @AfterAll
    static void stop() throws Exception {
        pair.close();
        vertx.close();
    }

    static int status(int port, String path) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void anUnknownClusterAnswersWithTheRoutesStatus() throws Exception {
        for (int p : pair.ports()) {
            assertEquals(500, status(p, "/gateway-api/reviews"), "INTERNAL_SERVER_ERROR, as istiod sets it for Gateway API routes");
            assertEquals(404, status(p, "/not-found"));
            assertEquals(503, status(p, "/default"), "Envoy's default SERVICE_UNAVAILABLE");
            assertEquals(200, status(p, "/hello"));
        }
    }
}
