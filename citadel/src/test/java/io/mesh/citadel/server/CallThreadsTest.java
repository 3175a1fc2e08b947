package io.mesh.citadel.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mesh.citadel.TestKeys;
import io.mesh.citadel.auth.CallerAuthenticator;
import io.mesh.citadel.auth.TokenValidator;
import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.CertificateIssuerTestSupport;
import io.mesh.citadel.ca.KeyAlgorithm;
import io.mesh.citadel.ca.SpiffeId;
import io.mesh.citadel.ca.TtlPolicy;
import io.mesh.citadel.client.BundleTrustManager;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.proto.ca.IstioCertificateResponse;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Assertions;

/**
 * Which thread serves a call: calls decided in memory run on the gRPC event loop, and only a call whose token must
 * go to a blocking validator (a TokenReview) moves to the blocking pool, so a stalled validator never holds up the
 * other calls of its connection. Real grpc-java clients over TLS against a real {@link CaGrpcServer}.
 */
class CallThreadsTest {

    /** A validator that remembers which thread asked it, and optionally waits for a latch (a slow API server). */
    static final class RecordingValidator implements TokenValidator {
        final boolean blocking;
        final Map<String, SpiffeId> tokens;
        final CountDownLatch release;
        final CountDownLatch entered = new CountDownLatch(1);
        volatile String thread;

        RecordingValidator(boolean blocking, Map<String, SpiffeId> tokens, CountDownLatch release) {
            this.blocking = blocking;
            this.tokens = tokens;
            this.release = release;
        }

        @Override
        public Optional<SpiffeId> validate(String token) {
            if (!tokens.containsKey(token)) {
                return Optional.empty();
            }
            thread = Thread.currentThread().getName();
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Optional.of(tokens.get(token));
        }

        @Override
        public boolean blocking() {
            return blocking;
        }
    }

    static final SpiffeId LOCAL = new SpiffeId("cluster.local", "bench", "local");
    static final SpiffeId REVIEWED = new SpiffeId("cluster.local", "apps", "reviewed");

    CertificateIssuer issuer;
    CaGrpcServer server;
    CountDownLatch releaseReview = new CountDownLatch(1);
    RecordingValidator inMemory = new RecordingValidator(false, Map.of("local-token", LOCAL), new CountDownLatch(0));
    RecordingValidator review = new RecordingValidator(true, Map.of("review-token", REVIEWED), releaseReview);
    ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        issuer = new CertificateIssuer(CertificateIssuerTestSupport.selfSigned(),
                new TtlPolicy(Duration.ofHours(24), Duration.ofHours(1), Duration.ofDays(90)), Clock.systemUTC());
        var pool = CaGrpcServer.blockingPool(2);
        var authenticator = new CallerAuthenticator(List.of(inMemory, review), "cluster.local");
        var service = new CertificateService(issuer, authenticator, new CaMetrics(new SimpleMeterRegistry(), issuer), pool);
        var serving = new ServingCertificate(issuer, new SpiffeId("cluster.local", "istio-system", "citadel"),
                List.of("localhost"), List.of("127.0.0.1"));
        server = new CaGrpcServer("127.0.0.1", 0, service, serving, new BundleTrustManager(issuer::trustBundle), pool)
                .start();
        channel = CaChannels.open(server.port(), issuer.trustBundle(), Optional.empty());
    }

    @AfterEach
    void stop() throws Exception {
        releaseReview.countDown();
        channel.shutdownNow();
        server.stop();
    }

    @Test
    void anInMemoryTokenIsServedOnTheEventLoop() throws Exception {
        IstioCertificateResponse response = CaChannels.call(channel, Optional.of("local-token"),
                TestKeys.csr(KeyAlgorithm.EC_P256.generate(), Optional.empty()), 3600);

        assertEquals(2, response.getCertChainCount());
        assertFalse(inMemory.thread.startsWith("citadel-ca-"), inMemory.thread);
    }

    @Test
    void aBlockingValidatorRunsOnThePoolAndDoesNotHoldUpTheConnection() throws Exception {
        // The TokenReview call stalls until released...
        CompletableFuture<IstioCertificateResponse> reviewed = CompletableFuture.supplyAsync(() -> {
            try {
                return CaChannels.call(channel, Optional.of("review-token"),
                        TestKeys.csr(KeyAlgorithm.EC_P256.generate(), Optional.empty()), 3600);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertTrue(review.entered.await(20, TimeUnit.SECONDS), "the TokenReview call never reached its validator");

        // ...while a call on the same connection that needs no TokenReview is answered meanwhile.
        IstioCertificateResponse local = CaChannels.call(channel, Optional.of("local-token"),
                TestKeys.csr(KeyAlgorithm.EC_P256.generate(), Optional.empty()), 3600);
        assertEquals(2, local.getCertChainCount());
        assertFalse(reviewed.isDone(), "the TokenReview call finished before it was released");

        releaseReview.countDown();
        IstioCertificateResponse response = reviewed.get(20, TimeUnit.SECONDS);
        assertEquals(2, response.getCertChainCount());
        assertTrue(review.thread.startsWith("citadel-ca-"), review.thread);
        assertTrue(response.getCertChain(0).length() > 0);
    }

    @Test
    void aClientCertificateNeedsNoTokenReview() throws Exception {
        var keys = KeyAlgorithm.EC_P256.generate();
        var chain = issuer.issue(keys.getPublic(), REVIEWED, 3600);
        CertifiedKey clientCert = new CertifiedKey(keys.getPrivate(), chain.chain());
        ManagedChannel withCert = CaChannels.open(server.port(), issuer.trustBundle(), Optional.of(clientCert));
        try {
            // The token would need a review, but the certificate proves the identity first.
            IstioCertificateResponse response = CaChannels.call(withCert, Optional.of("review-token"),
                    TestKeys.csr(KeyAlgorithm.EC_P256.generate(), Optional.empty()), 3600);
            assertEquals(2, response.getCertChainCount());
            assertEquals(null, review.thread, "the blocking validator was asked although a certificate proved the caller");
        } finally {
            withCert.shutdownNow();
        }
    }

    @Test
    void refusalsOnEitherPathKeepTheirStatus() throws Exception {
        String csr = TestKeys.csr(KeyAlgorithm.EC_P256.generate(), Optional.empty());
        releaseReview.countDown();

        StatusRuntimeException unknownToken = Assertions.assertThrows(StatusRuntimeException.class,
                () -> CaChannels.call(channel, Optional.of("nobody's token"), csr, 3600));
        StatusRuntimeException noToken = Assertions.assertThrows(StatusRuntimeException.class,
                () -> CaChannels.call(channel, Optional.empty(), csr, 3600));
        StatusRuntimeException badCsr = Assertions.assertThrows(StatusRuntimeException.class,
                () -> CaChannels.call(channel, Optional.of("review-token"), "not a CSR", 3600));

        assertEquals(Status.Code.UNAUTHENTICATED, unknownToken.getStatus().getCode());
        assertEquals(Status.Code.UNAUTHENTICATED, noToken.getStatus().getCode());
        assertEquals(Status.Code.INVALID_ARGUMENT, badCsr.getStatus().getCode());
    }
}
