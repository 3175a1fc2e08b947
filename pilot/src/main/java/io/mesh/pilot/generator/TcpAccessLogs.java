package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.mesh.config.Telemetry;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.List;

/**
 * The access log of every tcp_proxy filter, as istiod's {@code setTCPAccessLog} puts it on the TCP chains it builds (a
 * sidecar's outbound and inbound TCP chains, its PassthroughCluster and BlackHoleCluster chains, a gateway's tcp and
 * tls routes): the entries the HCMs of the same side carry ({@link TelemetryPolicy.Effective#accessLogs}: the file
 * access logs in their formats, with Telemetry's CEL filter). A listener whose traffic direction is INBOUND is the SERVER side, any other the
 * CLIENT side. Pure: no state.
 */
final class TcpAccessLogs {

    private TcpAccessLogs() {
    }

    /** {@code listeners} with the access log on each tcp_proxy; unchanged when neither side has one. */
    static List<Listener> apply(List<Listener> listeners, ProxyInfo proxy, MeshSnapshot snapshot) {
        List<AccessLog> client = TelemetryPolicy.resolve(proxy, snapshot, Telemetry.Mode.CLIENT).accessLogs();
        List<AccessLog> server = TelemetryPolicy.resolve(proxy, snapshot, Telemetry.Mode.SERVER).accessLogs();
        if (client.isEmpty() && server.isEmpty()) {
            return listeners;
        }
        List<Listener> out = new ArrayList<>(listeners.size());
        for (Listener l : listeners) {
            List<AccessLog> log = l.getTrafficDirection() == TrafficDirection.INBOUND ? server : client;
            if (log.isEmpty()) {
                out.add(l);
                continue;
            }
            Listener.Builder b = l.toBuilder().clearFilterChains();
            for (FilterChain fc : l.getFilterChainsList()) {
                b.addFilterChains(chain(fc, log));
            }
            if (l.hasDefaultFilterChain()) {
                b.setDefaultFilterChain(chain(l.getDefaultFilterChain(), log));
            }
            out.add(b.build());
        }
        return out;
    }

    private static FilterChain chain(FilterChain fc, List<AccessLog> log) {
        FilterChain.Builder b = fc.toBuilder().clearFilters();
        for (Filter f : fc.getFiltersList()) {
            if (f.getName().equals(SidecarListenerGenerator.TCP_PROXY)) {
                TcpProxy tcp;
                try {
                    tcp = f.getTypedConfig().unpack(TcpProxy.class);
                } catch (InvalidProtocolBufferException e) {
                    throw new IllegalStateException("pilot's own tcp_proxy does not decode", e);
                }
                b.addFilters(f.toBuilder().setTypedConfig(Any.pack(tcp.toBuilder().clearAccessLog().addAllAccessLog(log)
                        .build())));
            } else {
                b.addFilters(f);
            }
        }
        return b.build();
    }
}
