package io.mesh.gateway.it;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import java.util.List;

/** Builders of the xDS resources the tests serve; shaped like what pilot generates for a Gateway. */
final class Xds {

    static final ConfigSource ADS = ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance()).build();

    private Xds() {
    }

    /**
     * pilot's file access log with meshConfig accessLogEncoding JSON: Envoy's file access log to {@code path} in Istio's
     * JSON labels (EnvoyJSONLogFormatIstio) as {@code log_format.json_format}, which the lines the tests parse are.
     */
    static io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog istioJsonLog(String path) {
        com.google.protobuf.Struct.Builder labels = com.google.protobuf.Struct.newBuilder();
        io.mesh.gateway.model.AccessLogFormat.ISTIO_JSON.forEach((k, v) -> labels.putFields(k,
                com.google.protobuf.Value.newBuilder().setStringValue(v).build()));
        return io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog.newBuilder().setPath(path)
                .setLogFormat(io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString.newBuilder()
                        .setJsonFormat(labels)).build();
    }

    static HttpConnectionManager hcm(String routeName) {
        return HttpConnectionManager.newBuilder().setStatPrefix("ingress")
                .setRds(Rds.newBuilder().setConfigSource(ADS).setRouteConfigName(routeName))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.fault")
                        .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.getDefaultInstance())))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
                        .setTypedConfig(Any.pack(Router.getDefaultInstance())))
                .build();
    }

    static Listener httpListener(String name, int port, String routeName) {
        return Listener.newBuilder().setName(name).setAddress(address("127.0.0.1", port))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm(routeName)))))
                .build();
    }

    /** One TLS filter chain per (server name, secret, route). */
    static Listener httpsListener(String name, int port, List<String[]> sniSecretRoute) {
        Listener.Builder l = Listener.newBuilder().setName(name).setAddress(address("127.0.0.1", port));
        for (String[] c : sniSecretRoute) {
            DownstreamTlsContext tls = DownstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
                    .addAlpnProtocols("h2").addAlpnProtocols("http/1.1")
                    .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName(c[1]).setSdsConfig(ADS))).build();
            l.addFilterChains(FilterChain.newBuilder()
                    .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(c[0]))
                    .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)))
                    .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                            .setTypedConfig(Any.pack(hcm(c[2])))));
        }
        return l.build();
    }

    static Address address(String host, int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port)).build();
    }

    static Cluster edsCluster(String name) {
        return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS)
                .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ADS))
                .setConnectTimeout(Durations.fromSeconds(1)).build();
    }

    static Cluster h2(Cluster c) {
        return c.toBuilder().putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                Any.pack(HttpProtocolOptions.newBuilder().setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                        .setHttp2ProtocolOptions(io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions.getDefaultInstance())).build()))
                .build();
    }

    static ClusterLoadAssignment endpoints(String cluster, int... ports) {
        LocalityLbEndpoints.Builder loc = LocalityLbEndpoints.newBuilder().setLoadBalancingWeight(UInt32Value.of(1));
        for (int p : ports) {
            loc.addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                    .setAddress(address("127.0.0.1", p))));
        }
        return ClusterLoadAssignment.newBuilder().setClusterName(cluster).addEndpoints(loc).build();
    }

    static RouteConfiguration routes(String name, VirtualHost... hosts) {
        return RouteConfiguration.newBuilder().setName(name).addAllVirtualHosts(List.of(hosts)).build();
    }

    static VirtualHost vhost(String name, List<String> domains, Route... routes) {
        return VirtualHost.newBuilder().setName(name).addAllDomains(domains).addAllRoutes(List.of(routes)).build();
    }

    static Route prefixTo(String prefix, String cluster) {
        return Route.newBuilder().setName(prefix).setMatch(RouteMatch.newBuilder().setPrefix(prefix))
                .setRoute(RouteAction.newBuilder().setCluster(cluster)).build();
    }

    static Route weighted(String prefix, String a, int wa, String b, int wb) {
        return Route.newBuilder().setName("split").setMatch(RouteMatch.newBuilder().setPrefix(prefix))
                .setRoute(RouteAction.newBuilder().setWeightedClusters(WeightedCluster.newBuilder()
                        .addClusters(WeightedCluster.ClusterWeight.newBuilder().setName(a).setWeight(UInt32Value.of(wa)))
                        .addClusters(WeightedCluster.ClusterWeight.newBuilder().setName(b).setWeight(UInt32Value.of(wb)))))
                .build();
    }

    static Secret secret(String name, String certPem, String keyPem) {
        return Secret.newBuilder().setName(name).setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(certPem))
                .setPrivateKey(DataSource.newBuilder().setInlineString(keyPem))).build();
    }
}
