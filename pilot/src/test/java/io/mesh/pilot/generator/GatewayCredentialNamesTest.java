package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.GatewayServerTlsTest.tls;
import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.mesh.config.ConfigKey;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ServiceSource;
import io.mesh.pilot.model.SnapshotBuilder;
import io.mesh.pilot.model.TlsCredential;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * A Gateway server with credentialNames (Istio's RSA and ECDSA certificates for one host) gets every certificate over
 * SDS, in order, and the first one's CA for client certificates, as istiod writes it; MUTUAL servers' pins
 * (verifyCertificateSpki, verifyCertificateHash) go into the validation context beside the subject alt names.
 */
class GatewayCredentialNamesTest {

    static final String SPKI = "2IEpPESU/mmC30tPsnOfbGKdwKdQfN/wZw1QWpjGlmQ=";
    static final String HASH = "df6ff72fe9116521268f6644382ff3e5e62fa3b13ef5c06780d2b23bacc1cebb";

    static final String GATEWAY = """
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 443, name: https-dual, protocol: HTTPS}
                hosts: [shop.example.com]
                tls: {mode: SIMPLE, credentialNames: [shop-rsa, shop-ecdsa]}
              - port: {number: 8443, name: https-partners, protocol: HTTPS}
                hosts: [api.example.com]
                tls:
                  mode: MUTUAL
                  credentialNames: [api-rsa, api-ecdsa]
                  subjectAltNames: [alice.partners.example]
                  verifyCertificateSpki: ["%s"]
                  verifyCertificateHash: ["%s"]
              - port: {number: 9443, name: https-pinned, protocol: HTTPS}
                hosts: [pinned.example.com]
                tls: {mode: OPTIONAL_MUTUAL, credentialName: pinned, verifyCertificateHash: ["%s"]}
            """.formatted(SPKI, HASH, HASH);

    static MeshSnapshot snapshot(Map<String, TlsCredential> credentials) {
        Map<ConfigKey, Object> config = new TreeMap<>();
        for (RawResource raw : YamlDocuments.parse(GATEWAY, "edge.yaml").resources()) {
            ConfigValidator.Result r = ConfigValidator.validate(raw);
            assertEquals(List.of(), r.errors());
            assertEquals(List.of(), r.warnings(), "credentialNames and pins are served: nothing is left out");
            config.put(raw.key(), r.model());
        }
        return SnapshotBuilder.build(1, config, ServiceSource.View.EMPTY, credentials);
    }

    static List<String> certificates(DownstreamTlsContext tls) {
        return tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigsList().stream().map(SdsSecretConfig::getName)
                .toList();
    }

    @Test
    void everyCredentialIsAnSdsCertificateInOrder() {
        DownstreamTlsContext dual = tls(listener(GeneratorGoldenTest.router(), snapshot(Map.of()), "0.0.0.0_443"));
        assertEquals(List.of("kubernetes://shop-rsa", "kubernetes://shop-ecdsa"), certificates(dual));
        assertTrue(!dual.getCommonTlsContext().hasValidationContextSdsSecretConfig()
                && !dual.getCommonTlsContext().hasCombinedValidationContext(), "SIMPLE: no client certificates");
    }

    @Test
    void mutualServersVerifyAgainstTheFirstCredentialsCaWithTheirNamesAndPins() {
        DownstreamTlsContext mutual = tls(listener(GeneratorGoldenTest.router(), snapshot(Map.of()), "0.0.0.0_8443"));
        assertEquals(List.of("kubernetes://api-rsa", "kubernetes://api-ecdsa"), certificates(mutual));
        assertTrue(mutual.getRequireClientCertificate().getValue());
        var combined = mutual.getCommonTlsContext().getCombinedValidationContext();
        assertEquals("kubernetes://api-rsa-cacert", combined.getValidationContextSdsSecretConfig().getName());
        var names = combined.getDefaultValidationContext();
        assertEquals(List.of("alice.partners.example"), names.getMatchSubjectAltNamesList().stream().map(m -> m.getExact())
                .toList());
        assertEquals(List.of(SPKI), names.getVerifyCertificateSpkiList());
        assertEquals(List.of(HASH), names.getVerifyCertificateHashList());

        DownstreamTlsContext pinned = tls(listener(GeneratorGoldenTest.router(), snapshot(Map.of()), "0.0.0.0_9443"));
        var only = pinned.getCommonTlsContext().getCombinedValidationContext();
        assertEquals("kubernetes://pinned-cacert", only.getValidationContextSdsSecretConfig().getName());
        assertEquals(List.of(HASH), only.getDefaultValidationContext().getVerifyCertificateHashList());
        assertEquals(0, only.getDefaultValidationContext().getMatchSubjectAltNamesCount());
    }

    @Test
    void theRouterGetsEveryCredentialsSecretAndTheFirstOnesCa() {
        Map<String, TlsCredential> credentials = Map.of(
                "api-rsa", new TlsCredential("api-rsa", "RSA CERT", "RSA KEY", "CA"),
                "api-ecdsa", new TlsCredential("api-ecdsa", "EC CERT", "EC KEY", null),
                "other", new TlsCredential("other", "OTHER", "OTHER KEY", null));
        List<Secret> secrets = SecretGenerator.generate(GeneratorGoldenTest.router(), snapshot(credentials), Set.of(
                "kubernetes://api-rsa", "kubernetes://api-ecdsa", "kubernetes://api-rsa-cacert", "kubernetes://other"));
        Map<String, Secret> byName = new TreeMap<>();
        secrets.forEach(s -> byName.put(s.getName(), s));
        assertEquals(Set.of("kubernetes://api-rsa", "kubernetes://api-ecdsa", "kubernetes://api-rsa-cacert"),
                byName.keySet(), "a credential no Gateway of the router names is never served");
        assertEquals("EC CERT", byName.get("kubernetes://api-ecdsa").getTlsCertificate().getCertificateChain()
                .getInlineBytes().toStringUtf8());
        assertEquals("CA", byName.get("kubernetes://api-rsa-cacert").getValidationContext().getTrustedCa()
                .getInlineBytes().toStringUtf8());
    }
}
