package io.mesh.gateway.proxy;

import io.mesh.gateway.model.GatewaySnapshot;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.upstream.Upstream;
import java.util.Map;

/** The applied snapshot plus the live upstreams built from it; swapped as one value by {@link DataPlane}. */
public record ActiveConfig(GatewaySnapshot snapshot, Map<String, Upstream> upstreams) {

    public RouteTable routes(String name) {
        return snapshot.routes().get(name);
    }
}
