package io.mesh.citadel.ca;

import static io.mesh.citadel.Texts.assertContains;
import static io.mesh.citadel.Texts.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.Openssl;
import io.mesh.citadel.TestKeys;
import io.mesh.citadel.store.PluginCaFolder;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CertificateIssuerTest {

    static final SpiffeId WEB = new SpiffeId("cluster.local", "default", "web");

    @TempDir
    Path dir;

    static IssuerMaterial selfSigned(KeyAlgorithm algorithm, Instant now) throws Exception {
        KeyPair keys = algorithm.generate();
        X509Certificate root = CertificateTemplates.selfSignedRoot(keys, "cluster.local", Duration.ofDays(3650), now,
                new SerialNumbers().next());
        return IssuerMaterial.checked(keys.getPrivate(), List.of(root), now);
    }

    @ParameterizedTest
    @EnumSource(KeyAlgorithm.class)
    void selfSignedRootHasCaExtensionsAndKeyIdentifiers(KeyAlgorithm algorithm) throws Exception {
        IssuerMaterial root = selfSigned(algorithm, Instant.now());
        Files.writeString(dir.resolve("root.pem"), Pem.encode(root.root()));

        String text = Openssl.ok(dir, "x509", "-in", "root.pem", "-noout", "-text");

        assertContains(text, "CA:TRUE", "Certificate Sign, CRL Sign", "Subject Key Identifier",
                "Authority Key Identifier", algorithm == KeyAlgorithm.EC_P256 ? "prime256v1" : "(2048 bit)");
        Openssl.ok(dir, "verify", "-CAfile", "root.pem", "root.pem");
    }

    @Test
    void leafFromAPluginIntermediateVerifiesWithOpensslAndCarriesTheSpiffeIdAndBothUsages() throws Exception {
        Path plugin = Openssl.pluginCa(dir.resolve("cacerts"), "plug-in");
        IssuerMaterial material = new PluginCaFolder(plugin).load(Instant.now());
        CertificateIssuer issuer = new CertificateIssuer(material, TtlPolicy.ISTIO, Clock.systemUTC());

        var issued = issuer.issue(TestKeys.ec("secp256r1").getPublic(), WEB, 0);

        assertEquals(3, issued.chain().size(), "leaf, intermediate, root");
        assertEquals(material.root(), issued.chain().get(2), "the chain ends with the root");
        Files.writeString(dir.resolve("leaf.pem"), Pem.encode(issued.leaf()));
        Files.writeString(dir.resolve("chain.pem"), Pem.encode(issued.chain().subList(1, 2)));
        Openssl.ok(dir, "verify", "-CAfile", "cacerts/root-cert.pem", "-untrusted", "chain.pem", "-purpose", "sslserver", "leaf.pem");
        Openssl.ok(dir, "verify", "-CAfile", "cacerts/root-cert.pem", "-untrusted", "chain.pem", "-purpose", "sslclient", "leaf.pem");
        String text = Openssl.ok(dir, "x509", "-in", "leaf.pem", "-noout", "-text");
        assertContains(text, "URI:spiffe://cluster.local/ns/default/sa/web",
                "TLS Web Server Authentication, TLS Web Client Authentication",
                "Digital Signature, Key Encipherment", "CA:FALSE", "Authority Key Identifier");
    }

    @ParameterizedTest
    @EnumSource(KeyAlgorithm.class)
    void leavesFromEitherRootKindVerifyWithOpensslForEveryAllowedWorkloadKey(KeyAlgorithm rootAlgorithm) throws Exception {
        IssuerMaterial root = selfSigned(rootAlgorithm, Instant.now());
        CertificateIssuer issuer = new CertificateIssuer(root, TtlPolicy.ISTIO, Clock.systemUTC());
        Files.writeString(dir.resolve("root.pem"), Pem.encode(root.root()));

        for (KeyPair workload : List.of(TestKeys.ec("secp256r1"), TestKeys.ec("secp384r1"), TestKeys.rsa(2048))) {
            // The CSR goes through the same check the gRPC path uses, so its key comes from Signatures.PROVIDER.
            var checked = CertificateRequests.check(TestKeys.csr(workload, java.util.Optional.empty()));
            Files.writeString(dir.resolve("leaf.pem"), issuer.issue(checked.publicKey(), WEB, 0).pem().get(0));

            Openssl.ok(dir, "verify", "-CAfile", "root.pem", "-purpose", "sslclient", "leaf.pem");
            assertContains(Openssl.ok(dir, "x509", "-in", "leaf.pem", "-noout", "-text"),
                    rootAlgorithm == KeyAlgorithm.EC_P256 ? "ecdsa-with-SHA256" : "sha256WithRSAEncryption",
                    "URI:spiffe://cluster.local/ns/default/sa/web");
        }
    }

    @Test
    void validityTimesAreUtcTimeThrough2049AndGeneralizedTimeAfter() throws Exception {
        Instant last = Instant.parse("2049-12-31T23:59:59Z");
        Instant first = Instant.parse("2050-01-01T00:00:00Z");

        assertTrue(CertificateTemplates.time(last).toASN1Primitive() instanceof org.bouncycastle.asn1.ASN1UTCTime);
        assertTrue(CertificateTemplates.time(first).toASN1Primitive() instanceof org.bouncycastle.asn1.ASN1GeneralizedTime);
        assertEquals(last, CertificateTemplates.time(last).getDate().toInstant());
        assertEquals(first, CertificateTemplates.time(first).getDate().toInstant());
        assertEquals(Instant.parse("2026-03-04T05:06:07Z"),
                CertificateTemplates.time(Instant.parse("2026-03-04T05:06:07.890Z")).getDate().toInstant(),
                "to the second");
    }

    @Test
    void ttlIsClampedToBetweenOneHourAndNinetyDaysAndDefaultsToOneDay() throws Exception {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        CertificateIssuer issuer = new CertificateIssuer(selfSigned(KeyAlgorithm.EC_P256, now), TtlPolicy.ISTIO,
                Clock.fixed(now, ZoneOffset.UTC));
        var key = TestKeys.ec("secp256r1").getPublic();

        assertEquals(now.plus(Duration.ofHours(24)), issuer.issue(key, WEB, 0).leaf().getNotAfter().toInstant());
        assertEquals(now.plus(Duration.ofHours(1)), issuer.issue(key, WEB, 60).leaf().getNotAfter().toInstant());
        assertEquals(now.plus(Duration.ofDays(90)), issuer.issue(key, WEB, 365L * 86400).leaf().getNotAfter().toInstant());
        assertEquals(now.plus(Duration.ofHours(5)), issuer.issue(key, WEB, 5 * 3600).leaf().getNotAfter().toInstant());
    }

    @Test
    void notBeforeIsBackdatedForClockSkew() throws Exception {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        CertificateIssuer issuer = new CertificateIssuer(selfSigned(KeyAlgorithm.EC_P256, now), TtlPolicy.ISTIO,
                Clock.fixed(now, ZoneOffset.UTC));

        Instant notBefore = issuer.issue(TestKeys.ec("secp256r1").getPublic(), WEB, 0).leaf().getNotBefore().toInstant();

        assertEquals(now.minus(CertificateTemplates.BACKDATE), notBefore);
    }

    @Test
    void serialNumbersAreLongRandomAndNeverRepeat() {
        SerialNumbers serials = new SerialNumbers();
        Set<BigInteger> seen = new HashSet<>();
        for (int i = 0; i < 100_000; i++) {
            BigInteger serial = serials.next();
            assertTrue(serial.signum() > 0);
            assertEquals(127, serial.bitLength());
            assertTrue(seen.add(serial), "serial reused: " + serial);
        }
        // The random part differs between two serials in a row, not just the counter.
        assertNotEquals(serials.next().shiftRight(62), serials.next().shiftRight(62));
    }

    @Test
    void rotationSwapsTheSignerAndKeepsTheOldRootInTheBundle() throws Exception {
        Instant now = Instant.now();
        IssuerMaterial first = selfSigned(KeyAlgorithm.EC_P256, now);
        IssuerMaterial second = selfSigned(KeyAlgorithm.EC_P256, now);
        CertificateIssuer issuer = new CertificateIssuer(first, TtlPolicy.ISTIO, Clock.systemUTC());
        List<List<X509Certificate>> published = new java.util.ArrayList<>();
        issuer.onTrustBundle(published::add);

        issuer.rotate(second);

        assertEquals(List.of(second.root(), first.root()), issuer.trustBundle());
        assertEquals(issuer.trustBundle(), published.get(published.size() - 1));
        var leaf = issuer.issue(TestKeys.ec("secp256r1").getPublic(), WEB, 0).leaf();
        leaf.verify(second.root().getPublicKey());
    }

    @Test
    void leavesNeverOutliveTheirIssuer() throws Exception {
        Instant now = Instant.now();
        KeyPair keys = KeyAlgorithm.EC_P256.generate();
        X509Certificate shortRoot = CertificateTemplates.selfSignedRoot(keys, "cluster.local", Duration.ofHours(2), now,
                BigInteger.TEN);
        CertificateIssuer issuer = new CertificateIssuer(IssuerMaterial.checked(keys.getPrivate(), List.of(shortRoot), now),
                TtlPolicy.ISTIO, Clock.systemUTC());

        var leaf = issuer.issue(TestKeys.ec("secp256r1").getPublic(), WEB, 0).leaf();

        assertEquals(shortRoot.getNotAfter(), leaf.getNotAfter());
    }
}
