package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.cluster;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.mesh.pilot.model.GatewayApiBackendTls;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.TlsCredential;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A BackendTLSPolicy makes the clusters of the Services it targets originate TLS as istiod's DestinationRule of it:
 * its hostname as SNI and (without subjectAltNames) as the name the backend's certificate must carry, and the CA of its
 * ConfigMap over SDS ({@code configmap://NS/NAME-cacert}), for routers and sidecars alike. A CA that cannot be used
 * makes a CA no proxy is sent, so connections fail instead of going unverified.
 */
class GatewayApiBackendTlsTest {
    static final String CA;

    static {
        try (var in = GatewayApiBackendTlsTest.class.getResourceAsStream("/backend-tls/ca.crt")) {
            CA = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static final String SERVICES = SidecarFixtures.services("api", "demo", "[api.demo.svc.cluster.local]",
            "[{number: 80, name: http, protocol: HTTP}, {number: 443, name: https, protocol: HTTP}]",
            "{address: 10.0.0.1}");

    static String policy(String name, String targets, String validation) {
        return """
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: BackendTLSPolicy
                metadata: {name: %s, namespace: demo}
                spec:
                  targetRefs: %s
                  validation: %s
                """.formatted(name, targets, validation);
    }

    static final String API = "[{group: \"\", kind: Service, name: api}]";
    static final String WITH_CA = "{caCertificateRefs: [{group: \"\", kind: ConfigMap, name: api-ca}], hostname: api.example.com}";
    static final Map<String, TlsCredential> CA_CONFIG_MAP = Map.of("configmap://demo/api-ca",
            new TlsCredential("configmap://demo/api-ca", null, null, CA));

    static MeshSnapshot snapshot(String yaml, Map<String, TlsCredential> credentials) {
        return SidecarFixtures.snapshot(SERVICES + yaml, MeshSettings.DEFAULT, credentials);
    }

    static UpstreamTlsContext tls(Cluster c) {
        assertEquals("envoy.transport_sockets.tls", c.getTransportSocket().getName(), c.toString());
        return unpack(c.getTransportSocket().getTypedConfig(), UpstreamTlsContext.class);
    }

    @Test
    void theClustersOfTheTargetOriginateTlsVerifiedByTheConfigMapsCa() {
        MeshSnapshot s = snapshot(policy("api-tls", API, WITH_CA), CA_CONFIG_MAP);
        assertEquals(List.of(), s.warnings());
        for (var proxy : List.of(GeneratorGoldenTest.router(), SidecarFixtures.sidecar("10.0.5.5", "demo"))) {
            for (String name : List.of("outbound|80||api.demo.svc.cluster.local", "outbound|443||api.demo.svc.cluster.local")) {
                UpstreamTlsContext tls = tls(cluster(proxy, s, name));
                assertEquals("api.example.com", tls.getSni());
                CommonTlsContext.CombinedCertificateValidationContext v = tls.getCommonTlsContext()
                        .getCombinedValidationContext();
                assertEquals("api.example.com", v.getDefaultValidationContext().getMatchSubjectAltNames(0).getExact(),
                        "without subjectAltNames the certificate must carry the hostname");
                assertEquals("configmap://demo/api-ca-cacert", v.getValidationContextSdsSecretConfig().getName());
                assertEquals(0, tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigsCount(), "no client certificate");
            }
            List<Secret> secrets = SecretGenerator.generate(proxy, s, Set.of("configmap://demo/api-ca-cacert"));
            assertEquals(1, secrets.size(), proxy.toString());
            assertEquals(CA, secrets.get(0).getValidationContext().getTrustedCa().getInlineBytes()
                    .toString(StandardCharsets.US_ASCII));
        }
        assertTrue(SecretGenerator.generate(GeneratorGoldenTest.router(), s, Set.of("configmap://demo/other-cacert"))
                .isEmpty(), "a ConfigMap no policy names is not served");
    }

    @Test
    void subjectAltNamesReplaceTheHostnameAsTheNamesTheCertificateMustCarry() {
        MeshSnapshot s = snapshot(policy("api-tls", API, "{wellKnownCACertificates: System, hostname: api.example.com,"
                + " subjectAltNames: [{type: URI, uri: \"spiffe://example.com/api\"}, {type: Hostname, hostname: api.internal}]}"),
                Map.of());
        UpstreamTlsContext tls = tls(cluster(GeneratorGoldenTest.router(), s, "outbound|80||api.demo.svc.cluster.local"));
        assertEquals("api.example.com", tls.getSni());
        var v = tls.getCommonTlsContext().getCombinedValidationContext();
        assertEquals(List.of("spiffe://example.com/api", "api.internal"), v.getDefaultValidationContext()
                .getMatchSubjectAltNamesList().stream().map(m -> m.getExact()).toList());
        assertEquals("file-root:system", v.getValidationContextSdsSecretConfig().getName(),
                "System: istiod's name for the proxy's own system roots");
    }

    @Test
    void aSectionNameTakesOnlyThatPortOfTheService() {
        MeshSnapshot s = snapshot(policy("api-tls", "[{group: \"\", kind: Service, name: api, sectionName: https}]",
                WITH_CA), CA_CONFIG_MAP);
        assertEquals("api.example.com", tls(cluster(GeneratorGoldenTest.router(), s,
                "outbound|443||api.demo.svc.cluster.local")).getSni());
        assertFalse(cluster(GeneratorGoldenTest.router(), s, "outbound|80||api.demo.svc.cluster.local")
                .hasTransportSocket(), "port http stays plaintext");

        MeshSnapshot missing = snapshot(policy("api-tls", "[{group: \"\", kind: Service, name: api, sectionName: grpc}]",
                WITH_CA), CA_CONFIG_MAP);
        assertTrue(missing.warnings().contains("BackendTLSPolicy demo/api-tls for Service demo/api: targetRefs invalid:"
                + " sectionName \"grpc\" does not exist in Service demo/api"), missing.warnings().toString());
        assertFalse(cluster(GeneratorGoldenTest.router(), missing, "outbound|443||api.demo.svc.cluster.local")
                .hasTransportSocket());
    }

    @Test
    void aCaThatCannotBeUsedFailsClosedWithAReason() {
        // No such ConfigMap, a ConfigMap without ca.crt, and a reference of another kind: each names a CA no proxy
        // is ever sent, so the cluster's handshakes fail rather than trust any certificate.
        Map<String, String> cases = Map.of(
                "{}", "Certificate reference invalid: ConfigMap demo/api-ca not found",
                "noCa", "Certificate reference invalid: no ca.crt key in the ConfigMap",
                "secret", "Certificate reference invalid: unsupported reference kind: Secret");
        cases.forEach((kind, warning) -> {
            Map<String, TlsCredential> credentials = kind.equals("noCa") ? Map.of("configmap://demo/api-ca",
                    new TlsCredential("configmap://demo/api-ca", null, null, null)) : Map.of();
            String validation = kind.equals("secret")
                    ? "{caCertificateRefs: [{group: \"\", kind: Secret, name: api-ca}], hostname: api.example.com}"
                    : WITH_CA;
            MeshSnapshot s = snapshot(policy("api-tls", API, validation), credentials);
            assertEquals(List.of("BackendTLSPolicy demo/api-tls for Service demo/api: " + warning), s.warnings());
            UpstreamTlsContext tls = tls(cluster(GeneratorGoldenTest.router(), s, "outbound|80||api.demo.svc.cluster.local"));
            String ca = tls.getCommonTlsContext().getCombinedValidationContext().getValidationContextSdsSecretConfig()
                    .getName();
            assertEquals(GatewayApiBackendTls.INVALID + "-cacert", ca);
            assertTrue(SecretGenerator.generate(GeneratorGoldenTest.router(), s, Set.of(ca)).isEmpty());
        });
    }

    @Test
    void theServicesOwnDestinationRuleKeepsItsPolicyAndGetsTheTls() {
        String rule = """
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: api, namespace: demo}
                spec:
                  host: api
                  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
                """;
        MeshSnapshot s = snapshot(rule + policy("api-tls", API, WITH_CA), CA_CONFIG_MAP);
        Cluster c = cluster(GeneratorGoldenTest.router(), s, "outbound|80||api.demo.svc.cluster.local");
        assertEquals(Cluster.LbPolicy.LEAST_REQUEST, c.getLbPolicy());
        assertEquals("api.example.com", tls(c).getSni());

        // A rule with its own tls keeps it, and the snapshot says the policy's is not used.
        MeshSnapshot own = snapshot(rule.replace("{loadBalancer: {simple: LEAST_REQUEST}}",
                "{tls: {mode: SIMPLE, sni: own.example.com}}") + policy("api-tls", API, WITH_CA), CA_CONFIG_MAP);
        assertEquals("own.example.com", tls(cluster(GeneratorGoldenTest.router(), own,
                "outbound|80||api.demo.svc.cluster.local")).getSni());
        assertTrue(own.warnings().contains("BackendTLSPolicy for api.demo.svc.cluster.local: DestinationRule demo/api"
                + " sets its own tls for the host, which is kept"), own.warnings().toString());
    }

    @Test
    void theOldestPolicyForAServiceWins() {
        String older = policy("older", API, WITH_CA).replace("metadata: {name: older, namespace: demo}",
                "metadata: {name: older, namespace: demo, creationTimestamp: \"2026-01-01T00:00:00Z\"}");
        String newer = policy("newer", API, WITH_CA.replace("api.example.com", "new.example.com")).replace(
                "metadata: {name: newer, namespace: demo}",
                "metadata: {name: newer, namespace: demo, creationTimestamp: \"2026-02-01T00:00:00Z\"}");
        MeshSnapshot s = snapshot(newer + older, CA_CONFIG_MAP);
        assertEquals("api.example.com", tls(cluster(GeneratorGoldenTest.router(), s,
                "outbound|80||api.demo.svc.cluster.local")).getSni());
    }
}
