package io.mesh.pilot.generator;

import com.google.protobuf.Message;
import io.envoyproxy.controlplane.cache.Resources;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Set;

/**
 * The one entry point the xDS server uses: (type, proxy, snapshot, requested names) -> resources. Pure; every
 * generator reads only its arguments. An empty {@code names} means "all" (wildcard) for LDS and CDS.
 */
public final class XdsGenerators {
    private XdsGenerators() {
    }

    public static List<? extends Message> generate(String typeUrl, ProxyInfo proxy, MeshSnapshot snapshot,
            Set<String> names) {
        return switch (typeUrl) {
            case Resources.V3.LISTENER_TYPE_URL -> switch (proxy.type()) {
                case GRPC -> GrpcListenerGenerator.generate(proxy, snapshot, names);
                case SIDECAR -> filter(SidecarListenerGenerator.generate(proxy, snapshot), names);
                case ROUTER -> filter(RouterListenerGenerator.generate(proxy, snapshot), names);
            };
            case Resources.V3.ROUTE_TYPE_URL -> RouteGenerator.generate(proxy, snapshot, names);
            case Resources.V3.CLUSTER_TYPE_URL -> ClusterGenerator.generate(proxy, snapshot, names);
            case Resources.V3.ENDPOINT_TYPE_URL -> EndpointGenerator.generate(proxy, snapshot, names);
            case Resources.V3.SECRET_TYPE_URL -> SecretGenerator.generate(proxy, snapshot, names);
            default -> List.of();
        };
    }

    private static <T extends Message> List<T> filter(List<T> all, Set<String> names) {
        if (names.isEmpty()) {
            return all;
        }
        return all.stream().filter(m -> names.contains(Resources.getResourceName(m))).toList();
    }
}
