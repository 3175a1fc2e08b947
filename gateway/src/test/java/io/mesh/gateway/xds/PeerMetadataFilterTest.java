package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.gateway.model.PeerMetadataConfig;
import org.junit.jupiter.api.Test;

/**
 * The {@code istio.metadata_exchange} filter as istiod writes it (a TypedStruct of
 * {@code io.istio.http.peer_metadata.Config}) becomes the chain's {@link PeerMetadataConfig}; what the gateway cannot
 * serve is refused with the reason, and the listener with it (the last good config stays).
 */
class PeerMetadataFilterTest {

    static Value method(String name, Struct config) {
        return Value.newBuilder().setStructValue(Struct.newBuilder().putFields(name,
                Value.newBuilder().setStructValue(config).build())).build();
    }

    static Value list(Value... methods) {
        return Value.newBuilder().setListValue(ListValue.newBuilder().addAllValues(java.util.List.of(methods))).build();
    }

    static final Value HEADERS = method("istio_headers", Struct.getDefaultInstance());
    static final Value WDS = method("workload_discovery", Struct.getDefaultInstance());

    static Any xds(String typeUrl, Struct config) {
        return Any.pack(com.github.xds.type.v3.TypedStruct.newBuilder().setTypeUrl(typeUrl).setValue(config).build());
    }

    static Any config(Struct config) {
        return xds(PeerMetadataTranslator.CONFIG_TYPE, config);
    }

    static PeerMetadataConfig chain(Any filterConfig) throws ConfigRejected {
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("outbound_0.0.0.0_80")
                .setRds(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds.newBuilder()
                        .setRouteConfigName("80"))
                .addHttpFilters(HttpFilter.newBuilder().setName("istio.metadata_exchange").setTypedConfig(filterConfig))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
                        .setTypedConfig(Any.pack(Router.getDefaultInstance())))
                .build();
        Listener l = Listener.newBuilder().setName("0.0.0.0_80")
                .setAddress(io.envoyproxy.envoy.config.core.v3.Address.newBuilder().setSocketAddress(
                        io.envoyproxy.envoy.config.core.v3.SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(8080)))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm))))
                .build();
        return ListenerTranslator.translate(l).chains().get(0).peerMetadata();
    }

    @Test
    void istiodsOutboundAndInboundFiltersBecomeTheirDirections() throws Exception {
        assertEquals(new PeerMetadataConfig(false, false, true, true, false), chain(config(Struct.newBuilder()
                .putFields("upstream_discovery", list(HEADERS, WDS)).putFields("upstream_propagation", list(HEADERS))
                .build())));
        assertEquals(new PeerMetadataConfig(true, true, false, false, false), chain(config(Struct.newBuilder()
                .putFields("downstream_discovery", list(HEADERS, WDS)).putFields("downstream_propagation", list(HEADERS))
                .build())));
        // istiod's SidecarOutboundMetadataFilterSkipHeaders.
        assertEquals(new PeerMetadataConfig(false, false, true, true, true), chain(config(Struct.newBuilder()
                .putFields("upstream_discovery", list(HEADERS, WDS))
                .putFields("upstream_propagation", list(method("istio_headers", Struct.newBuilder()
                        .putFields("skip_external_clusters", Value.newBuilder().setBoolValue(true).build()).build())))
                .build())));
    }

    @Test
    void workloadDiscoveryAloneDiscoversNothingAndTheOlderUdpaFormIsRead() throws Exception {
        assertEquals(new PeerMetadataConfig(false, false, false, false, false), chain(config(Struct.newBuilder()
                .putFields("upstream_discovery", list(WDS)).putFields("shared_with_upstream",
                        Value.newBuilder().setBoolValue(true).build()).build())));
        assertEquals(new PeerMetadataConfig(true, false, false, false, false), chain(Any.pack(
                com.github.udpa.udpa.type.v1.TypedStruct.newBuilder().setTypeUrl(PeerMetadataTranslator.CONFIG_TYPE)
                        .setValue(Struct.newBuilder().putFields("downstream_discovery", list(HEADERS))).build())));
    }

    @Test
    void aChainWithoutTheFilterHasNone() throws Exception {
        assertNull(chain(Any.getDefaultInstance()));
    }

    @Test
    void whatCannotBeServedIsRefusedWithTheReason() {
        assertRefused("needs type.googleapis.com/io.istio.http.peer_metadata.Config, got type.googleapis.com/io.istio.x",
                xds("type.googleapis.com/io.istio.x", Struct.getDefaultInstance()));
        assertRefused("needs a TypedStruct", Any.pack(Router.getDefaultInstance()));
        assertRefused("unknown field downstream_discoveryy", config(Struct.newBuilder()
                .putFields("downstream_discoveryy", list(HEADERS)).build()));
        assertRefused("unsupported method baggage", config(Struct.newBuilder()
                .putFields("upstream_propagation", list(method("baggage", Struct.getDefaultInstance()))).build()));
        assertRefused("unsupported method workload_discovery", config(Struct.newBuilder()
                .putFields("upstream_propagation", list(WDS)).build()));
        assertRefused("a list of methods expected", config(Struct.newBuilder()
                .putFields("upstream_discovery", HEADERS).build()));
    }

    static void assertRefused(String reason, Any filterConfig) {
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> chain(filterConfig));
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertTrue(e.getMessage().contains("istio.metadata_exchange"), e.getMessage());
    }
}
