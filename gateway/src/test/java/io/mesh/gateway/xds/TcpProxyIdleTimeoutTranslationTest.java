package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * tcp_proxy's {@code idle_timeout} as Envoy reads it: absent, 1h; 0s, none; else to the millisecond. Its
 * {@code max_downstream_connection_duration}: absent, none; else to the millisecond, at least 1ms (Envoy's proto rule).
 */
class TcpProxyIdleTimeoutTranslationTest {

    static Duration idle(TcpProxy.Builder tcp) throws ConfigRejected {
        return chain(tcp).tcpIdleTimeout();
    }

    static Duration maxDuration(TcpProxy.Builder tcp) throws ConfigRejected {
        return chain(tcp).tcpMaxConnectionDuration();
    }

    static io.mesh.gateway.model.FilterChainSpec chain(TcpProxy.Builder tcp) throws ConfigRejected {
        Listener l = Listener.newBuilder().setName("tcp")
                .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0")
                        .setPortValue(9000)))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy")
                        .setTypedConfig(Any.pack(tcp.setStatPrefix("db").setCluster("db").build())))).build();
        return ListenerTranslator.translate(l).chains().get(0);
    }

    static com.google.protobuf.Duration proto(long seconds, int nanos) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(seconds).setNanos(nanos).build();
    }

    @Test
    void anIdleTimeoutNotSetIsEnvoysHourZeroIsNoneAndAnyOtherIsKeptToTheMillisecond() throws ConfigRejected {
        assertEquals(Duration.ofHours(1), idle(TcpProxy.newBuilder()));
        assertEquals(Duration.ZERO, idle(TcpProxy.newBuilder().setIdleTimeout(proto(0, 0))));
        assertEquals(Duration.ofMillis(1500), idle(TcpProxy.newBuilder().setIdleTimeout(proto(1, 500_000_000))));
        assertEquals(Duration.ZERO, idle(TcpProxy.newBuilder().setIdleTimeout(proto(0, 999_999))),
                "below 1ms Envoy's milliseconds are 0: none");
        ConfigRejected negative = assertThrows(ConfigRejected.class,
                () -> idle(TcpProxy.newBuilder().setIdleTimeout(proto(-1, 0))));
        assertTrue(negative.getMessage().contains("idle_timeout must not be negative"), negative.getMessage());
    }

    @Test
    void aMaxConnectionDurationNotSetIsNoneAndOneOfAtLeastAMillisecondIsKept() throws ConfigRejected {
        assertEquals(null, maxDuration(TcpProxy.newBuilder()));
        assertEquals(Duration.ofMillis(1500),
                maxDuration(TcpProxy.newBuilder().setMaxDownstreamConnectionDuration(proto(1, 500_000_000))));
        assertEquals(Duration.ofMillis(1),
                maxDuration(TcpProxy.newBuilder().setMaxDownstreamConnectionDuration(proto(0, 1_000_000))));
        for (var tooShort : new com.google.protobuf.Duration[] {proto(0, 0), proto(0, 999_999), proto(-1, 0)}) {
            ConfigRejected e = assertThrows(ConfigRejected.class,
                    () -> maxDuration(TcpProxy.newBuilder().setMaxDownstreamConnectionDuration(tooShort)));
            assertTrue(e.getMessage().contains("max_downstream_connection_duration must be at least 1ms"), e.getMessage());
        }
    }
}
