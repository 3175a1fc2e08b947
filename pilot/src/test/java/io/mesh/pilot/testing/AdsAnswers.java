package io.mesh.pilot.testing;

import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Reading a sidecar's xDS answers in tests: the next answer of a type (each ACKed), EDS assignments, inbound chains. */
public final class AdsAnswers {
    private AdsAnswers() {
    }

    /**
     * The next response of {@code type} within 10 s, skipping others on the stream. Every response is ACKed, an EDS
     * one with {@code edsNames} as the subscription.
     */
    public static DiscoveryResponse next(RawAdsClient c, String type, List<String> edsNames) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            DiscoveryResponse r = c.next(Duration.ofMillis(500));
            if (r != null) {
                c.ack(r, r.getTypeUrl().equals(Resources.V3.ENDPOINT_TYPE_URL) ? edsNames : List.of());
                if (r.getTypeUrl().equals(type)) {
                    return r;
                }
            }
        }
        throw new AssertionError("no " + type + " response");
    }

    /** One cluster's assignment in an EDS response: "IP:PORT" -> health. */
    public static Map<String, HealthStatus> endpoints(DiscoveryResponse eds, String cluster) throws Exception {
        for (var any : eds.getResourcesList()) {
            ClusterLoadAssignment cla = any.unpack(ClusterLoadAssignment.class);
            if (!cla.getClusterName().equals(cluster)) {
                continue;
            }
            Map<String, HealthStatus> out = new TreeMap<>();
            for (LocalityLbEndpoints l : cla.getEndpointsList()) {
                for (LbEndpoint e : l.getLbEndpointsList()) {
                    var a = e.getEndpoint().getAddress().getSocketAddress();
                    out.put(a.getAddress() + ":" + a.getPortValue(), e.getHealthStatus());
                }
            }
            return out;
        }
        throw new AssertionError("no assignment for " + cluster + " in " + eds);
    }

    /** The names of virtualInbound's filter chains in an LDS response. */
    public static List<String> inboundChains(DiscoveryResponse lds) throws Exception {
        for (var any : lds.getResourcesList()) {
            Listener l = any.unpack(Listener.class);
            if (l.getName().equals("virtualInbound")) {
                return l.getFilterChainsList().stream().map(c -> c.getName()).toList();
            }
        }
        throw new AssertionError("no virtualInbound in LDS");
    }
}
