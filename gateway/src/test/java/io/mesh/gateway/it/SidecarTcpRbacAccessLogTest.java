package io.mesh.gateway.it;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.time.Duration;
import java.util.logging.Logger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A sidecar's inbound mesh TCP chain whose network RBAC (a DENY AuthorizationPolicy on the caller's principal) refuses
 * the connection once the mTLS handshake names the caller: the inbound relay still writes its access log line, as
 * Envoy does, with {@code connection_termination_details} naming the policy and no upstream host (the workload is
 * never dialled). The app in a pod network namespace calls through the same sidecar's outbound relay
 * ({@link MeshTcpPod}). Needs root.
 */
class SidecarTcpRbacAccessLogTest {
    static final AccessLogCapture CAPTURE = new AccessLogCapture();
    static final String POLICY = "ns[demo]-policy[no-client]-rule[0]";

    static MeshTcpPod mesh;

    @BeforeAll
    static void start() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").addHandler(CAPTURE);
        mesh = MeshTcpPod.start("sidecar-tcp-rbac", l -> l, l -> denyingClient(SidecarTcpAccessLogTest.logged(l, null)));
    }

    @AfterAll
    static void stop() throws Exception {
        Logger.getLogger("io.mesh.gateway.access").removeHandler(CAPTURE);
        if (mesh != null) {
            mesh.close();
        }
    }

    /** {@code l} with istiod's network RBAC before each tcp_proxy: DENY the client's SPIFFE ID. */
    static Listener denyingClient(Listener l) {
        RBAC rules = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies(POLICY, Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setAny(true))
                .addPrincipals(Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder()
                        .setPrincipalName(StringMatcher.newBuilder().setExact(MeshTcpPod.CLIENT_ID)))).build()).build();
        Filter rbac = Filter.newBuilder().setName("envoy.filters.network.rbac").setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder().setStatPrefix("tcp.")
                        .setRules(rules).build())).build();
        Listener.Builder b = l.toBuilder().clearFilterChains();
        for (FilterChain fc : l.getFilterChainsList()) {
            b.addFilterChains(fc.toBuilder().clearFilters().addFilters(rbac).addAllFilters(fc.getFiltersList()));
        }
        return b.build();
    }

    @Test
    void theInboundRelayLogsAMeshConnectionItsNetworkRbacDeniesWithThePolicyAndNoUpstream() throws Exception {
        String result = mesh.call(10, 10);
        assertFalse(result.startsWith("True"), "denied: " + result);
        String of = "\"upstream_cluster\":\"" + mesh.inboundCluster + "\"";
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> CAPTURE.lines.stream().anyMatch(l -> l.contains(of)));
        String line = CAPTURE.lines.stream().filter(l -> l.contains(of)).findFirst().orElseThrow();
        assertTrue(line.contains("\"connection_termination_details\":\"rbac_access_denied_matched_policy[" + POLICY
                + "]\""), line);
        assertTrue(line.contains("\"upstream_host\":null"), line);
        assertTrue(line.contains("\"response_flags\":\"-\""), line);
    }
}
