package io.mesh.gateway.model;

import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.upstream.ClusterSpec;
import io.mesh.gateway.upstream.Endpoint;
import java.util.List;
import java.util.Map;

/**
 * Everything the data plane needs, as accepted from xDS (or a static bootstrap): immutable, and swapped as
 * one value. {@code complete} is true when every referenced route config, EDS assignment and secret is present.
 */
public record GatewaySnapshot(Map<String, ListenerSpec> listeners, Map<String, RouteTable> routes,
        Map<String, ClusterSpec> clusters, Map<String, List<Endpoint>> endpoints,
        Map<String, TlsCertificate> secrets, boolean complete) {

    public static final GatewaySnapshot EMPTY = new GatewaySnapshot(Map.of(), Map.of(), Map.of(), Map.of(), Map.of(), false);
}
