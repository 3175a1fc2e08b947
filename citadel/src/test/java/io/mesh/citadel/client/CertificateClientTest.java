package io.mesh.citadel.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.citadel.TestKeys;
import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.CertificateIssuerTestSupport;
import io.mesh.citadel.ca.SpiffeId;
import io.mesh.citadel.ca.TtlPolicy;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CertificateClientTest {

    static CertifiedKey issued(Instant now, long ttlSeconds) throws Exception {
        return issued(now, ttlSeconds, TtlPolicy.ISTIO);
    }

    static CertifiedKey issued(Instant now, long ttlSeconds, TtlPolicy ttls) throws Exception {
        CertificateIssuer issuer = new CertificateIssuer(CertificateIssuerTestSupport.selfSigned(), ttls,
                Clock.fixed(now, ZoneOffset.UTC));
        KeyPair key = TestKeys.ec("secp256r1");
        return new CertifiedKey(key.getPrivate(), issuer.issue(key.getPublic(), new SpiffeId("cluster.local", "a", "b"), ttlSeconds).chain());
    }

    @Test
    void renewalIsDueAtHalfTheCertificatesLifePlusAtMostFivePercentJitter() throws Exception {
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        CertifiedKey key = issued(now, 24 * 3600);
        // The life ahead of it when it arrived: citadel's backdated notBefore does not count.
        assertTrue(key.notBefore().isBefore(now), "citadel backdates notBefore");
        Duration life = Duration.ofHours(24);

        assertEquals(now.plus(Duration.ofHours(12)), CertificateClient.renewalTime(key, now, 0));
        assertEquals(now.plus(Duration.ofHours(12)).plus(life.multipliedBy(5).dividedBy(100)),
                CertificateClient.renewalTime(key, now, 1));
        // Arriving later (a slow answer) leaves less life, so renewal comes sooner after arrival.
        Instant late = now.plus(Duration.ofHours(2));
        assertEquals(late.plus(Duration.ofHours(11)), CertificateClient.renewalTime(key, late, 0));
    }

    @Test
    void aCertificateShorterThanTwiceTheBackdateIsRenewedAtHalfItsLifeNotAtOnce() throws Exception {
        // 2 minutes, notBefore 5 minutes back: notBefore..notAfter's half lies 1.5 minutes in the past, which made
        // every renewal due at once (hundreds of certificates a second per sidecar).
        Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
        CertifiedKey key = issued(now, 120, new TtlPolicy(Duration.ofMinutes(2), Duration.ofMinutes(1), Duration.ofDays(1)));
        assertEquals(now.plus(Duration.ofMinutes(2)), key.notAfter());

        assertEquals(now.plus(Duration.ofMinutes(1)), CertificateClient.renewalTime(key, now, 0));
        assertEquals(now.plus(Duration.ofSeconds(66)), CertificateClient.renewalTime(key, now, 1));
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

        String alias = manager.chooseEngineClientAlias(new String[] {"EC"}, null, null);
        assertEquals("current:" + key.leaf().getSerialNumber().toString(16), alias);
        assertEquals(1, manager.getCertificateChain(alias).length);
        assertEquals(key.leaf(), manager.getCertificateChain(alias)[0]);
        assertEquals(key.leaf(), manager.getCertificateChain("current")[0]);
        assertEquals(null, new RotatingKeyManager(Optional::empty).chooseEngineClientAlias(new String[] {"EC"}, null, null));
    }

    @Test
    void aRotationBetweenChoosingTheAliasAndReadingTheChainAndKeyKeepsThemAPair() throws Exception {
        // A TLS stack chooses an alias, then reads its chain and its key in separate calls; a rotation in between
        // used to pair the new chain with the old key (or the reverse), a handshake the peer fails.
        CertifiedKey first = issued(Instant.now(), 3600);
        CertifiedKey second = issued(Instant.now(), 3600);
        java.util.concurrent.atomic.AtomicReference<CertifiedKey> current = new java.util.concurrent.atomic.AtomicReference<>(first);
        RotatingKeyManager manager = new RotatingKeyManager(() -> Optional.of(current.get()));

        String alias = manager.chooseEngineServerAlias("EC", null, null);
        current.set(second);
        X509Certificate[] chain = manager.getCertificateChain(alias);
        java.security.PrivateKey key = manager.getPrivateKey(alias);

        assertEquals(first.leaf(), chain[0]);
        assertEquals(first.key(), key);
        // The next handshake gets the new certificate, under an alias of its own.
        String next = manager.chooseEngineServerAlias("EC", null, null);
        assertTrue(!next.equals(alias), next);
        assertEquals(second.leaf(), manager.getCertificateChain(next)[0]);
        assertEquals(second.key(), manager.getPrivateKey(next));
        assertEquals(null, manager.getPrivateKey("current:0"), "an alias never chosen names nothing");
    }
}
