package io.mesh.injector.tls;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CertificateRotationTest {

    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void certificateIsReplacedBeforeItExpiresAndItsBundleIsPublishedFirst() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        SelfSignedCertificateSource source = new SelfSignedCertificateSource(List.of("localhost"), Duration.ofMillis(900),
                Clock.systemUTC());
        CertificateRotation rotation = new CertificateRotation(vertx, source, Clock.systemUTC(),
                List.of(bundle -> events.add("publish " + bundle.hashCode())),
                certificate -> {
                    events.add("serve " + certificate.trustBundlePem().hashCode());
                    return Future.succeededFuture();
                });
        ServingCertificate first = rotation.first();
        rotation.schedule();
        await().atMost(Duration.ofSeconds(10)).until(() -> events.size() >= 3);
        rotation.close();

        assertEquals("publish " + first.trustBundlePem().hashCode(), events.get(0));
        assertTrue(events.get(1).startsWith("publish "), events.toString());
        assertEquals(events.get(1).replace("publish", "serve"), events.get(2), "a bundle is published before it is served");
        assertTrue(rotation.current() != first);
    }

    @Test
    void bundleVerifiesTheLeafAndStillTrustsThePreviousCa() throws Exception {
        SelfSignedCertificateSource source = new SelfSignedCertificateSource(
                List.of("istio-sidecar-injector.istio-system.svc", "localhost"), Duration.ofHours(24), Clock.systemUTC());
        ServingCertificate first = source.issue();
        ServingCertificate second = source.issue();

        List<X509Certificate> firstCas = certificates(first.trustBundlePem());
        List<X509Certificate> secondCas = certificates(second.trustBundlePem());
        assertEquals(1, firstCas.size());
        assertEquals(2, secondCas.size());
        assertEquals(firstCas.get(0), secondCas.get(1), "the previous CA stays in the bundle through a rotation");

        X509Certificate leaf = certificates(second.certificateChainPem()).get(0);
        PKIXParameters parameters = new PKIXParameters(secondCas.stream().map(ca -> new TrustAnchor(ca, null)).collect(Collectors.toSet()));
        parameters.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), parameters);
        Set<String> names = leaf.getSubjectAlternativeNames().stream().map(n -> n.get(1).toString()).collect(Collectors.toSet());
        assertTrue(names.containsAll(Set.of("istio-sidecar-injector.istio-system.svc", "localhost", "127.0.0.1")), names.toString());
        assertTrue(second.renewAt().isBefore(second.notAfter()));
        assertTrue(second.privateKeyPem().startsWith("-----BEGIN PRIVATE KEY-----"));
        assertTrue(!second.toString().contains("PRIVATE"), "toString never shows the key");
    }

    @SuppressWarnings("unchecked")
    private static List<X509Certificate> certificates(String pem) throws Exception {
        return (List<X509Certificate>) (List<?>) List.copyOf(CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))));
    }
}
