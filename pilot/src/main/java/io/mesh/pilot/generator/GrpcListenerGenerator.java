package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.NonForwardingAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * LDS for proxyless gRPC: an API listener named exactly as the client's target ("host:port") holding an HCM that
 * fetches its routes over ADS; and, for xDS servers, an inbound listener named by grpc-java's template
 * "grpc/server?xds.resource.listening_address=ip:port" whose routes are non-forwarding.
 * Names that match no service are left out, so the client learns they do not exist.
 */
public final class GrpcListenerGenerator {
    public static final String SERVER_PREFIX = "grpc/server?xds.resource.listening_address=";

    private GrpcListenerGenerator() {
    }

    public static List<Listener> generate(ProxyInfo proxy, MeshSnapshot snapshot, Set<String> names) {
        List<Listener> out = new ArrayList<>();
        for (String name : names) {
            if (name.startsWith(SERVER_PREFIX)) {
                Listener l = inbound(name);
                if (l != null) {
                    out.add(l);
                }
                continue;
            }
            GrpcTarget t = GrpcTarget.parse(name, proxy.namespace(), snapshot);
            if (t == null) {
                continue;
            }
            out.add(Listener.newBuilder().setName(name)
                    .setApiListener(ApiListener.newBuilder()
                            .setApiListener(Any.pack(Hcm.rds(name, name, List.of(), false))))
                    .build());
        }
        return out;
    }

    private static Listener inbound(String name) {
        String hostPort = name.substring(SERVER_PREFIX.length());
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            return null;
        }
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        String ip = hostPort.substring(0, colon).replace("[", "").replace("]", "");
        RouteConfiguration routes = RouteConfiguration.newBuilder().setName("inbound|" + port)
                .addVirtualHosts(VirtualHost.newBuilder().setName("inbound|" + port).addDomains("*")
                        .addRoutes(Route.newBuilder().setName("default")
                                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                                .setNonForwardingAction(NonForwardingAction.getDefaultInstance())))
                .build();
        FilterChain chain = FilterChain.newBuilder().setName("inbound|" + port)
                .addFilters(Filter.newBuilder().setName(Hcm.NAME)
                        .setTypedConfig(Any.pack(Hcm.inline("inbound_" + port, routes))))
                .build();
        return Listener.newBuilder().setName(name)
                .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip)
                        .setPortValue(port)))
                .addFilterChains(chain).setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.INBOUND)
                .build();
    }
}
