package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.HealthStatusSet;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.envoyproxy.envoy.type.http.v3.Cookie;
import io.mesh.testing.FreePorts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Istio's persistent sessions on the router, with the xDS istiod sends for a Service labelled
 * {@code istio.io/persistent-session} or {@code -header} (the stateful session filter empty in the
 * HttpConnectionManager, the session state on the service's virtual host, override_host_status with DRAINING on its
 * cluster), real backends and curl. Each virtual host has a cluster of its own over backends a and b (the fast path is
 * on: these requests must leave it). Envoy's encoding: a cookie carries base64 of its envoy.Cookie message, a header
 * base64 of {@code ip:port}.
 */
class StatefulSessionTest {

    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    @TempDir
    static Path dir;
    static Backend a;
    static Backend b;
    static ControlPlane pilot;
    static int port;
    static final List<String> CLUSTERS = List.of("cookie", "header", "gone", "drain", "plain", "strict", "retry");
    /** The retry cluster's backends: one of them fails while a test says so. */
    static Backend c;
    static Backend d;

    @BeforeAll
    static void start() throws Exception {
        a = MESH.backend("a");
        b = MESH.backend("b");
        c = MESH.backend("c");
        d = MESH.backend("d");
        pilot = MESH.pilot();
        port = FreePorts.next();
        publish(null, cookie("sticky", "/"));
        MESH.startGateway(Map.of());
        assertTrue(pilot.nacks().isEmpty(), () -> "the filter and its per-route configs are ACKed: " + pilot.nacks());
    }

