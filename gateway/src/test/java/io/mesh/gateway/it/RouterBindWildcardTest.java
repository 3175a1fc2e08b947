package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.testing.FreePorts;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A Gateway server with a {@code bind} next to one without, on the same port, as istiod sends them: {@code 0.0.0.0_PORT}
 * and {@code 127.0.0.2_PORT}. Both bind (the second socket on a port a wildcard holds needs SO_REUSEPORT on both, as
 * Envoy sets it), a connection to 127.0.0.2 goes to its own listener and every other address to the wildcard one, for
 * an HTTP listener and for a TCP one next to an HTTP wildcard. No {@code listeners.host}: the wildcard is 0.0.0.0.
 */
class RouterBindWildcardTest {
    @RegisterExtension
    static final RouterFixture MESH = new RouterFixture();
    /** HTTP on 0.0.0.0 and 127.0.0.2; HTTP on 0.0.0.0 and TCP on 127.0.0.2. */
    static int http;
    static int mixed;

    @BeforeAll
    static void start() throws Exception {
        Backend b = MESH.backend("b");
        Backend any = MESH.backend("any");
        http = FreePorts.next();
        mixed = FreePorts.next();
        TcpProxy toB = TcpProxy.newBuilder().setStatPrefix("b").setCluster("b").build();
        ControlPlane pilot = MESH.pilot();
        pilot.set(List.of(Xds.edsCluster("b"), Xds.edsCluster("any")),
                List.of(Xds.endpoints("b", b.port), Xds.endpoints("any", any.port)),
                List.of(RouterBindTest.http("0.0.0.0_" + http, "0.0.0.0", http, "http." + http),
                        RouterBindTest.http("127.0.0.2_" + http, "127.0.0.2", http, "http." + http + ".127.0.0.2"),
                        RouterBindTest.http("0.0.0.0_" + mixed, "0.0.0.0", mixed, "http." + mixed),
                        Listener.newBuilder().setName("127.0.0.2_" + mixed).setAddress(Xds.address("127.0.0.2", mixed))
                                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                                        .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(toB)))).build()),
                List.of(RouterBindTest.table("http." + http, "any"), RouterBindTest.table("http." + http + ".127.0.0.2", "b"),
                        RouterBindTest.table("http." + mixed, "any")),
                List.of());
        MESH.startGateway(Map.of());
    }

    @Test
    void theBoundAddressGoesToItsListenerAndEveryOtherToTheWildcard() throws Exception {
        for (int i = 0; i < 5; i++) {
            assertEquals("b", RouterBindTest.get("127.0.0.2", http));
            assertEquals("any", RouterBindTest.get("127.0.0.1", http));
            assertEquals("any", RouterBindTest.get("127.0.0.3", http));
        }
    }

    @Test
    void aTcpListenerOnABoundAddressSharesThePortWithAnHttpWildcard() throws Exception {
        for (int i = 0; i < 5; i++) {
            assertEquals("b", tcpGet("127.0.0.2", mixed));
            assertEquals("any", RouterBindTest.get("127.0.0.3", mixed));
        }
    }

    static String tcpGet(String host, int port) throws Exception {
        try (java.net.Socket s = new java.net.Socket(host, port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").getBytes());
            String response = new String(s.getInputStream().readAllBytes());
            return response.substring(response.indexOf("\r\n\r\n") + 4);
        }
    }
}
