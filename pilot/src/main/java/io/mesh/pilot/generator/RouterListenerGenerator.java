package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.mesh.config.Gateway;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * LDS for router proxies: one listener "0.0.0.0_PORT" per Gateway server port. HTTP servers use RDS "http.PORT";
 * HTTPS servers terminate TLS with the certificate named by credentialName, fetched over SDS
 * ("kubernetes://NAME"), matched by SNI, and route with the same "http.PORT" table; MUTUAL and OPTIONAL_MUTUAL
 * verify client certificates against the credential's CA ("kubernetes://NAME-cacert"). Servers this gateway cannot
 * serve ({@link Gateway.Server#unserved}) get no listener. AuthorizationPolicies that
 * select the gateway become HTTP RBAC filters ahead of the router, as on a sidecar's inbound.
 */
public final class RouterListenerGenerator {
    private RouterListenerGenerator() {
    }

    public static List<Listener> generate(ProxyInfo proxy, MeshSnapshot snapshot) {
        Map<Integer, List<Gateway.Server>> byPort = new TreeMap<>();
        for (Gateway gw : GatewayScope.forProxy(proxy, snapshot)) {
            for (Gateway.Server s : gw.servers()) {
                if (s.unserved() == null) {   // else left out (validation warned): no listener rather than a wrong one
                    byPort.computeIfAbsent(s.port(), p -> new ArrayList<>()).add(s);
                }
            }
        }
        // The AuthorizationPolicies that select the gateway (its namespace's, and the root namespace's): the same HTTP
        // RBAC filters as a sidecar's inbound, on every server of the gateway.
        List<io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter> rbac =
                SidecarInbound.httpRbac(SidecarInbound.rbacRules(proxy, snapshot, false));
        List<Listener> out = new ArrayList<>();
        byPort.forEach((port, servers) -> {
            Listener.Builder l = Listener.newBuilder().setName("0.0.0.0_" + port)
                    .setAddress(SidecarInbound.address("0.0.0.0", port));
            String route = "http." + port;
            for (Gateway.Server s : servers) {
                FilterChain.Builder chain = FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(Hcm.NAME)
                        .setTypedConfig(Any.pack(Hcm.rds(route, route, rbac, true))));
                if (s.tls() != null && s.tls().credentialName() != null && s.protocol().equals("HTTPS")) {
                    chain.setFilterChainMatch(FilterChainMatch.newBuilder().addAllServerNames(
                            s.hosts().stream().map(h -> h.contains("/") ? h.substring(h.indexOf('/') + 1) : h)
                                    .filter(h -> !h.equals("*")).toList()));
                    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
                            .addTlsCertificateSdsSecretConfigs(ClusterPolicy.sds("kubernetes://" + s.tls().credentialName()))
                            .addAlpnProtocols("h2").addAlpnProtocols("http/1.1");
                    DownstreamTlsContext.Builder tls = DownstreamTlsContext.newBuilder();
                    boolean mutual = s.tls().mode().equals("MUTUAL");
                    if (mutual || s.tls().mode().equals("OPTIONAL_MUTUAL")) {
                        // Client certificates verified against the credential's CA (ca.crt: "NAME-cacert");
                        // MUTUAL requires one, OPTIONAL_MUTUAL verifies one when sent.
                        common.setValidationContextSdsSecretConfig(ClusterPolicy.sds(
                                "kubernetes://" + s.tls().credentialName() + "-cacert"));
                        tls.setRequireClientCertificate(com.google.protobuf.BoolValue.of(mutual));
                    }
                    chain.setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                            .setTypedConfig(Any.pack(tls.setCommonTlsContext(common).build())));
                }
                l.addFilterChains(chain);
                if (s.tls() == null) {
                    break;
                }
            }
            out.add(l.build());
        });
        return out;
    }
}
