package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.rbac.RbacRequest;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The sidecar's listeners as istiod (and our pilot) shape them: capture, chain matches, TCP proxy and RBAC. */
class SidecarListenerTranslationTest {

    @Test
    void virtualOutboundIsACaptureListenerWithATcpPassthroughChain() throws Exception {
        Listener l = Listener.newBuilder().setName("virtualOutbound").setAddress(address(15001))
                .setUseOriginalDst(BoolValue.of(true))
                .addFilterChains(FilterChain.newBuilder().setName("PassthroughFilterChain").addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(TcpProxy.newBuilder()
                                .setStatPrefix("PassthroughCluster").setCluster("PassthroughCluster").build()))))
                .build();
        ListenerSpec spec = ListenerTranslator.translate(l);
        assertTrue(spec.capture() && spec.bindToPort());
        assertEquals("PassthroughCluster", spec.chainFor(5432, false).tcpCluster());
    }

    @Test
    void aPerPortHttpListenerIsNeverBound() throws Exception {
        Listener l = Listener.newBuilder().setName("0.0.0.0_8080").setAddress(address(8080)).setBindToPort(BoolValue.of(false))
                .addFilterChains(FilterChain.newBuilder().addFilters(hcm(HttpConnectionManager.newBuilder()
                        .setRds(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds.newBuilder()
                                .setRouteConfigName("8080")).build())))
                .build();
        ListenerSpec spec = ListenerTranslator.translate(l);
        assertFalse(spec.bindToPort());
        assertFalse(spec.capture());
        assertEquals("8080", spec.chains().get(0).routeConfigName());
    }

    @Test
    void virtualInboundPicksTheChainByOriginalPortAndDetectedTransport() throws Exception {
        ListenerSpec spec = ListenerTranslator.translate(inbound(8080, true, true));
        assertTrue(spec.capture());
        FilterChainSpec tls = spec.chainFor(8080, true);
        assertTrue(tls.tls() && tls.requireClientCert());
        assertEquals("default", tls.secretName());
        FilterChainSpec plain = spec.chainFor(8080, false);
        assertFalse(plain.tls());
        assertNull(spec.chainFor(9090, false), "no chain for a port no service declares");
        assertTrue(spec.hasChainsFor(8080));

        ListenerSpec strict = ListenerTranslator.translate(inbound(8080, true, false));
        assertNull(strict.chainFor(8080, false), "STRICT has no plaintext chain");
    }

    @Test
    void rbacDenyRunsBeforeAllowAndMatchesPathsPrincipalsAndHeaders() throws Exception {
        RBAC deny = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies("ns[default]-policy[deny-admin]-rule[0]",
                Policy.newBuilder().addPermissions(Permission.newBuilder().setUrlPath(PathMatcher.newBuilder()
                        .setPath(StringMatcher.newBuilder().setPrefix("/admin"))))
                        .addPrincipals(Principal.newBuilder().setAny(true)).build()).build();
        RBAC allow = RBAC.newBuilder().setAction(RBAC.Action.ALLOW).putPolicies("ns[default]-policy[allow-x]-rule[0]",
                Policy.newBuilder().addPermissions(Permission.newBuilder().setHeader(HeaderMatcher.newBuilder()
                        .setName(":method").setStringMatch(StringMatcher.newBuilder().setExact("GET"))))
                        .addPrincipals(Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder()
                                .setPrincipalName(StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder()
                                        .setRegex(".*/ns/x/.*"))))).build()).build();
        Listener l = inbound(8080, false, true).toBuilder().clearFilterChains()
                .addFilterChains(FilterChain.newBuilder().setFilterChainMatch(FilterChainMatch.newBuilder()
                        .setDestinationPort(UInt32Value.of(8080)))
                        .addFilters(hcm(inlineRoutes().toBuilder().addHttpFilters(rbac("envoy.filters.http.rbac.deny", deny))
                                .addHttpFilters(rbac("envoy.filters.http.rbac", allow)).build())))
                .build();
        var rbac = ListenerTranslator.translate(l).chainFor(8080, false).rbac();
        String fromX = "spiffe://cluster.local/ns/x/sa/client";
        String fromDefault = "spiffe://cluster.local/ns/default/sa/a";
        assertNull(rbac.denial(request(fromX, "GET", "/api")));
        assertEquals("ns[default]-policy[deny-admin]-rule[0]", rbac.denial(request(fromX, "GET", "/admin/users")));
        assertEquals("no matching ALLOW policy", rbac.denial(request(fromDefault, "GET", "/api")));
        assertEquals("no matching ALLOW policy", rbac.denial(request(null, "GET", "/api")), "plaintext has no principal");
        assertEquals("no matching ALLOW policy", rbac.denial(request(fromX, "POST", "/api")));
    }

    @Test
    void unsupportedRbacRulesAreRejectedNotIgnored() {
        RBAC rules = RBAC.newBuilder().setAction(RBAC.Action.ALLOW).putPolicies("p", Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setRequestedServerName(StringMatcher.newBuilder().setExact("x")))
                .addPrincipals(Principal.newBuilder().setAny(true)).build()).build();
        Listener l = inbound(8080, false, true).toBuilder().clearFilterChains()
                .addFilterChains(FilterChain.newBuilder().addFilters(hcm(inlineRoutes().toBuilder()
                        .addHttpFilters(rbac("envoy.filters.http.rbac", rules)).build())))
                .build();
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(l));
        assertTrue(e.getMessage().contains("unsupported RBAC permission REQUESTED_SERVER_NAME"), e.getMessage());
    }

    @Test
    void aRouterListenerOfTcpProxiesIsATcpListenerAndMixingItWithHttpIsRejected() throws Exception {
        FilterChain tcp = FilterChain.newBuilder().addFilters(Filter.newBuilder().setName("tcp")
                .setTypedConfig(Any.pack(TcpProxy.newBuilder().setCluster("x").build()))).build();
        Listener l = Listener.newBuilder().setName("0.0.0.0_31400").setAddress(address(31400)).addFilterChains(tcp).build();
        assertTrue(ListenerTranslator.translate(l).tcp(), "a Gateway's TCP server");

        Listener mixed = l.toBuilder().addFilterChains(FilterChain.newBuilder().setFilterChainMatch(
                io.envoyproxy.envoy.config.listener.v3.FilterChainMatch.newBuilder().addServerNames("a.example"))
                .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager
                                .v3.HttpConnectionManager.newBuilder().setRds(io.envoyproxy.envoy.extensions.filters
                                        .network.http_connection_manager.v3.Rds.newBuilder().setRouteConfigName("r"))
                                .build())))).build();
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(mixed));
        assertTrue(e.getMessage().contains("mixes tcp_proxy and HTTP filter chains"), e.getMessage());
    }

    @Test
    void aTcpServicesVipListenerIsNotBoundAndProxiesToItsCluster() throws Exception {
        Listener l = Listener.newBuilder().setName("198.51.100.102_7000")
                .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("198.51.100.102")
                        .setPortValue(7000)))
                .setBindToPort(BoolValue.of(false))
                .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder()
                        .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(TcpProxy.newBuilder()
                                .setStatPrefix("outbound|7000||db.default.svc.cluster.local")
                                .setCluster("outbound|7000||db.default.svc.cluster.local").build()))))
                .build();
        ListenerSpec spec = ListenerTranslator.translate(l);
        assertFalse(spec.bindToPort());
        assertFalse(spec.capture());
        assertEquals("198.51.100.102", spec.host());
        assertEquals(7000, spec.port());
        assertEquals("outbound|7000||db.default.svc.cluster.local", spec.chains().get(0).tcpCluster());
    }

    @Test
    void aTlsPortOfServicesWithoutAnAddressPicksItsChainBySniAndPassesTheRestThrough() throws Exception {
        // Pilot's 0.0.0.0_443 for ServiceEntries of external TLS hosts: a chain per server name, then the fallthrough.
        Listener l = Listener.newBuilder().setName("0.0.0.0_443").setAddress(address(443))
                .setBindToPort(BoolValue.of(false))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector"))
                .addFilterChains(sniChain("api.github.com", "outbound|443||api.github.com"))
                .addFilterChains(sniChain("*.example.com", "outbound|443||*.example.com"))
                .addFilterChains(sniChain(null, "PassthroughCluster"))
                .build();
        ListenerSpec spec = ListenerTranslator.translate(l);
        assertFalse(spec.bindToPort() || spec.capture() || spec.tcp(), "handed captured connections, never bound");
        assertEquals("0.0.0.0", spec.host());
        assertEquals("outbound|443||api.github.com", spec.chainFor("api.github.com").tcpCluster());
        assertEquals("outbound|443||api.github.com", spec.chainFor("API.GitHub.com").tcpCluster());
        assertEquals("outbound|443||*.example.com", spec.chainFor("www.example.com").tcpCluster());
        assertEquals("PassthroughCluster", spec.chainFor("example.com").tcpCluster());
        assertEquals("PassthroughCluster", spec.chainFor(null).tcpCluster(), "no SNI (or not TLS): the fallthrough");
    }

    private static FilterChain sniChain(String serverName, String cluster) {
        FilterChain.Builder c = FilterChain.newBuilder().addFilters(Filter.newBuilder()
                .setName("envoy.filters.network.tcp_proxy").setTypedConfig(Any.pack(TcpProxy.newBuilder()
                        .setStatPrefix(cluster).setCluster(cluster).build())));
        if (serverName != null) {
            c.setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(serverName));
        }
        return c.build();
    }

    @Test
    void networkRbacOnATcpChainIsEnforcedPerConnectionAndRejectedAfterTheProxyOrOnHttpChains() throws Exception {
        RBAC denyNamespace = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies("ns[default]-policy[no-x]-rule[0]",
                Policy.newBuilder().addPermissions(Permission.newBuilder().setAny(true))
                        .addPrincipals(Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder()
                                .setPrincipalName(StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder()
                                        .setRegex(".*/ns/x/.*"))))).build()).build();
        Filter rbac = Filter.newBuilder().setName("envoy.filters.network.rbac").setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder().setStatPrefix("tcp.")
                        .setRules(denyNamespace).build())).build();
        Filter tcp = Filter.newBuilder().setName("envoy.filters.network.tcp_proxy")
                .setTypedConfig(Any.pack(TcpProxy.newBuilder().setStatPrefix("inbound|7000||").setCluster("inbound|7000||").build()))
                .build();
        Listener l = inbound(7000, false, false).toBuilder().clearFilterChains()
                .addFilterChains(FilterChain.newBuilder().setName("inbound|7000||-raw_buffer")
                        .setFilterChainMatch(FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(7000))
                                .setTransportProtocol("raw_buffer"))
                        .addFilters(rbac).addFilters(tcp))
                .build();
        FilterChainSpec chain = ListenerTranslator.translate(l).chainFor(7000, false);
        assertTrue(chain.tcp());
        assertEquals("ns[default]-policy[no-x]-rule[0]", chain.rbac().denial(request("spiffe://cluster.local/ns/x/sa/a", "GET", "/")));
        assertNull(chain.rbac().denial(request("spiffe://cluster.local/ns/y/sa/a", "GET", "/")));
        assertNull(chain.rbac().denial(request(null, "GET", "/")), "plaintext: no principal, not denied by this rule");

        Listener after = l.toBuilder().clearFilterChains().addFilterChains(FilterChain.newBuilder()
                .addFilters(tcp).addFilters(rbac)).build();
        ConfigRejected late = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(after));
        assertTrue(late.getMessage().contains("after tcp_proxy"), late.getMessage());
        Listener onHttp = l.toBuilder().clearFilterChains().addFilterChains(FilterChain.newBuilder()
                .addFilters(rbac).addFilters(hcm(inlineRoutes()))).build();
        ConfigRejected http = assertThrows(ConfigRejected.class, () -> ListenerTranslator.translate(onHttp));
        assertTrue(http.getMessage().contains("tcp_proxy chains only"), http.getMessage());
    }

    // ----- pilot-shaped resources

    private static Listener inbound(int port, boolean tlsChain, boolean plainChain) {
        Listener.Builder l = Listener.newBuilder().setName("virtualInbound").setAddress(address(15006))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector"));
        if (tlsChain) {
            l.addFilterChains(FilterChain.newBuilder().setName("inbound|" + port + "||tls")
                    .setFilterChainMatch(FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port))
                            .setTransportProtocol("tls"))
                    .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                            .setTypedConfig(Any.pack(DownstreamTlsContext.newBuilder()
                                    .setRequireClientCertificate(BoolValue.of(true))
                                    .setCommonTlsContext(CommonTlsContext.newBuilder()
                                            .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default"))
                                            .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName("ROOTCA")))
                                    .build())))
                    .addFilters(hcm(inlineRoutes())));
        }
        if (plainChain) {
            l.addFilterChains(FilterChain.newBuilder().setName("inbound|" + port + "||plaintext")
                    .setFilterChainMatch(FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port))
                            .setTransportProtocol("raw_buffer"))
                    .addFilters(hcm(inlineRoutes())));
        }
        return l.build();
    }

    private static HttpConnectionManager inlineRoutes() {
        return HttpConnectionManager.newBuilder().setStatPrefix("inbound_8080").setRouteConfig(RouteConfiguration.newBuilder()
                .setName("inbound|8080||").addVirtualHosts(VirtualHost.newBuilder().setName("inbound|http|8080").addDomains("*")
                        .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                                .setRoute(RouteAction.newBuilder().setCluster("inbound|8080||")))))
                .build();
    }

    private static Filter hcm(HttpConnectionManager hcm) {
        return Filter.newBuilder().setName("envoy.filters.network.http_connection_manager").setTypedConfig(Any.pack(hcm)).build();
    }

    private static HttpFilter rbac(String name, RBAC rules) {
        return HttpFilter.newBuilder().setName(name).setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(rules).build())).build();
    }

    private static Address address(int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress("0.0.0.0").setPortValue(port)).build();
    }

    private static RbacRequest request(String principal, String method, String path) {
        Map<String, String> headers = Map.of(":method", method, ":path", path);
        return new RbacRequest() {
            @Override
            public String principal() {
                return principal;
            }

            @Override
            public String sourceIp() {
                return "198.51.100.11";
            }

            @Override
            public int destinationPort() {
                return 8080;
            }

            @Override
            public String authority() {
                return "b.default.svc.cluster.local:8080";
            }

            @Override
            public String path() {
                return path;
            }

            @Override
            public String header(String name) {
                return headers.get(name);
            }

            @Override
            public String queryParam(String name) {
                return null;
            }
        };
    }
}
