package io.mesh.pilot.generator;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.ArrayList;
import java.util.List;

/**
 * Istio's metadata exchange filter ({@code istio.metadata_exchange}), as istiod puts it first in an HTTP
 * HttpConnectionManager (before the authn and RBAC filters, so a denied request still learns and answers): on a
 * sidecar's inbound chains it discovers the client's workload from Istio's headers and answers with its own; on
 * outbound and gateway chains it sends its own workload upstream and discovers the server's from the response.
 * The config is a TypedStruct of {@code io.istio.http.peer_metadata.Config} with istiod's method lists (Istio's
 * headers, then workload discovery, which a proxy without ambient's WDS skips).
 *
 * <p>Over TCP the exchange is istio/proxy's network filter of the same name, as istiod configures it (its
 * {@code TCPListenerMx} and {@code TCPClusterMx}): a TypedStruct of {@code envoy.tcp.metadataexchange.config.MetadataExchange}
 * with protocol {@code istio-peer-exchange} and discovery on; a sidecar's inbound TCP chains carry it as their first
 * network filter, and every outbound cluster as an upstream filter. It runs on mTLS connections whose handshake picked
 * the ALPN protocol {@code istio-peer-exchange}, which ISTIO_MUTUAL clusters offer first ({@link #MESH_ALPN}) and the
 * inbound TCP chains' TLS prefers ({@link #INBOUND_TCP_ALPN}).
 */
final class MetadataExchange {

    static final String FILTER = "istio.metadata_exchange";
    static final String CONFIG_TYPE = "type.googleapis.com/io.istio.http.peer_metadata.Config";

    /** A sidecar's inbound HCM: learn the downstream peer, answer with this proxy's metadata. */
    static final HttpFilter INBOUND = filter("downstream_discovery", "downstream_propagation");
    /** A sidecar's outbound or a gateway's HCM: send this proxy's metadata upstream, learn the upstream peer. */
    static final HttpFilter OUTBOUND = filter("upstream_discovery", "upstream_propagation");

    static final String TCP_CONFIG_TYPE = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange";
    static final String PEER_EXCHANGE_ALPN = "istio-peer-exchange";
    /** What an ISTIO_MUTUAL cluster's TLS offers (istiod's {@code ALPNInMeshWithMxc}). */
    static final List<String> MESH_ALPN = List.of(PEER_EXCHANGE_ALPN, "istio");
    /** What a sidecar's inbound TCP chain's TLS offers (istiod's {@code ALPNDownstreamWithMxc}). */
    static final List<String> INBOUND_TCP_ALPN = List.of(PEER_EXCHANGE_ALPN, "h2", "http/1.1");

    private static final Any TCP_CONFIG = Any.pack(TypedStruct.newBuilder().setTypeUrl(TCP_CONFIG_TYPE)
            .setValue(Struct.newBuilder()
                    .putFields("protocol", Value.newBuilder().setStringValue(PEER_EXCHANGE_ALPN).build())
                    .putFields("enable_discovery", Value.newBuilder().setBoolValue(true).build()))
            .build());
    /** The network filter of a sidecar's inbound TCP chains, first. */
    static final io.envoyproxy.envoy.config.listener.v3.Filter TCP_LISTENER = io.envoyproxy.envoy.config.listener.v3.Filter
            .newBuilder().setName(FILTER).setTypedConfig(TCP_CONFIG).build();
    /** The upstream filter of outbound clusters. */
    static final io.envoyproxy.envoy.config.cluster.v3.Filter TCP_CLUSTER = io.envoyproxy.envoy.config.cluster.v3.Filter
            .newBuilder().setName(FILTER).setTypedConfig(TCP_CONFIG).build();

    private MetadataExchange() {
    }

    private static HttpFilter filter(String discovery, String propagation) {
        Value headers = method("istio_headers");
        Struct config = Struct.newBuilder()
                .putFields(discovery, list(headers, method("workload_discovery")))
                .putFields(propagation, list(headers))
                .build();
        return HttpFilter.newBuilder().setName(FILTER).setTypedConfig(Any.pack(TypedStruct.newBuilder()
                .setTypeUrl(CONFIG_TYPE).setValue(config).build())).build();
    }

    private static Value method(String name) {
        return Value.newBuilder().setStructValue(Struct.newBuilder()
                .putFields(name, Value.newBuilder().setStructValue(Struct.getDefaultInstance()).build())).build();
    }

    private static Value list(Value... values) {
        return Value.newBuilder().setListValue(ListValue.newBuilder().addAllValues(List.of(values))).build();
    }

    /** {@code filter} first, then {@code rest}. */
    static List<HttpFilter> first(HttpFilter filter, List<HttpFilter> rest) {
        List<HttpFilter> out = new ArrayList<>(rest.size() + 1);
        out.add(filter);
        out.addAll(rest);
        return out;
    }
}
