package io.mesh.citadel.client;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.mesh.proto.ca.IstioCertificateRequest;
import io.mesh.proto.ca.IstioCertificateResponse;
import io.mesh.proto.ca.IstioCertificateServiceGrpc;
import io.netty.handler.ssl.SslContext;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The data plane's side of the CA: keeps one workload certificate current. Plain Java (grpc-java, BouncyCastle),
 * no Quarkus, so the gateway and tests can both use it.
 *
 * <p>The private key is generated in memory for each request and never leaves the process: only the CSR is sent.
 * The first request authenticates with the bearer token; renewals present the current certificate (mutual TLS),
 * and the token too if there is one. Renewal happens at half of the certificate's life, plus a little jitter so
 * that a fleet started together does not renew together; a failure is retried with exponential backoff and
 * jitter. {@link #keyManager()} and {@link #trustManager()} expose the current key, chain and roots to any TLS
 * stack that takes JSSE managers (Netty, Vert.x, the JDK), and pick up each rotation at the next handshake.
 *
 * <p>Thread-safe. The current certificate is swapped atomically; listeners run on the renewal thread.
 */
public final class CertificateClient implements AutoCloseable {

    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofMinutes(1);

    private final String target;
    private final Supplier<List<X509Certificate>> roots;
    private final Supplier<Optional<String>> token;
    private final Optional<String> identity;
    private final Duration ttl;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final boolean ownsScheduler;
    private final AtomicReference<CertifiedKey> current = new AtomicReference<>();
    private final List<Consumer<CertifiedKey>> listeners = new CopyOnWriteArrayList<>();
    private final RotatingKeyManager keyManager = new RotatingKeyManager(this::current);
    private final BundleTrustManager trustManager;
    private volatile Duration backoff = FIRST_BACKOFF;
    private volatile boolean closed;

    private CertificateClient(Builder b) {
        this.target = b.target;
        this.roots = b.roots;
        this.token = b.token;
        this.identity = Optional.ofNullable(b.identity);
        this.ttl = b.ttl;
        this.clock = b.clock;
        this.ownsScheduler = b.scheduler == null;
        this.scheduler = ownsScheduler ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "certificate-client");
            t.setDaemon(true);
            return t;
        }) : b.scheduler;
        this.trustManager = new BundleTrustManager(roots);
    }

    /** @param target the CA's {@code host:port}; its serving certificate must name that host */
    public static Builder builder(String target) {
        return new Builder(target);
    }

    /** Fetches a certificate now (blocking) and keeps it current from then on. */
    public CertifiedKey start() throws CertificateClientException {
        CertifiedKey first = fetch();
        scheduleRenewal(first);
        return first;
    }

    /** One request: new key, CSR, CreateCertificate, and the result becomes current. Blocking. */
    public CertifiedKey fetch() throws CertificateClientException {
        var keys = CsrBuilder.newKeyPair();
        String csr = CsrBuilder.csr(keys, identity);
        Metadata headers = new Metadata();
        Optional<String> bearer = token.get();
        bearer.ifPresent(t -> headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + t));
        ManagedChannel channel = channel();
        try {
            IstioCertificateResponse response = IstioCertificateServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .withDeadlineAfter(30, TimeUnit.SECONDS)
                    .createCertificate(IstioCertificateRequest.newBuilder().setCsr(csr)
                            .setValidityDuration(ttl.toSeconds()).build());
            CertifiedKey issued = new CertifiedKey(keys.getPrivate(), parse(response.getCertChainList()));
            if (!issued.leaf().getPublicKey().equals(keys.getPublic())) {
                throw new CertificateClientException("the CA returned a certificate for another key", null);
            }
            current.set(issued);
            listeners.forEach(l -> l.accept(issued));
            return issued;
        } catch (StatusRuntimeException e) {
            throw new CertificateClientException("CreateCertificate failed: " + e.getStatus(), e);
        } finally {
            channel.shutdownNow();
        }
    }

    public Optional<CertifiedKey> current() {
        return Optional.ofNullable(current.get());
    }

    /** Runs after every successful issuance, on the renewal thread. */
    public void onRotation(Consumer<CertifiedKey> listener) {
        listeners.add(listener);
    }

    public X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    public X509ExtendedTrustManager trustManager() {
        return trustManager;
    }

    /**
     * When the certificate should be renewed: half of the life it had ahead of it when it arrived ({@code received}),
     * plus up to 5% of that as jitter. Not half of notBefore..notAfter: a CA backdates notBefore for clock skew
     * (citadel by 5 minutes), and for a certificate shorter than twice that, that half lies in the past, so every
     * renewal was due at once and the client renewed in a loop (Istio's agent also counts from the fetch).
     */
    static Instant renewalTime(CertifiedKey key, Instant received, double jitter) {
        Instant start = key.notBefore().isAfter(received) ? key.notBefore() : received;
        Duration life = Duration.between(start, key.notAfter());
        return start.plus(life.dividedBy(2)).plusMillis((long) (life.toMillis() * 0.05 * jitter));
    }

    /** The next wait after a failure: doubled each time up to {@link #MAX_BACKOFF}, with full jitter. */
    static Duration nextBackoff(Duration previous) {
        Duration doubled = previous.multipliedBy(2);
        return doubled.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : doubled;
    }

    private void scheduleRenewal(CertifiedKey key) {
        Instant now = clock.instant();
        Instant at = renewalTime(key, now, ThreadLocalRandom.current().nextDouble());
        schedule(Duration.between(now, at));
    }

    private void schedule(Duration delay) {
        if (closed) {
            return;
        }
        scheduler.schedule(this::renew, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
    }

    private void renew() {
        try {
            CertifiedKey renewed = fetch();
            backoff = FIRST_BACKOFF;
            scheduleRenewal(renewed);
        } catch (CertificateClientException | RuntimeException e) {
            Duration wait = backoff;
            backoff = nextBackoff(wait);
            schedule(Duration.ofMillis((long) (wait.toMillis() * (0.5 + ThreadLocalRandom.current().nextDouble() / 2))));
        }
    }

    private ManagedChannel channel() throws CertificateClientException {
        try {
            SslContext ssl = GrpcSslContexts.forClient().keyManager(keyManager).trustManager(trustManager).build();
            return NettyChannelBuilder.forTarget(target).sslContext(ssl).build();
        } catch (SSLException e) {
            throw new CertificateClientException("cannot build the TLS context", e);
        }
    }

    private static List<X509Certificate> parse(List<String> pems) throws CertificateClientException {
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            List<X509Certificate> chain = new ArrayList<>();
            for (String pem : pems) {
                for (var c : factory.generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
                    chain.add((X509Certificate) c);
                }
            }
            return chain;
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw new CertificateClientException("the CA returned an unreadable chain", e);
        }
    }

    @Override
    public void close() {
        closed = true;
        if (ownsScheduler) {
            scheduler.shutdownNow();
        }
    }

    /** How to reach and trust the CA, and what to ask for. */
    public static final class Builder {
        private final String target;
        private Supplier<List<X509Certificate>> roots = List::of;
        private Supplier<Optional<String>> token = Optional::empty;
        private String identity;
        private Duration ttl = Duration.ofHours(24);
        private Clock clock = Clock.systemUTC();
        private ScheduledExecutorService scheduler;

        private Builder(String target) {
            this.target = target;
        }

        /** The roots that verify the CA's serving certificate (root-cert.pem, or ConfigMap istio-ca-root-cert). */
        public Builder roots(Supplier<List<X509Certificate>> roots) {
            this.roots = roots;
            return this;
        }

        /** Trust the roots in a PEM file (root-cert.pem), re-read at each use so a rotated bundle is picked up. */
        public Builder rootsFile(java.nio.file.Path pem) {
            this.roots = () -> {
                try (var in = java.nio.file.Files.newInputStream(pem)) {
                    List<X509Certificate> out = new ArrayList<>();
                    for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        out.add((X509Certificate) c);
                    }
                    return out;
                } catch (java.io.IOException | GeneralSecurityException e) {
                    throw new IllegalStateException("cannot read the CA roots from " + pem, e);
                }
            };
            return this;
        }

        /**
         * Read the bearer token from a file at each request: a projected ServiceAccount token (which the kubelet
         * rotates) or a local bootstrap token. A missing file means no token.
         */
        public Builder tokenFile(java.nio.file.Path file) {
            this.token = () -> {
                try {
                    String value = java.nio.file.Files.readString(file).strip();
                    return value.isEmpty() ? Optional.empty() : Optional.of(value);
                } catch (java.io.IOException e) {
                    return Optional.empty();
                }
            };
            return this;
        }

        /** The bearer token: a ServiceAccount JWT or a local bootstrap token, read at each request. */
        public Builder token(Supplier<Optional<String>> token) {
            this.token = token;
            return this;
        }

        /** The SPIFFE ID to put in the CSR; without it the CSR has no SAN and the CA fills in the proven one. */
        public Builder identity(String spiffeId) {
            this.identity = spiffeId;
            return this;
        }

        public Builder ttl(Duration ttl) {
            this.ttl = ttl;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        public Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        public CertificateClient build() {
            return new CertificateClient(this);
        }
    }
}