    /**
     * The config, {@code drained} (a backend, or null) DRAINING in the drain cluster, and the cookie virtual host's
     * session state as {@code cookieVhost}.
     */
    static void publish(Backend drained, StatefulSession cookieVhost) {
        List<Cluster> clusters = new ArrayList<>();
        List<ClusterLoadAssignment> assignments = new ArrayList<>();
        for (String name : CLUSTERS) {
            Cluster.Builder cl = Xds.edsCluster(name).toBuilder();
            if (!name.equals("plain")) {
                cl.setCommonLbConfig(Cluster.CommonLbConfig.newBuilder().setOverrideHostStatus(HealthStatusSet.newBuilder()
                        .addStatuses(HealthStatus.HEALTHY).addStatuses(HealthStatus.DRAINING)
                        .addStatuses(HealthStatus.UNKNOWN).addStatuses(HealthStatus.DEGRADED)));
            }
            clusters.add(cl.build());
            LocalityLbEndpoints.Builder loc = LocalityLbEndpoints.newBuilder().setLoadBalancingWeight(UInt32Value.of(1));
            for (Backend be : name.equals("retry") ? List.of(c, d) : List.of(a, b)) {
                loc.addLbEndpoints(LbEndpoint.newBuilder()
                        .setHealthStatus(name.equals("drain") && be == drained ? HealthStatus.DRAINING : HealthStatus.HEALTHY)
                        .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                .setAddress(Xds.address("127.0.0.1", be.port))));
            }
            assignments.add(ClusterLoadAssignment.newBuilder().setClusterName(name).addEndpoints(loc).build());
        }
        RouteConfiguration routes = RouteConfiguration.newBuilder().setName("http.80")
                .addVirtualHosts(session(vhost("cookie"), cookieVhost))
                .addVirtualHosts(vhost("header").toBuilder().clearRoutes().addRoutes(Xds.prefixTo("/", "header").toBuilder()
                        .putTypedPerFilterConfig("envoy.filters.http.stateful_session", perRoute(header("x-session")))))
                .addVirtualHosts(session(vhost("gone"), cookie("sticky", "/")))
                .addVirtualHosts(session(vhost("drain"), cookie("sticky", "/")))
                .addVirtualHosts(vhost("plain"))
                .addVirtualHosts(session(vhost("strict"), cookie("sticky", "/").toBuilder().setStrict(true).build()))
                .addVirtualHosts(session(vhost("retry").toBuilder().clearRoutes().addRoutes(Xds.prefixTo("/", "retry")
                        .toBuilder().setRoute(Xds.prefixTo("/", "retry").getRoute().toBuilder().setRetryPolicy(
                                io.envoyproxy.envoy.config.route.v3.RetryPolicy.newBuilder().setRetryOn("5xx")
                                        .setNumRetries(UInt32Value.of(2))))).build(), cookie("sticky", "/")))
                .build();
        pilot.set(clusters, assignments, List.of(listener()), List.of(routes), List.of());
    }

    static VirtualHost vhost(String name) {
        return Xds.vhost(name, List.of(name + ".example"), Xds.prefixTo("/", name));
    }

    static VirtualHost session(VirtualHost vh, StatefulSession s) {
        return vh.toBuilder().putTypedPerFilterConfig("envoy.filters.http.stateful_session", perRoute(s)).build();
    }

    static Any perRoute(StatefulSession s) {
        return Any.pack(StatefulSessionPerRoute.newBuilder().setStatefulSession(s).build());
    }

    static StatefulSession cookie(String name, String path) {
        return StatefulSession.newBuilder().setSessionState(TypedExtensionConfig.newBuilder()
                .setName("envoy.http.stateful_session.cookie").setTypedConfig(Any.pack(CookieBasedSessionState.newBuilder()
                        .setCookie(Cookie.newBuilder().setName(name).setPath(path)).build()))).build();
    }

    static StatefulSession header(String name) {
        return StatefulSession.newBuilder().setSessionState(TypedExtensionConfig.newBuilder()
                .setName("envoy.http.stateful_session.header").setTypedConfig(Any.pack(HeaderBasedSessionState.newBuilder()
                        .setName(name).build()))).build();
    }

    /** istiod's HttpConnectionManager with PILOT_ENABLE_PERSISTENT_SESSION_FILTER: the empty filter before the router. */
    static Listener listener() {
        HttpConnectionManager hcm = Xds.hcm("http.80").toBuilder().clearHttpFilters()
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.stateful_session")
                        .setTypedConfig(Any.pack(StatefulSession.getDefaultInstance())))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
                        .setTypedConfig(Any.pack(Router.getDefaultInstance())))
                .build();
        return Listener.newBuilder().setName("http").setAddress(Xds.address("127.0.0.1", port))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
    }

    /** curl's answer: status, the backend that answered, and the response headers (lower-case names). */
    record Answer(int status, String backend, Map<String, List<String>> headers) {
        String first(String name) {
            List<String> v = headers.get(name);
            return v == null ? null : v.get(0);
        }
    }

    /** One curl request to {@code host}'s virtual host, with these extra arguments (cookie jar, headers). */
    static Answer curl(String host, String path, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-D", "-", "-o", "/dev/null", "-H", "Host: " + host));
        cmd.addAll(List.of(args));
        cmd.add("http://127.0.0.1:" + port + path);
        return parse(Run.run(cmd, null));
    }

    /** What {@code curl -s -D - -o /dev/null} printed, as an {@link Answer}. */
    static Answer parse(String out) {
        String[] lines = out.split("\r\n");
        Matcher m = Pattern.compile("HTTP/1.1 (\\d+).*").matcher(lines[0]);
        assertTrue(m.matches(), out);
        Map<String, List<String>> headers = new TreeMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.computeIfAbsent(lines[i].substring(0, colon).toLowerCase(java.util.Locale.ROOT),
                        k -> new ArrayList<>()).add(lines[i].substring(colon + 1).trim());
            }
        }
        return new Answer(Integer.parseInt(m.group(1)), headers.getOrDefault("x-backend", List.of("")).get(0), headers);
    }

    static Backend backend(String name) {
        return switch (name) {
            case "a" -> a;
            case "b" -> b;
            case "c" -> c;
            default -> d;
        };
    }

    /** The address Envoy's cookie value (base64 of envoy.Cookie: address = 1, expires = 2) names. */
    static String cookieAddress(String value) throws Exception {
        CodedInputStream in = CodedInputStream.newInstance(Base64.getDecoder().decode(value));
        String address = null;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag == 10) {
                address = in.readStringRequireUtf8();
            } else {
                in.skipField(tag);
            }
        }
        return address;
    }

    /** Envoy's cookie value: base64 of envoy.Cookie {address = 1; expires = 2 (0: none)}. */
    static String envoyCookie(String address, long expires) throws Exception {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        com.google.protobuf.CodedOutputStream out = com.google.protobuf.CodedOutputStream.newInstance(bytes);
        out.writeString(1, address);
        if (expires != 0) {
            out.writeUInt64(2, expires);
        }
        out.flush();
        return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }

    /** The Set-Cookie a response carries: {@code sticky="VALUE"; Path=/; HttpOnly}, as Envoy writes it; its VALUE. */
    static String stickyCookie(Answer r) {
        String sc = r.first("set-cookie");
        assertTrue(sc != null, "a Set-Cookie: " + r.headers());
        Matcher m = Pattern.compile("sticky=\"([A-Za-z0-9+/=]+)\"; Path=/; HttpOnly").matcher(sc);
        assertTrue(m.matches(), sc);
        return m.group(1);
    }

    @Test
    void withoutACookieTheLoadBalancerSpreadsRequestsAndEachResponseNamesItsEndpoint() throws Exception {
        Map<String, Integer> by = new TreeMap<>();
        for (int i = 0; i < 20; i++) {
            Answer r = curl("cookie.example", "/x");
            assertEquals(200, r.status());
            by.merge(r.backend(), 1, Integer::sum);
            assertEquals("127.0.0.1:" + backend(r.backend()).port, cookieAddress(stickyCookie(r)));
        }
        assertEquals(Map.of("a", 10, "b", 10), by, "round robin over both endpoints");
        // A service without sessions: no cookie.
        Answer plain = curl("plain.example", "/x");
        assertEquals(200, plain.status());
        assertEquals(null, plain.first("set-cookie"));
    }

    @Test
    void theCookieOfTheFirstResponseKeepsTwentyRequestsOnItsEndpoint() throws Exception {
        Path jar = Files.createTempFile(dir, "jar", ".txt");
        Answer first = curl("cookie.example", "/x", "-c", jar.toString());
        stickyCookie(first);
        for (int i = 0; i < 20; i++) {
            Answer r = curl("cookie.example", "/x/" + i, "-b", jar.toString(), "-c", jar.toString());
            assertEquals(200, r.status());
            assertEquals(first.backend(), r.backend(), "request " + i + " stays on " + first.backend());
            assertEquals(null, r.first("set-cookie"), "the endpoint did not change: no new cookie");
        }
    }

    @Test
    void theHeaderOfTheFirstResponseKeepsTwentyRequestsOnItsEndpoint() throws Exception {
        Answer first = curl("header.example", "/x");
        String session = first.first("x-session");
        assertEquals("127.0.0.1:" + backend(first.backend()).port,
                new String(Base64.getDecoder().decode(session), StandardCharsets.UTF_8));
        for (int i = 0; i < 20; i++) {
            Answer r = curl("header.example", "/x", "-H", "x-session: " + session);
            assertEquals(first.backend(), r.backend(), "request " + i);
            assertEquals(null, r.first("x-session"));
        }
        Map<String, Integer> without = new TreeMap<>();
        for (int i = 0; i < 4; i++) {
            without.merge(curl("header.example", "/x").backend(), 1, Integer::sum);
        }
        assertEquals(Map.of("a", 2, "b", 2), without);
    }

    @Test
    void aCookieNamingAnAddressThatIsNoEndpointGoesToTheLoadBalancerAndGetsANewCookie() throws Exception {
        int closed = FreePorts.next();
        // Envoy's format naming no endpoint of the cluster, its older one (base64 of ip:port) likewise, a cookie of
        // Envoy's format naming a real endpoint but past its expiry (monotonic second 1), and one that is not base64.
        String[] values = {
            envoyCookie("127.0.0.1:" + closed, 0),
            Base64.getEncoder().encodeToString(("127.0.0.1:" + closed).getBytes(StandardCharsets.UTF_8)),
            envoyCookie("127.0.0.1:" + a.port, 1),
            "not base64!",
        };
        for (String v : values) {
            Answer r = curl("gone.example", "/x", "-b", "sticky=\"" + v + "\"");
            assertEquals(200, r.status(), v);
            assertEquals("127.0.0.1:" + backend(r.backend()).port, cookieAddress(stickyCookie(r)), v);
        }
    }

    @Test
    void aDrainingEndpointKeepsItsSessionsButGetsNoNewOnes() throws Exception {
        Answer first = curl("drain.example", "/x");
        String cookie = stickyCookie(first);
        Backend sticky = backend(first.backend());
        Backend other = sticky == a ? b : a;
        publish(sticky, cookie("sticky", "/"));
        try {
            // No new session reaches it once EDS says DRAINING.
            await().atMost(Duration.ofSeconds(10)).until(() -> curl("drain.example", "/x").backend().equals(other.name));
            for (int i = 0; i < 10; i++) {
                Answer r = curl("drain.example", "/x");
                assertEquals(other.name, r.backend(), "a new session goes to a HEALTHY endpoint");
                assertEquals("127.0.0.1:" + other.port, cookieAddress(stickyCookie(r)));
            }
            // Its sessions still reach it: override_host_status has DRAINING.
            for (int i = 0; i < 20; i++) {
                Answer r = curl("drain.example", "/x", "-b", "sticky=\"" + cookie + "\"");
                assertEquals(sticky.name, r.backend(), "request " + i + " of the draining endpoint's session");
                assertEquals(null, r.first("set-cookie"));
            }
        } finally {
            publish(null, cookie("sticky", "/"));
        }
    }

    @Test
    void strictSessionsFailWith503InsteadOfGoingToTheLoadBalancer() throws Exception {
        Answer gone = curl("strict.example", "/x", "-b", "sticky=\"" + envoyCookie("127.0.0.1:" + FreePorts.next(), 0) + "\"");
        assertEquals(503, gone.status(), "strict: the named endpoint is no endpoint of the cluster");
        // Without a cookie, and with one that names an endpoint, a strict session is served as any other.
        Answer first = curl("strict.example", "/x");
        assertEquals(200, first.status());
        String cookie = stickyCookie(first);
        for (int i = 0; i < 5; i++) {
            assertEquals(first.backend(), curl("strict.example", "/x", "-b", "sticky=\"" + cookie + "\"").backend());
        }
    }

    @Test
    void aRetryGoesToTheLoadBalancerAndTheCookieFollowsTheEndpointThatAnswered() throws Exception {
        Answer first = curl("retry.example", "/x");
        String cookie = stickyCookie(first);
        Backend failing = backend(first.backend());
        Backend other = failing == c ? d : c;
        failing.forceStatus = 503;
        try {
            // Envoy's router asks for the session's endpoint on the first try only: the retry goes elsewhere.
            Answer r = curl("retry.example", "/x", "-b", "sticky=\"" + cookie + "\"");
            assertEquals(200, r.status());
            assertEquals(other.name, r.backend());
            assertEquals("127.0.0.1:" + other.port, cookieAddress(stickyCookie(r)), "the session moves to " + other.name);
        } finally {
            failing.forceStatus = 0;
        }
    }

    @Test
    void aMalformedSessionIsNackedWithItsReasonAndTheLastGoodConfigServesOn() throws Exception {
        Path jar = Files.createTempFile(dir, "jar", ".txt");
        Answer first = curl("cookie.example", "/x", "-c", jar.toString());
        int before = pilot.nacks().size();
        publish(null, cookie("", "/"));   // what istiod sends for istio.io/persistent-session=":/"
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> pilot.nacks().size() > before);
            String detail = pilot.nacks().get(pilot.nacks().size() - 1).getErrorDetail().getMessage();
            assertTrue(detail.contains("route config http.80 virtual host cookie")
                    && detail.contains("envoy.http.stateful_session.cookie") && detail.contains("cookie.name must not be empty"),
                    detail);
            for (int i = 0; i < 5; i++) {
                assertEquals(first.backend(), curl("cookie.example", "/x", "-b", jar.toString()).backend());
            }
        } finally {
            publish(null, cookie("sticky", "/"));
        }
    }
}
