package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Gateway servers with a {@code bind}, in the form pilot sends them (istiod's): listeners {@code BIND_PORT} on the
 * bind's address, each with its own route table ({@code http.PORT.BIND}). The gateway runs as the local runner runs it,
 * with {@code listeners.host=127.0.0.1}, which moves only the wildcard listeners: two listeners on one port, bound to
 * 127.0.0.1 and 127.0.0.2 (Linux's loopback answers all of 127/8), route to their own backends, another address on
 * that port is refused, and a listener whose address changes moves to the new one.
 */
class RouterBindTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    static ControlPlane pilot;
    static TestGateway gw;
    /** The port of the two bound HTTP listeners; the wildcard HTTP listener's; the bound TCP listener's. */
    static int shared;
    static int wildcard;
    static int tcp;
    static List<io.envoyproxy.envoy.config.cluster.v3.Cluster> clusters;
    static List<io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment> endpoints;
    static List<RouteConfiguration> routes;

    @BeforeAll
    static void start() throws Exception {
        Backend a = MESH.backend("a");
        Backend b = MESH.backend("b");
        Backend any = MESH.backend("any");
        shared = FreePorts.next();
        wildcard = FreePorts.next();
        tcp = FreePorts.next();
        pilot = MESH.pilot();
        clusters = List.of(Xds.edsCluster("a"), Xds.edsCluster("b"), Xds.edsCluster("any"));
        endpoints = List.of(Xds.endpoints("a", a.port), Xds.endpoints("b", b.port), Xds.endpoints("any", any.port));
        routes = List.of(table("http." + shared + ".127.0.0.1", "a"), table("http." + shared + ".127.0.0.2", "b"),
                table("http." + wildcard, "any"));
        pilot.set(clusters, endpoints, listeners("127.0.0.4"), routes, List.of());
        gw = MESH.startGateway(Map.of("mesh.gateway.listeners.host", "127.0.0.1"));
    }

    /** What pilot sends for the Gateway; the TCP server's bind is {@code tcpBind}. */
    static List<Listener> listeners(String tcpBind) {
        TcpProxy toB = TcpProxy.newBuilder().setStatPrefix("b").setCluster("b").build();
        return List.of(
                http("127.0.0.1_" + shared, "127.0.0.1", shared, "http." + shared + ".127.0.0.1"),
                http("127.0.0.2_" + shared, "127.0.0.2", shared, "http." + shared + ".127.0.0.2"),
                http("0.0.0.0_" + wildcard, "0.0.0.0", wildcard, "http." + wildcard),
                // one name across the change, as a bootstrap or another control plane may keep it
                Listener.newBuilder().setName("tcp_" + tcp).setAddress(Xds.address(tcpBind, tcp))
                        .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                                .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(toB)))).build());
    }

    static Listener http(String name, String address, int port, String route) {
        return Xds.httpListener(name, port, route).toBuilder().setAddress(Xds.address(address, port)).build();
    }

    static RouteConfiguration table(String name, String cluster) {
        return Xds.routes(name, Xds.vhost(name, List.of("*"), Xds.prefixTo("/", cluster)));
    }

    static String get(String host, int port) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + "/"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    @Test
    void twoListenersOnOnePortRouteEachAddressToItsOwnBackend() throws Exception {
        List<String> one = new ArrayList<>();
        List<String> two = new ArrayList<>();
        for (int i = 0; i < 10; i++) {   // one socket per address: never the other listener's backend
            one.add(get("127.0.0.1", shared));
            two.add(get("127.0.0.2", shared));
        }
        assertEquals(List.of("a", "a", "a", "a", "a", "a", "a", "a", "a", "a"), one);
        assertEquals(List.of("b", "b", "b", "b", "b", "b", "b", "b", "b", "b"), two);
    }

    @Test
    void anotherAddressOnThatPortIsRefused() {
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.3", shared).close());
    }

    @Test
    void aWildcardListenerStillBindsTheConfiguredHost() throws Exception {
        assertEquals("any", get("127.0.0.1", wildcard));
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.2", wildcard).close());
    }

    @Test
    void aTcpListenerWhoseAddressChangesIsRebound() throws Exception {
        assertEquals("b", tcpGet("127.0.0.4"));
        pilot.set(clusters, endpoints, listeners("127.0.0.5"), routes, List.of());
        Awaitility.await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> tcpGet("127.0.0.5").equals("b"));
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.4", tcp).close());
        pilot.set(clusters, endpoints, listeners("127.0.0.4"), routes, List.of());
        Awaitility.await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> tcpGet("127.0.0.4").equals("b"));
    }

    /** An HTTP/1.1 request over the TCP listener at {@code host}: the backend's name. */
    static String tcpGet(String host) throws IOException {
        try (Socket s = new Socket(host, tcp)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").getBytes());
            String response = new String(s.getInputStream().readAllBytes());
            return response.substring(response.indexOf("\r\n\r\n") + 4);
        }
    }
}
