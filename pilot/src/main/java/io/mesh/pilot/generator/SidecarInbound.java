package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.mesh.config.PolicyConfig;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A sidecar's inbound side: the service ports its workload (found by its IP among the endpoints) serves, one
 * filter chain and one "inbound|port||" cluster each; PeerAuthentication decides the TLS mode and
 * AuthorizationPolicy becomes RBAC filters (HTTP ones in an HTTP port's HCM, network ones on a TCP port's chains).
 */
final class SidecarInbound {
    private SidecarInbound() {
    }

    /** How a workload port is spoken: HTTP (else plain TCP), and among HTTP ports HTTP/2 (HTTP2, GRPC, GRPC-WEB). */
    record InboundPort(boolean http, boolean http2) {
        InboundPort or(InboundPort o) {
            return new InboundPort(http || o.http, http2 || o.http2);
        }
    }

    /**
     * The workload ports this proxy serves (those of every service that has its IP as an endpoint), each with how it
     * is spoken: a port any service declares HTTP is HTTP (the others are plain TCP), one any declares HTTP2, GRPC or
     * GRPC-WEB is HTTP/2.
     */
    static Map<Integer, InboundPort> ports(ProxyInfo proxy, MeshSnapshot snapshot) {
        Map<Integer, InboundPort> out = new TreeMap<>();
        snapshot.endpoints().forEach((host, eps) -> {
            for (Endpoint e : eps) {
                if (e.address().equals(proxy.ip())) {
                    ServiceModel s = snapshot.services().get(host);
                    if (s != null) {
                        s.ports().forEach(p -> {
                            Integer target = e.ports().get(p.number());
                            if (target != null) {
                                out.merge(target, new InboundPort(p.http(), p.http2()), InboundPort::or);
                            }
                        });
                    }
                }
            }
        });
        return out;
    }

    /**
     * The services this workload serves on workload port {@code target} (those with its IP as an endpoint whose
     * service port maps there), by host name, each once: an inbound cluster's telemetry metadata.
     */
    static List<ServiceModel> services(ProxyInfo proxy, MeshSnapshot snapshot, int target) {
        Map<String, ServiceModel> out = new TreeMap<>();
        snapshot.endpoints().forEach((host, eps) -> {
            ServiceModel s = snapshot.services().get(host);
            if (s == null) {
                return;
            }
            for (Endpoint e : eps) {
                if (e.address().equals(proxy.ip())
                        && s.ports().stream().anyMatch(p -> Integer.valueOf(target).equals(e.ports().get(p.number())))) {
                    out.put(host, s);
                }
            }
        });
        return List.copyOf(out.values());
    }

