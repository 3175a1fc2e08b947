package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.mesh.config.Gateway;
import io.mesh.config.VirtualService;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * LDS for router proxies: one listener "0.0.0.0_PORT" per Gateway server port, and as istiod one "BIND_PORT" bound to
 * that address per port and bind for servers with a {@code bind} (servers on one port and bind are merged; different
 * binds are different listeners). HTTP servers use RDS "http.PORT" ("http.PORT.BIND" with a bind);
 * HTTPS servers terminate TLS with the certificate named by credentialName, fetched over SDS
 * ("kubernetes://NAME"), matched by SNI, and route with the same table; MUTUAL and OPTIONAL_MUTUAL
 * verify client certificates against the credential's CA ("kubernetes://NAME-cacert"); ISTIO_MUTUAL terminates with
 * the gateway's own mesh certificate ("default") and requires clients from the mesh ("ROOTCA"). TLS servers terminate
 * the same ways and route the decrypted stream with tcp routes (or a Gateway API TLSRoute's tls routes);
 * PASSTHROUGH servers (also those whose tls has no mode, istio/api's zero value) route by SNI with tls routes,
 * AUTO_PASSTHROUGH servers by the mesh's own SNI to the service port it names ({@link SniDnat}), TCP servers with tcp
 * routes. Servers this gateway cannot
 * serve ({@link Gateway.Server#unserved}) get no listener. AuthorizationPolicies that
 * select the gateway become HTTP RBAC filters ahead of the router, as on a sidecar's inbound.
 */
public final class RouterListenerGenerator {
    private RouterListenerGenerator() {
    }

    public static List<Listener> generate(ProxyInfo proxy, MeshSnapshot snapshot) {
        Map<ListenerKey, List<Gateway.Server>> byPort = new TreeMap<>();
        Map<ListenerKey, List<Served>> l4ByPort = new TreeMap<>();
        for (Gateway gw : GatewayScope.forProxy(proxy, snapshot)) {
            for (Gateway.Server s : gw.servers()) {
                if (s.unserved() != null) {
                    continue;   // left out (validation warned): no listener rather than a wrong one
                }
                ListenerKey key = new ListenerKey(s.bind(), s.port());
                if (s.l4()) {
                    l4ByPort.computeIfAbsent(key, p -> new ArrayList<>()).add(new Served(gw, s));
                } else {
                    byPort.computeIfAbsent(key, p -> new ArrayList<>()).add(s);
                }
            }
        }
        Map<ListenerKey, Listener> tcp = new TreeMap<>();
        l4ByPort.forEach((key, served) -> {
            if (!byPort.containsKey(key)) {   // a listener with HTTP servers stays HTTP: one protocol per listener
                Listener l = l4Listener(key, served, proxy, snapshot);
                if (l != null) {
                    tcp.put(key, l);
                }
            }
        });
        // The AuthorizationPolicies that select the gateway (its namespace's, and the root namespace's): the same HTTP
        // authz filters as a sidecar's inbound (CUSTOM's ext_authz, RequestAuthentication's JWT filters, DENY, ALLOW),
        // on every server of the gateway.
        List<io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter> rbac =
                SidecarInbound.httpAuthz(proxy, snapshot);
        // The Telemetry resources that apply to the gateway (a CLIENT, as istiod classes gateways): its access log and
        // trace sampling, on every HTTP server.
        TelemetryPolicy.Effective telemetry = TelemetryPolicy.resolve(proxy, snapshot, io.mesh.config.Telemetry.Mode.CLIENT);
        List<Listener> out = new ArrayList<>();
        byPort.forEach((key, servers) -> {
            Listener.Builder l = Listener.newBuilder().setName(key.listenerName()).setAddress(key.address());
            String route = routeName(key.port(), key.bind());
            // The gateway serves one client-certificate setting per listener (one TLS server per bind and port): HTTPS
            // servers that ask another of clients than the listener's first are left out (validation warns within a
            // Gateway), rather than a listener the gateway would refuse whole.
            String clientCerts = servers.stream().filter(s -> s.protocol().equals("HTTPS")).findFirst()
                    .map(Gateway.Server::clientCertificates).orElse("");
            for (Gateway.Server s : servers) {
                if (s.protocol().equals("HTTPS") && !s.clientCertificates().equals(clientCerts)) {
                    continue;
                }
                List<io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter> filters =
                        MetadataExchange.first(MetadataExchange.OUTBOUND, rbac);
                FilterChain.Builder chain = FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(Hcm.NAME)
                        .setTypedConfig(Any.pack(telemetry.apply(Hcm.rds(route, route, filters, true,
                                snapshot.mesh().persistentSessionFilter())))));
                if (s.terminatesTls()) {
                    chain.setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(serverNames(s)));
                    chain.setTransportSocket(downstreamTls(s, true));
                }
                l.addFilterChains(chain);
                if (!s.terminatesTls()) {
                    break;   // one plain chain for the port's HTTP servers (their tls, if any, only asks for httpsRedirect)
                }
            }
            out.add(l.build());
        });
        if (tcp.isEmpty()) {
            return TcpAccessLogs.apply(IstioStats.apply(out, proxy, snapshot, true), proxy, snapshot);
        }
        Map<ListenerKey, Listener> all = new TreeMap<>(tcp);
        out.forEach(l -> all.put(new ListenerKey(bindOf(l), l.getAddress().getSocketAddress().getPortValue()), l));
        // The Telemetry resources' metrics rules: Istio's stats filter on every chain (CLIENT side, as istiod classes gateways);
        // the access log on the tcp_proxy chains too.
        return TcpAccessLogs.apply(IstioStats.apply(List.copyOf(all.values()), proxy, snapshot, true), proxy, snapshot);
    }

    /**
     * A router's RDS name for the HTTP servers of a port and bind, as istiod names it: {@code http.PORT}, and for a
     * server with a bind {@code http.PORT.BIND} (servers on one port with different binds route apart).
     */
    public static String routeName(int port, String bind) {
        return "http." + port + (bind.isEmpty() ? "" : "." + bind);
    }

    /** The bind a listener was built for: "" for the wildcard one. */
    private static String bindOf(Listener l) {
        String address = l.getAddress().getSocketAddress().getAddress();
        return address.equals(WILDCARD) ? "" : address;
    }

    private static final String WILDCARD = "0.0.0.0";

    /**
     * One listener of a router: the servers on a port with the same bind ("" = every address), as istiod merges them
     * ({@code model.ServerPort}: number and bind). Named {@code BIND_PORT}, {@code 0.0.0.0_PORT} without a bind,
     * and bound to that address. Ordered by port, then the wildcard before binds.
     */
    private record ListenerKey(String bind, int port) implements Comparable<ListenerKey> {
        String listenerName() {
            return (bind.isEmpty() ? WILDCARD : bind) + "_" + port;
        }

        io.envoyproxy.envoy.config.core.v3.Address address() {
            return SidecarInbound.address(bind.isEmpty() ? WILDCARD : bind, port);
        }

        @Override
        public int compareTo(ListenerKey o) {
            return port != o.port ? Integer.compare(port, o.port) : bind.compareTo(o.bind);
        }
    }

    /** A server's hosts as SNI names: the host part of "namespace/host", without the catch-all "*". */
    private static List<String> serverNames(Gateway.Server s) {
        return s.hosts().stream().map(h -> h.contains("/") ? h.substring(h.indexOf('/') + 1) : h)
                .filter(h -> !h.equals("*")).distinct().toList();
    }

    /**
     * The TLS a server terminates, as istiod writes it: each of its credentials' certificates over SDS
     * ("kubernetes://NAME", credentialName's or each of credentialNames', in order: the proxy presents the first a client
     * can verify; MUTUAL and OPTIONAL_MUTUAL verify client certificates against the first one's CA,
     * "kubernetes://NAME-cacert"), or for ISTIO_MUTUAL the gateway's own mesh certificate ("default") with client
     * certificates verified against the mesh's roots ("ROOTCA"). MUTUAL and ISTIO_MUTUAL require a client certificate,
     * OPTIONAL_MUTUAL verifies one when sent; the server's subjectAltNames narrow the accepted ones, and on MUTUAL and
     * OPTIONAL_MUTUAL its verifyCertificateSpki and verifyCertificateHash pin them. ALPN h2 and http/1.1 for HTTP
     * servers, none for TCP but on an ISTIO_MUTUAL one {@code istio-peer-exchange}, h2 and http/1.1 (istiod's
     * ALPNDownstreamWithMxc: Istio's TCP metadata exchange with mesh clients).
     */
    private static TransportSocket downstreamTls(Gateway.Server s, boolean http) {
        boolean mesh = s.tls().mode().equals("ISTIO_MUTUAL");
        List<String> credentials = mesh ? List.of() : s.tls().credentials();
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
        if (mesh) {
            common.addTlsCertificateSdsSecretConfigs(ClusterPolicy.sds("default"));
        }
        credentials.forEach(c -> common.addTlsCertificateSdsSecretConfigs(ClusterPolicy.sds(
                SecretGenerator.resourceName(c))));
        if (http) {
            common.addAlpnProtocols("h2").addAlpnProtocols("http/1.1");
        } else if (mesh) {
            common.addAllAlpnProtocols(MetadataExchange.INBOUND_TCP_ALPN);
        }
        DownstreamTlsContext.Builder tls = DownstreamTlsContext.newBuilder();
        boolean required = mesh || s.tls().mode().equals("MUTUAL");
        if (required || s.tls().mode().equals("OPTIONAL_MUTUAL")) {
            var ca = ClusterPolicy.sds(mesh ? "ROOTCA" : SecretGenerator.resourceName(credentials.get(0)) + "-cacert");
            boolean pins = !mesh && s.tls().pinned();
            if (s.tls().subjectAltNames().isEmpty() && !pins) {
                common.setValidationContextSdsSecretConfig(ca);
            } else {
                // and one of the server's subjectAltNames in the client certificate, and one of its pins, as istiod
                // writes them
                var names = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.newBuilder();
                s.tls().subjectAltNames().forEach(n -> names.addMatchSubjectAltNames(
                        io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact(n)));
                if (pins) {
                    names.addAllVerifyCertificateSpki(s.tls().verifyCertificateSpki())
                            .addAllVerifyCertificateHash(s.tls().verifyCertificateHash());
                }
                common.setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(names).setValidationContextSdsSecretConfig(ca));
            }
            tls.setRequireClientCertificate(com.google.protobuf.BoolValue.of(required));
        }
        if (!mesh && s.tls().tlsParams()) {
            common.setTlsParams(tlsParams(s.tls()));
        }
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                .setTypedConfig(Any.pack(tls.setCommonTlsContext(common).build())).build();
    }

    /**
     * A SIMPLE, MUTUAL or OPTIONAL_MUTUAL server's TLS versions and cipher suites, as istiod's applyServerTLSSettings
     * writes them (ISTIO_MUTUAL servers get none): Istio's TLSV1_x is Envoy's TLSv1_x, unset is TLS_AUTO (Envoy's
     * default: TLS 1.2 to 1.3 on a server), and the cipher suites are the ones validation kept (filteredGatewayCipherSuites).
     */
    static TlsParameters tlsParams(Gateway.ServerTls t) {
        TlsParameters.Builder p = TlsParameters.newBuilder().addAllCipherSuites(t.cipherSuites());
        if (t.minProtocolVersion() != null) {
            p.setTlsMinimumProtocolVersion(protocol(t.minProtocolVersion()));
        }
        if (t.maxProtocolVersion() != null) {
            p.setTlsMaximumProtocolVersion(protocol(t.maxProtocolVersion()));
        }
        return p.build();
    }

    /** istio/api's TLSProtocol to Envoy's: the same order and numbers (istiod's convertTLSProtocol). */
    private static TlsParameters.TlsProtocol protocol(String istio) {
        return switch (istio) {
            case "TLSV1_0" -> TlsParameters.TlsProtocol.TLSv1_0;
            case "TLSV1_1" -> TlsParameters.TlsProtocol.TLSv1_1;
            case "TLSV1_2" -> TlsParameters.TlsProtocol.TLSv1_2;
            case "TLSV1_3" -> TlsParameters.TlsProtocol.TLSv1_3;
            default -> TlsParameters.TlsProtocol.TLS_AUTO;
        };
    }

    /** A server of a gateway. */
    private record Served(Gateway gw, Gateway.Server server) {
    }

    /**
     * A listener (bind and port) of L4 servers, by kind (the first kind present takes it, the others are left out):
     * PASSTHROUGH servers (tls routes: a filter chain per SNI host, matched by the tls_inspector's SNI; the first route
     * claiming a name has it), TLS servers that terminate TLS (per server a chain on its hosts' SNI names with its TLS,
     * to the first tcp route, or a TLSRoute's tls route ({@link #tcpRoutes}), of the VirtualServices bound to it; one
     * client-certificate setting per listener, the first server's), or TCP servers (tcp routes: the first route for the port takes its connections). Each chain is a
     * tcp_proxy to the route's destinations by weight. Null when no route applies.
     */
    private static Listener l4Listener(ListenerKey key, List<Served> served, ProxyInfo proxy, MeshSnapshot snapshot) {
        int port = key.port();
        Listener.Builder l = Listener.newBuilder().setName(key.listenerName()).setAddress(key.address());
        java.util.Set<String> claimed = new java.util.HashSet<>();
        // PASSTHROUGH and AUTO_PASSTHROUGH servers share a port as istiod lets them: chains by SNI, tls routes' first.
        boolean passthrough = served.stream().anyMatch(sv -> sv.server().passthrough() || sv.server().autoPassthrough());
        // AuthorizationPolicies that select the gateway, as they apply to TCP (network RBAC before the tcp_proxy), as
        // istiod puts them on a gateway's TCP, passthrough and TLS-terminating chains.
        List<Filter> rbac = SidecarInbound.networkRbac(SidecarInbound.rbacRules(proxy, snapshot, true));
        boolean terminate = !passthrough && served.stream().anyMatch(sv -> sv.server().terminatesTls());
        String clientCerts = served.stream().filter(sv -> sv.server().terminatesTls()).findFirst()
                .map(sv -> sv.server().clientCertificates()).orElse("");
        for (Served sv : served) {
            boolean bySni = sv.server().passthrough() || sv.server().autoPassthrough();
            if (bySni != passthrough || sv.server().terminatesTls() != terminate
                    || (terminate && !sv.server().clientCertificates().equals(clientCerts))) {
                continue;
            }
            if (sv.server().autoPassthrough()) {
                continue;   // after every tls route (below)
            }
            for (VirtualService vs : GatewayScope.boundTo(sv.gw(), snapshot, proxy)) {
                List<String> hosts = GatewayScope.matchingHosts(sv.gw(), vs, sv.server());
                if (terminate && hosts.isEmpty()) {
                    continue;
                }
                for (VirtualService.L4Route r : passthrough ? vs.tls() : tcpRoutes(vs)) {
                    List<VirtualService.L4Match> matches = r.match().isEmpty()
                            ? List.of(new VirtualService.L4Match(List.of(), null, List.of())) : r.match();
                    for (VirtualService.L4Match m : matches) {
                        if ((m.port() != null && m.port() != port) || !forGateway(m.gateways(), vs, sv.gw())) {
                            continue;
                        }
                        FilterChain.Builder chain = FilterChain.newBuilder().addAllFilters(rbac)
                                .addFilters(SidecarListenerGenerator.tcpProxy(proxy, vs, r, port, snapshot,
                                        host -> snapshot.service(host, proxy.namespace())));
                        if (passthrough) {
                            List<String> names = m.sniHosts().stream().filter(sni -> allowed(sni, hosts))
                                    .filter(claimed::add).toList();
                            if (names.isEmpty()) {
                                continue;
                            }
                            chain.setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(names));
                        } else if (terminate) {
                            // The server's connections, decrypted, go to its first tcp route.
                            List<String> names = serverNames(sv.server());
                            if (!claimed.add(names.toString())) {
                                continue;
                            }
                            chain.setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(names))
                                    .setTransportSocket(downstreamTls(sv.server(), false));
                            if (sv.server().tls().mode().equals("ISTIO_MUTUAL")) {
                                // istiod's TCP metadata exchange with mesh clients on ISTIO_MUTUAL TCP servers, first.
                                chain.addFilters(0, MetadataExchange.TCP_LISTENER);
                            }
                        } else if (!claimed.add("")) {
                            continue;   // the port's connections already go to an earlier route
                        }
                        l.addFilterChains(chain);
                    }
                }
            }
        }
        if (passthrough) {
            for (Served sv : served) {
                if (sv.server().autoPassthrough()) {
                    l.addAllFilterChains(SniDnat.chains(SniDnat.ownNamespace(sv.gw(), sv.server()), rbac, claimed, proxy, snapshot));
                }
            }
        }
        if (l.getFilterChainsCount() == 0) {
            return null;
        }
        if (passthrough || terminate) {
            l.addListenerFilters(io.envoyproxy.envoy.config.listener.v3.ListenerFilter.newBuilder()
                    .setName("envoy.filters.listener.tls_inspector").setTypedConfig(Any.pack(
                            io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector.getDefaultInstance())));
        }
        return l.build();
    }

    /**
     * The routes a TCP or TLS-terminating server takes from a VirtualService: its tcp routes, then, when it is a
     * Gateway API TLSRoute's, its tls routes (the Gateway API's TLSRouteModeTerminate), as istiod's
     * buildGatewayNetworkFiltersFromTCPRoutes falls back to a TLSRoute's tls blocks; their SNI names are not matched
     * again, the server's hosts already chose the chain.
     */
    private static List<VirtualService.L4Route> tcpRoutes(VirtualService vs) {
        if (!vs.gatewaySemantics() || vs.tls().isEmpty()) {
            return vs.tcp();
        }
        List<VirtualService.L4Route> out = new java.util.ArrayList<>(vs.tcp());
        out.addAll(vs.tls());
        return out;
    }

    /** A route match's gateways: none means the VirtualService's; a name without namespace is in its namespace. */
    private static boolean forGateway(List<String> gateways, VirtualService vs, Gateway gw) {
        return gateways.isEmpty() || gateways.stream().anyMatch(g -> g.equals(gw.namespace() + "/" + gw.name())
                || (g.equals(gw.name()) && vs.namespace().equals(gw.namespace())));
    }

    /** An SNI host the server takes for this VirtualService: one of its hosts the server accepts, or under a wildcard. */
    private static boolean allowed(String sni, List<String> hosts) {
        return hosts.stream().anyMatch(h -> GatewayScope.hostMatches(h, sni));
    }
}
