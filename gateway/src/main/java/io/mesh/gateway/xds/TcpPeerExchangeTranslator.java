package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Map;

/**
 * Istio's metadata exchange over TCP, as istiod configures it: a network filter (a sidecar's inbound TCP chains) and an
 * upstream cluster filter (outbound clusters), both named {@code istio.metadata_exchange}, whose config is a
 * TypedStruct of {@code envoy.tcp.metadataexchange.config.MetadataExchange} (istio/proxy's
 * {@code metadata_exchange.proto}: {@code protocol}, the ALPN protocol that turns the exchange on, {@code enable_discovery}
 * and {@code additional_labels}). The protocol must be {@code istio-peer-exchange}, the one both sides' TLS offers here;
 * discovery (ambient's workload discovery, which this mesh does not have) finds nothing and is skipped, as Envoy skips
 * a method that finds no peer; additional labels have no reader here. Anything else is refused with the field named.
 */
final class TcpPeerExchangeTranslator {

    static final String FILTER = "istio.metadata_exchange";
    static final String CONFIG_TYPE = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange";
    static final String PROTOCOL = "istio-peer-exchange";

    private TcpPeerExchangeTranslator() {
    }

    /** Checks that {@code config} (of a filter named {@link #FILTER}) is a TCP metadata exchange this proxy serves. */
    static void check(Any config, String where) throws ConfigRejected {
        Struct fields = TypedStructs.fields(config, FILTER, CONFIG_TYPE, where);
        String protocol = null;
        for (Map.Entry<String, Value> f : fields.getFieldsMap().entrySet()) {
            switch (f.getKey()) {
                case "protocol" -> protocol = f.getValue().getStringValue();
                case "enable_discovery", "additional_labels" -> {
                    // Workload discovery (ambient's WDS) finds nothing here; extra peer labels have no reader.
                }
                default -> throw new ConfigRejected(where + ": " + FILTER + ": unknown field " + f.getKey());
            }
        }
        if (!PROTOCOL.equals(protocol)) {
            throw new ConfigRejected(where + ": " + FILTER + ": protocol must be " + PROTOCOL + ", got "
                    + (protocol == null || protocol.isEmpty() ? "none" : protocol));
        }
    }
}
