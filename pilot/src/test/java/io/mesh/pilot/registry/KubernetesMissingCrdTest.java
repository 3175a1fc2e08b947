package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.mesh.config.Kind;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Kubernetes mode on a cluster where only some of Istio's CRDs are installed. The mock API server answers 404 for
 * the kinds whose CRD is missing, as kube-apiserver does. pilot starts anyway and serves the kinds it has, as istiod
 * does; once kubectl installs the missing CRDs, their objects reach the snapshot without a restart.
 */
class KubernetesMissingCrdTest {
    static final String VIRTUAL_SERVICE = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: web, namespace: demo}
            spec:
              hosts: [web]
              http:
              - route:
                - destination: {host: web}
            """;
    static final String POLICY = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-admin, namespace: demo}
            spec:
              action: DENY
              rules:
              - to:
                - operation: {paths: ["/admin"]}
            """;

    @RegisterExtension
    final KubernetesPilotExtension pilots = new KubernetesPilotExtension();
    KubernetesPilot k8s;

    @Test
    void pilotStartsWithoutTheSecurityCrdsAndWatchesTheirKindsOnceKubectlInstallsThem() throws Exception {
        k8s = pilots.start(false, List.of("networking.istio.io"), Duration.ofMillis(200));
        Set<Kind> gatewayApi = Set.of(Kind.KUBERNETES_GATEWAY, Kind.HTTP_ROUTE, Kind.GRPC_ROUTE, Kind.TLS_ROUTE,
                Kind.TCP_ROUTE, Kind.REFERENCE_GRANT, Kind.BACKEND_TLS_POLICY);
        Set<Kind> missing = new java.util.HashSet<>(gatewayApi);
        missing.addAll(Set.of(Kind.PEER_AUTHENTICATION, Kind.AUTHORIZATION_POLICY, Kind.REQUEST_AUTHENTICATION,
                Kind.TELEMETRY));
        assertEquals(missing, k8s.registry.missingKinds());

        // The kinds that are installed work meanwhile.
        k8s.kubectl(VIRTUAL_SERVICE, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().virtualServices().stream()
                .anyMatch(vs -> vs.name().equals("web")));

        k8s.applyCrds("security.istio.io");
        k8s.applyCrds("telemetry.istio.io");
        k8s.kubectl(POLICY, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().authorizationPolicies()
                .stream().anyMatch(p -> p.name().equals("deny-admin") && p.action().equals("DENY")));
        // The two groups' CRDs were applied one after the other, so a rescan may have found only the first; the
        // next one finds the other.
        // (The Gateway API's CRDs, never installed here, stay missing.)
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.registry.missingKinds()
                .equals(gatewayApi));

        // And they are watched, not just read once: a delete reaches the snapshot too.
        k8s.kubectl(null, "delete", "authorizationpolicy", "-n", "demo", "deny-admin");
        await().atMost(Duration.ofSeconds(10)).until(() -> k8s.harness.pilot.snapshot().authorizationPolicies()
                .isEmpty());
    }

    @Test
    void anObjectAppliedBeforePilotLooksAgainIsInTheFirstListOfItsKind() throws Exception {
        k8s = pilots.start(false, List.of("networking.istio.io"), Duration.ofSeconds(2));
        k8s.applyCrds("security.istio.io");
        k8s.kubectl(POLICY, "apply", "-f", "-");
        await().atMost(Duration.ofSeconds(15)).until(() -> k8s.harness.pilot.snapshot().authorizationPolicies()
                .stream().anyMatch(p -> p.name().equals("deny-admin")));
    }
}
