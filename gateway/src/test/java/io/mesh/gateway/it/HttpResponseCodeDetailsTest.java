package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.testing.FreePorts;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The request line's fields of Istio's JSON format that say why a response has its code, and the CEL attributes over
 * them, on both paths (a gateway with the fast path, one without): {@code response_code_details} ({@code via_upstream},
 * Envoy's RBAC filter's {@code rbac_access_denied_matched_policy[NAME]}, {@code route_not_found},
 * {@code cluster_not_found}), {@code connection_termination_details} and {@code upstream_transport_failure_reason}
 * (null: nothing ended the connection, no upstream TLS failed); an access log filter on {@code response.code_details},
 * {@code upstream.port} and {@code response.flags} (Envoy's bit vector: 0x100 is NR). Real gateways on real ADS
 * servers, the JDK's HTTP client, lines read from {@code io.mesh.gateway.access}.
 */
class HttpResponseCodeDetailsTest {
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static final String POLICY = "ns[istio-system]-policy[edge]-rule[0]";
    static io.vertx.core.Vertx vertx;
    static Backend web;
    static ControlPlane pilot;
    static ControlPlane pilot2;
    static TestGateway fast;
    static TestGateway vertxPath;
    /** Each gateway's listener that logs every request, then the one whose filter picks some. */
    static int[] logged = new int[2];
    static int[] filtered = new int[2];

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        vertx = io.vertx.core.Vertx.vertx();
        web = new Backend(vertx, "web");
        pilot = new ControlPlane();
        pilot2 = new ControlPlane();
        for (int i = 0; i < 2; i++) {
            logged[i] = FreePorts.next();
            filtered[i] = FreePorts.next();
            publish(i == 0 ? pilot : pilot2, logged[i], filtered[i]);
        }
        fast = TestGateway.withXds(pilot, Map.of());
        vertxPath = TestGateway.withXds(pilot2, Map.of("mesh.gateway.listeners.fast-path", "false"));
        await().atMost(Duration.ofSeconds(20)).until(() -> fast.ready() && vertxPath.ready());
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
        vertxPath.close();
        fast.close();
        pilot.close();
        pilot2.close();
        web.close();
        vertx.close();
    }

    static void publish(ControlPlane cp, int loggedPort, int filteredPort) {
        String expression = "response.code_details == 'via_upstream' && upstream.port == " + web.port
                + " && upstream.address == '127.0.0.1' || response.flags == 256u && response.code == 404";
        cp.set(List.of(Xds.edsCluster("web")), List.of(Xds.endpoints("web", web.port)),
                List.of(listener("logged", loggedPort, null), listener("filtered", filteredPort, expression)),
                List.of(Xds.routes("http.80", Xds.vhost("all", List.of("*"), Xds.prefixTo("/app", "web"),
                        Xds.prefixTo("/admin", "web"), Xds.prefixTo("/gone", "missing")))), List.of());
    }

    /** pilot's HCM: a DENY AuthorizationPolicy on /admin, then the router; its access log under {@code filter}. */
    static Listener listener(String name, int port, String filter) {
        RBAC denyAdmin = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies(POLICY, Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                        .setPath(StringMatcher.newBuilder().setPrefix("/admin"))))
                .addPrincipals(Principal.newBuilder().setAny(true)).build()).build();
        HttpConnectionManager hcm = withAccessLog(filter);
        hcm = hcm.toBuilder().clearHttpFilters()
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.rbac").setTypedConfig(Any.pack(
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(denyAdmin).build())))
                .addAllHttpFilters(hcm.getHttpFiltersList()).build();
        return httpListener(name, port, hcm);
    }

    /** pilot's HCM for route config http.80 with the file access log to stdout under {@code filter} (null: none). */
    static HttpConnectionManager withAccessLog(String filter) {
        AccessLog.Builder log = AccessLog.newBuilder().setName("envoy.access_loggers.file")
                .setTypedConfig(Any.pack(Xds.istioJsonLog("/dev/stdout")));
        if (filter != null) {
            log.setFilter(AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder()
                    .setName("envoy.access_loggers.extension_filters.cel")
                    .setTypedConfig(Any.pack(ExpressionFilter.newBuilder().setExpression(filter).build()))));
        }
        return Xds.hcm("http.80").toBuilder().addAccessLog(log).build();
    }

    static Listener httpListener(String name, int port, HttpConnectionManager hcm) {
        return Listener.newBuilder().setName(name).setAddress(Xds.address("127.0.0.1", port))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
    }

    static int get(int port, String path, String id) throws Exception {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                .send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("x-request-id", id)
                        .build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    static String line(String id) {
        String of = "\"request_id\":\"" + id + "\"";
        await().atMost(Duration.ofSeconds(10)).until(() -> CAPTURE.lines.stream().anyMatch(l -> l.contains(of)));
        return CAPTURE.lines.stream().filter(l -> l.contains(of)).findFirst().orElseThrow();
    }

    static boolean logged(String id) {
        return CAPTURE.lines.stream().anyMatch(l -> l.contains("\"request_id\":\"" + id + "\""));
    }

    @Test
    void aResponseFromTheUpstreamIsViaUpstreamWithNoTerminationOrTransportFailure() throws Exception {
        for (int i = 0; i < 2; i++) {
            String id = "via-upstream-" + i;
            assertEquals(200, get(logged[i], "/app/x", id));
            String line = line(id);
            assertTrue(line.contains("\"response_code_details\":\"via_upstream\""), line);
            assertTrue(line.contains("\"connection_termination_details\":null"), line);
            assertTrue(line.contains("\"upstream_transport_failure_reason\":null"), line);
        }
    }

    @Test
    void anRbacDenialHasTheRbacFiltersDetailsNamingThePolicy() throws Exception {
        for (int i = 0; i < 2; i++) {
            String id = "rbac-" + i;
            assertEquals(403, get(logged[i], "/admin/users", id));
            String line = line(id);
            assertTrue(line.contains("\"response_code_details\":\"rbac_access_denied_matched_policy[" + POLICY + "]\""),
                    line);
            assertTrue(line.contains("\"upstream_host\":null"), line);
        }
    }

    @Test
    void noRouteAndNoClusterHaveTheRoutersDetails() throws Exception {
        for (int i = 0; i < 2; i++) {
            assertEquals(404, get(logged[i], "/elsewhere", "nr-" + i));
            assertTrue(line("nr-" + i).contains("\"response_code_details\":\"route_not_found\""), line("nr-" + i));
            assertEquals(503, get(logged[i], "/gone", "nc-" + i));
            assertTrue(line("nc-" + i).contains("\"response_code_details\":\"cluster_not_found\""), line("nc-" + i));
        }
    }

    @Test
    void aFilterReadsTheCodeDetailsTheUpstreamAndEnvoysFlagBits() throws Exception {
        for (int i = 0; i < 2; i++) {
            assertEquals(403, get(filtered[i], "/admin/y", "f-rbac-" + i));
            assertEquals(503, get(filtered[i], "/gone", "f-nc-" + i));
            assertEquals(200, get(filtered[i], "/app/y", "f-upstream-" + i));
            assertEquals(404, get(filtered[i], "/elsewhere", "f-nr-" + i));
            assertTrue(line("f-upstream-" + i).contains("\"response_code\":200"));
            assertTrue(line("f-nr-" + i).contains("\"response_flags\":\"NR\""));
            // The other two, sent first, were filtered out (their lines would be there by now).
            assertFalse(logged("f-rbac-" + i), "a local reply's details are not via_upstream");
            assertFalse(logged("f-nc-" + i), "NC is another bit");
        }
    }
}