    /** The app's ports; an HTTP/2 one is reached over h2c. */
    static List<Cluster> clusters(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<Cluster> out = new ArrayList<>();
        for (Map.Entry<Integer, InboundPort> p : ports(proxy, snapshot).entrySet()) {
            int port = p.getKey();
            Cluster.Builder c = Cluster.newBuilder().setName(ClusterNames.inbound(port)).setType(Cluster.DiscoveryType.STATIC)
                    .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10))
                    .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(ClusterNames.inbound(port))
                            .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                    .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                            .setAddress(address("127.0.0.1", port))))));
            ClusterPolicy.httpProtocol(c, p.getValue().http2(), null);
            ClusterPolicy.meshTcpKeepalive(c, snapshot.mesh().tcpKeepalive());   // istiod: inbound clusters too
            c.setMetadata(TelemetryMetadata.services(services(proxy, snapshot, port)));
            out.add(c.build());
        }
        return out;
    }

    /** The filter chain name suffixes, after {@code inbound|PORT||}: one chain per transport protocol. */
    static final String TLS_SUFFIX = "-tls";
    static final String PLAINTEXT_SUFFIX = "-raw_buffer";

    /**
     * Per inbound port, as istiod builds virtualInbound: STRICT gets one chain matching
     * {destination_port, transport_protocol "tls"} that terminates mesh mTLS (client certificate required);
     * DISABLE one matching {destination_port, transport_protocol "raw_buffer"}; PERMISSIVE both, so the
     * tls_inspector's detection picks the chain. An HTTP port's chains hold an HCM (with the HTTP RBAC filters);
     * a TCP port's the network RBAC filters (AuthorizationPolicy as it applies to TCP, see {@link Rbac#tcpPolicy})
     * then a tcp_proxy to its "inbound|PORT||" cluster.
     */
    static List<FilterChain> filterChains(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<FilterChain> out = new ArrayList<>();
        List<HttpFilter> httpRbac = httpAuthz(proxy, snapshot);
        List<Filter> networkRbac = networkRbac(rbacRules(proxy, snapshot, true));
        TelemetryPolicy.Effective telemetry = TelemetryPolicy.resolve(proxy, snapshot, io.mesh.config.Telemetry.Mode.SERVER);
        for (Map.Entry<Integer, InboundPort> e : ports(proxy, snapshot).entrySet()) {
            int port = e.getKey();
            String mode = mtlsMode(proxy, snapshot, port);
            List<Filter> filters = new ArrayList<>();
            if (e.getValue().http()) {
                filters.add(hcm(port, httpRbac, telemetry));
            } else {
                // istiod's inbound TCP filters: the metadata exchange first, then authorization, then tcp_proxy.
                filters.add(MetadataExchange.TCP_LISTENER);
                filters.addAll(networkRbac);
                filters.add(SidecarListenerGenerator.tcpProxy(ClusterNames.inbound(port),
                        TcpProxyTimeouts.ofProxy(proxy)));
            }
            if (!"DISABLE".equals(mode)) {
                out.add(FilterChain.newBuilder().setName(ClusterNames.inbound(port) + TLS_SUFFIX)
                        .setFilterChainMatch(FilterChainMatch.newBuilder()
                                .setDestinationPort(com.google.protobuf.UInt32Value.of(port))
                                .setTransportProtocol("tls"))
                        .setTransportSocket(meshMtls(e.getValue().http()))
                        .addAllFilters(filters).build());
            }
            if (!"STRICT".equals(mode)) {
                out.add(FilterChain.newBuilder().setName(ClusterNames.inbound(port) + PLAINTEXT_SUFFIX)
                        .setFilterChainMatch(FilterChainMatch.newBuilder()
                                .setDestinationPort(com.google.protobuf.UInt32Value.of(port))
                                .setTransportProtocol("raw_buffer"))
                        .addAllFilters(filters).build());
            }
        }
        return out;
    }

    /**
     * An inbound HTTP port's HCM: Istio's metadata exchange, the RBAC filters, then one route to the port's inbound cluster; its access log and
     * tracing from the Telemetry resources (SERVER side).
     */
    private static Filter hcm(int port, List<HttpFilter> rbac, TelemetryPolicy.Effective telemetry) {
        RouteConfiguration routes = RouteConfiguration.newBuilder().setName(ClusterNames.inbound(port))
                .addVirtualHosts(VirtualHost.newBuilder().setName("inbound|http|" + port).addDomains("*")
                        .addRoutes(Route.newBuilder().setName("default").setMatch(RouteMatch.newBuilder()
                                .setPrefix("/")).setRoute(RouteAction.newBuilder()
                                        .setCluster(ClusterNames.inbound(port)))))
                .build();
        var inline = Hcm.inline("inbound_" + port, routes);
        return Filter.newBuilder().setName(Hcm.NAME).setTypedConfig(Any.pack(telemetry.apply(inline.toBuilder()
                .clearHttpFilters().addHttpFilters(MetadataExchange.INBOUND).addAllHttpFilters(rbac)
                .addAllHttpFilters(inline.getHttpFiltersList())
                .build()))).build();
    }

    /**
     * Terminates mesh mTLS with the proxy's SDS secrets ("default", validated against "ROOTCA"); ALPN offers h2
     * and http/1.1 as istiod does, plus "istio", which mesh clients (ISTIO_MUTUAL) offer; a TCP port's chain
     * {@code istio-peer-exchange}, h2 and http/1.1, as istiod's, so that the metadata exchange runs.
     */
    private static io.envoyproxy.envoy.config.core.v3.TransportSocket meshMtls(boolean http) {
        List<String> alpn = http ? List.of("h2", "http/1.1", "istio") : MetadataExchange.INBOUND_TCP_ALPN;
        return io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder()
                .setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(DownstreamTlsContext.newBuilder()
                        .setRequireClientCertificate(com.google.protobuf.BoolValue.of(true))
                        .setCommonTlsContext(CommonTlsContext.newBuilder()
                                .addTlsCertificateSdsSecretConfigs(ClusterPolicy.sds("default"))
                                .setValidationContextSdsSecretConfig(ClusterPolicy.sds("ROOTCA"))
                                .addAllAlpnProtocols(alpn))
                        .build()))
                .build();
    }

    /** The mTLS mode of the proxy's workload on this port, composed as istiod composes it ({@link io.mesh.config.MutualTlsMode}). */
    static String mtlsMode(ProxyInfo proxy, MeshSnapshot snapshot, int port) {
        return mtlsMode(proxy.namespace(), proxy.labels(), snapshot, port);
    }

    /**
     * {@link #mtlsMode(ProxyInfo, MeshSnapshot, int)} of a workload named by its namespace and labels (an endpoint's,
     * for EDS: istiod's mtlsChecker asks the same question of the destination).
     */
    static String mtlsMode(String namespace, Map<String, String> labels, MeshSnapshot snapshot, int port) {
        return io.mesh.config.MutualTlsMode.compose(snapshot.peerAuthentications(), MeshSettings.ROOT_NAMESPACE, namespace,
                labels).modeFor(port);
    }

    /** The network RBAC filters' names, and their {@code stat_prefix} (istiod's). */
    static final String NETWORK_RBAC_DENY = "envoy.filters.network.rbac.deny";
    static final String NETWORK_RBAC_ALLOW = "envoy.filters.network.rbac";
    static final String NETWORK_RBAC_STAT_PREFIX = "tcp.";

    /**
     * The authn/authz HTTP filters of an HTTP port (or a gateway's HTTP server), in istiod's order: CUSTOM's
     * ({@link ExtAuthz}) first, then RequestAuthentication's ({@link JwtAuthn}), then the DENY and ALLOW RBAC filters,
     * which match what those verified.
     */
    static List<HttpFilter> httpAuthz(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<HttpFilter> out = new ArrayList<>(ExtAuthz.httpFilters(proxy, snapshot));
        out.addAll(JwtAuthn.filters(proxy, snapshot));
        out.addAll(httpRbac(rbacRules(proxy, snapshot, false)));
        return out;
    }

    /**
     * Whether the policy applies to the proxy: a policy of the proxy's namespace or the root namespace, with no selector
     * or one matching the proxy's labels (or targetRefs naming it).
     */
    static boolean applies(ProxyInfo proxy, MeshSnapshot snapshot, PolicyConfig.AuthorizationPolicy ap) {
        boolean scope = ap.namespace().equals(proxy.namespace()) || ap.namespace().equals(MeshSettings.ROOT_NAMESPACE);
        return scope && PolicyAttachment.attaches(proxy, ap.namespace(), ap.selector(), ap.targetRefs());
    }

    /** The DENY and ALLOW rules of the AuthorizationPolicies that apply to a proxy; null when none of that action. */
    record RbacRules(RBAC deny, RBAC allow) {
    }

    /**
     * Policies in the proxy's namespace and in the root namespace (istio-system, which applies mesh-wide), each when it
     * has no selector or its selector matches the proxy's labels, by action (as Istio: a root-namespace policy with a
     * selector applies to the matching workloads of every namespace, and to no others); AUDIT policies have no effect. For a TCP chain each rule goes through {@link Rbac#tcpPolicy}: an ALLOW rule
     * it drops still leaves its policy's ALLOW filter in place (which then allows nothing for it). CUSTOM policies
     * whose provider {@link ExtAuthz} serves are left to its filters (on TCP chains too, where istiod ignores CUSTOM
     * with an HTTP provider); the others' rules are DENY rules, as istiod denies what they match when it cannot use
     * the provider.
     */
    static RbacRules rbacRules(ProxyInfo proxy, MeshSnapshot snapshot, boolean tcp) {
        RBAC.Builder allow = RBAC.newBuilder().setAction(RBAC.Action.ALLOW);
        RBAC.Builder deny = RBAC.newBuilder().setAction(RBAC.Action.DENY);
        boolean anyAllow = false;
        boolean anyDeny = false;
        boolean customServed = ExtAuthz.resolve(proxy, snapshot).isPresent();
        for (PolicyConfig.AuthorizationPolicy ap : snapshot.authorizationPolicies()) {
            if (!applies(proxy, snapshot, ap) || ("CUSTOM".equals(ap.action()) && customServed)) {
                continue;
            }
            RBAC.Builder target;
            boolean isDeny = "DENY".equals(ap.action()) || "CUSTOM".equals(ap.action());
            if (isDeny) {
                target = deny;
                anyDeny = true;
            } else if ("ALLOW".equals(ap.action())) {
                target = allow;
                anyAllow = true;
            } else {
                continue;
            }
            if (ap.rules().isEmpty()) {
                target.putPolicies(Rbac.policyName(ap, 0), Rbac.matchNothing());
            }
            for (int i = 0; i < ap.rules().size(); i++) {
                String name = Rbac.policyName(ap, i);
                PolicyConfig.Rule rule = ap.rules().get(i);
                if (tcp) {
                    Rbac.tcpPolicy(rule, isDeny).ifPresent(p -> target.putPolicies(name, p));
                } else {
                    target.putPolicies(name, Rbac.policy(rule));
                }
            }
        }
        return new RbacRules(anyDeny ? deny.build() : null, anyAllow ? allow.build() : null);
    }

    /** An HTTP port's RBAC filters: the DENY one before the ALLOW one, so a DENY wins. */
    static List<HttpFilter> httpRbac(RbacRules rules) {
        List<HttpFilter> out = new ArrayList<>();
        if (rules.deny() != null) {
            out.add(httpRbacFilter("envoy.filters.http.rbac.deny", rules.deny()));
        }
        if (rules.allow() != null) {
            out.add(httpRbacFilter("envoy.filters.http.rbac", rules.allow()));
        }
        return out;
    }

    private static HttpFilter httpRbacFilter(String name, RBAC rules) {
        return HttpFilter.newBuilder().setName(name).setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(rules).build())).build();
    }

    /** A TCP port's network RBAC filters, placed before its tcp_proxy: DENY, then ALLOW, as on HTTP ports. */
    static List<Filter> networkRbac(RbacRules rules) {
        List<Filter> out = new ArrayList<>();
        if (rules.deny() != null) {
            out.add(networkRbacFilter(NETWORK_RBAC_DENY, rules.deny()));
        }
        if (rules.allow() != null) {
            out.add(networkRbacFilter(NETWORK_RBAC_ALLOW, rules.allow()));
        }
        return out;
    }

    private static Filter networkRbacFilter(String name, RBAC rules) {
        return Filter.newBuilder().setName(name).setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder()
                        .setStatPrefix(NETWORK_RBAC_STAT_PREFIX).setRules(rules).build())).build();
    }

    static Address address(String ip, int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
                .build();
    }
}
