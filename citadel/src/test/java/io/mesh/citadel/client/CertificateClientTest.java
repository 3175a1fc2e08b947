package io.mesh.citadel.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.TestKeys;
import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.CertificateIssuerTestSupport;
import io.mesh.citadel.ca.SpiffeId;
import io.mesh.citadel.ca.TtlPolicy;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CertificateClientTest {

    static CertifiedKey issued(Instant now, long ttlSeconds) throws Exception {
        CertificateIssuer issuer = new CertificateIssuer(CertificateIssuerTestSupport.selfSigned(), TtlPolicy.ISTIO,
                Clock.fixed(now, ZoneOffset.UTC));
        KeyPair key = TestKeys.ec("secp256r1");
        return new CertifiedKey(key.getPrivate(), issuer.issue(key.getPublic(), new SpiffeId("cluster.local", "a", "b"), ttlSeconds).chain());
    }

    @Test
    void renewalIsDueAtHalfTheCertificatesLifePlusAtMostFivePercentJitter() throws Exception {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        CertifiedKey key = issued(now, 24 * 3600);
        Duration life = Duration.between(key.notBefore(), key.notAfter());
        Instant half = key.notBefore().plus(life.dividedBy(2));

        assertEquals(half, CertificateClient.renewalTime(key, 0));
        assertEquals(half.plus(life.multipliedBy(5).dividedBy(100)), CertificateClient.renewalTime(key, 1));
    }

    @Test
    void failuresBackOffExponentiallyUpToAMinute() {
        Duration wait = CertificateClient.FIRST_BACKOFF;
        wait = CertificateClient.nextBackoff(wait);
        assertEquals(Duration.ofSeconds(2), wait);
        for (int i = 0; i < 20; i++) {
            wait = CertificateClient.nextBackoff(wait);
        }
        assertEquals(CertificateClient.MAX_BACKOFF, wait);
    }

    @Test
    void csrsCarryTheRequestedIdentityOrNone() throws Exception {
        var keys = CsrBuilder.newKeyPair();

        var named = io.mesh.citadel.ca.CertificateRequests.check(CsrBuilder.csr(keys, Optional.of("spiffe://cluster.local/ns/a/sa/b")));
        var bare = io.mesh.citadel.ca.CertificateRequests.check(CsrBuilder.csr(keys, Optional.empty()));

        assertEquals(java.util.List.of("spiffe://cluster.local/ns/a/sa/b"), named.requestedNames());
        assertTrue(bare.requestedNames().isEmpty());
        assertEquals(keys.getPublic(), bare.publicKey());
    }

    @Test
    void theKeyManagerPresentsTheCurrentChainWithoutTheRoot() throws Exception {
        CertifiedKey key = issued(Instant.now(), 3600);
        RotatingKeyManager manager = new RotatingKeyManager(() -> Optional.of(key));

        assertEquals("current", manager.chooseEngineClientAlias(new String[] {"EC"}, null, null));
        assertEquals(1, manager.getCertificateChain("current").length);
        assertEquals(key.leaf(), manager.getCertificateChain("current")[0]);
        assertEquals(null, new RotatingKeyManager(Optional::empty).chooseEngineClientAlias(new String[] {"EC"}, null, null));
    }
}
