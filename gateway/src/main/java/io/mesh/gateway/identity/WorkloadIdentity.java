package io.mesh.gateway.identity;

import io.mesh.citadel.client.BundleTrustManager;
import io.mesh.citadel.client.CertificateClient;
import io.mesh.citadel.client.CertificateClientException;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.common.concurrent.DaemonThreads;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.jboss.logging.Logger;

/**
 * The proxy's own workload identity, issued and kept current by citadel: an in-memory key, its certificate chain
 * (a SPIFFE ID such as {@code spiffe://cluster.local/ns/demo/sa/web}) and the mesh's roots. It is what Istio's
 * SDS secrets {@code default} (own certificate) and {@code ROOTCA} (validation) stand for, and what the proxy
 * presents to pilot on its TLS port.
 *
 * <p>{@link #keyManager()} / {@link #keyCertOptions()} and {@link #trustManager()} / {@link #trustOptions()}
 * read the current certificate and roots at each handshake: a rotation is used by the next handshake, and
 * connections already open keep theirs. TLS sessions cached under the previous certificate are invalidated at
 * each rotation, so a new connection does not resume into the old identity. They fit server and client TLS
 * alike (Vert.x, Netty, gRPC, the JDK).
 * {@link #ready()} completes with the first certificate. Until then the key manager presents nothing.
 *
 * <p>The first certificate is asked for at {@link #start()} and retried with backoff until citadel answers;
 * renewals (at half life) are {@link CertificateClient}'s.
 */
public final class WorkloadIdentity implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(WorkloadIdentity.class);
    private static final int URI_SAN = 6;

    private final String caAddress;
    private final String trustDomain;
    private final RootsFile rootsFile;
    private final ScheduledExecutorService thread;
    private final CertificateClient client;
    private final BundleTrustManager meshTrust;
    private final SessionTracker sessions = new SessionTracker();
    private final TrackingKeyManager keyManager;
    private final Promise<Void> ready = Promise.promise();
    private volatile Duration backoff = Duration.ofMillis(500);
    private volatile boolean closed;

    /**
     * @param caAddress citadel's gRPC {@code host:port} (TLS); its serving certificate must name that host
     * @param tokenFile the bearer token sent with each request (a projected ServiceAccount token or a local
     *     bootstrap token); empty or missing means none
     * @param rootCertFile PEM roots: they verify citadel's TLS and are the mesh's roots ({@code ROOTCA}), re-read
     *     when the file changes
     * @param trustDomain the SPIFFE trust domain the issued identity must belong to
     */
    public WorkloadIdentity(String caAddress, Optional<Path> tokenFile, Path rootCertFile, String trustDomain) {
        this(caAddress, tokenFile, rootCertFile, trustDomain, Duration.ofHours(24));
    }

    /** As above, asking citadel for certificates of {@code ttl} (citadel clamps it to its own bounds). */
    public WorkloadIdentity(String caAddress, Optional<Path> tokenFile, Path rootCertFile, String trustDomain, Duration ttl) {
        this.caAddress = caAddress;
        this.trustDomain = trustDomain;
        this.rootsFile = new RootsFile(rootCertFile);
        this.thread = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("workload-identity"));
        CertificateClient.Builder b = CertificateClient.builder(caAddress).roots(rootsFile::roots).scheduler(thread).ttl(ttl);
        tokenFile.ifPresent(b::tokenFile);
        this.client = b.build();
        this.meshTrust = new BundleTrustManager(this::meshRoots);
        this.keyManager = new TrackingKeyManager(client.keyManager(), sessions);
        client.onRotation(k -> sessions.invalidateAll());
        client.onRotation(k -> LOG.infof("workload certificate %s for %s issued by %s", k, spiffeIdOf(k).orElse("?"),
                caAddress));
    }

    /** Asks citadel for the first certificate (in the background, retried until it answers) and keeps it current. */
    public WorkloadIdentity start() {
        thread.execute(this::firstFetch);
        return this;
    }

    private void firstFetch() {
        if (closed) {
            return;
        }
        try {
            CertifiedKey first = client.start();
            String id = spiffeIdOf(first).orElseThrow(() -> new CertificateClientException(
                    "citadel at " + caAddress + " issued a certificate without a SPIFFE ID", null));
            if (!id.startsWith("spiffe://" + trustDomain + "/")) {
                // Keep it current anyway (citadel decides), but say clearly that peers will not match it.
                LOG.errorf("citadel at %s issued %s, outside the configured trust domain %s (mesh.gateway.trust-domain)",
                        caAddress, id, trustDomain);
            }
            LOG.infof("workload identity %s ready (%s)", id, first);
            ready.tryComplete();
        } catch (CertificateClientException | RuntimeException e) {
            if (closed) {
                return;
            }
            Duration wait = backoff;
            backoff = wait.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30) : wait.multipliedBy(2);
            LOG.warnf("no workload certificate from citadel at %s yet (%s); retrying in %d ms", caAddress, e.getMessage(),
                    wait.toMillis());
            if (!closed) {
                thread.schedule(this::firstFetch, wait.toMillis() / 2 + ThreadLocalRandom.current().nextLong(wait.toMillis() / 2 + 1),
                        TimeUnit.MILLISECONDS);
            }
        }
    }

    /** Completes once the first certificate is loaded. */
    public Future<Void> ready() {
        return ready.future();
    }

    public boolean isReady() {
        return ready.future().succeeded();
    }

    /** The current key and chain (leaf first), once issued. */
    public Optional<CertifiedKey> current() {
        return client.current();
    }

    /** This proxy's SPIFFE ID (the leaf's URI SAN), once issued. */
    public Optional<String> spiffeId() {
        return current().flatMap(WorkloadIdentity::spiffeIdOf);
    }

    public String trustDomain() {
        return trustDomain;
    }

    /** Runs after each issuance (first and renewals), on the identity's thread. */
    public void onRotation(Consumer<CertifiedKey> listener) {
        client.onRotation(listener);
    }

    /** Presents the current key and chain at each handshake (server or client side). */
    public X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    /** {@link #keyManager()} for Vert.x servers and clients. */
    public KeyCertOptions keyCertOptions() {
        return KeyCertOptions.wrap(keyManager);
    }

    /**
     * Trusts chains that end at the mesh's roots (the root-cert file, plus the root citadel returned with the
     * current chain). No name check: callers add the SPIFFE ID check they need.
     */
    public X509ExtendedTrustManager trustManager() {
        return meshTrust;
    }

    /** {@link #trustManager()} for Vert.x. */
    public TrustOptions trustOptions() {
        return TrustOptions.wrap(meshTrust);
    }

    /** The mesh roots now: the root-cert file's, and the self-signed end of the issued chain if it is not among them. */
    public List<X509Certificate> meshRoots() {
        List<X509Certificate> roots = new ArrayList<>(rootsFile.roots());
        current().ifPresent(k -> {
            X509Certificate last = k.chain().get(k.chain().size() - 1);
            if (k.chain().size() > 1 && last.getSubjectX500Principal().equals(last.getIssuerX500Principal())
                    && !roots.contains(last)) {
                roots.add(last);
            }
        });
        return roots;
    }

    /** The first URI SAN starting with {@code spiffe://} of a certificate. */
    public static Optional<String> spiffeIdOf(X509Certificate cert) {
        try {
            var sans = cert.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if ((Integer) san.get(0) == URI_SAN && String.valueOf(san.get(1)).startsWith("spiffe://")) {
                        return Optional.of(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static Optional<String> spiffeIdOf(CertifiedKey k) {
        return spiffeIdOf(k.leaf());
    }

    @Override
    public void close() {
        closed = true;
        client.close();
        thread.shutdownNow();
        ready.tryFail("closed");
    }

    /** PEM roots from a file, parsed again only when its modification time or size changes. */
    private static final class RootsFile {
        private record Seen(FileTime modified, long size, List<X509Certificate> roots) {
        }

        private final Path file;
        private volatile Seen seen;

        RootsFile(Path file) {
            this.file = file;
        }

        List<X509Certificate> roots() {
            try {
                FileTime modified = Files.getLastModifiedTime(file);
                long size = Files.size(file);
                Seen s = seen;
                if (s != null && s.modified().equals(modified) && s.size() == size) {
                    return s.roots();
                }
                List<X509Certificate> out = new ArrayList<>();
                try (InputStream in = Files.newInputStream(file)) {
                    for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                        out.add((X509Certificate) c);
                    }
                }
                if (out.isEmpty()) {
                    throw new IllegalStateException("the root-cert file " + file + " holds no PEM certificate");
                }
                seen = new Seen(modified, size, List.copyOf(out));
                return seen.roots();
            } catch (IOException | GeneralSecurityException e) {
                Seen s = seen;
                if (s != null) {
                    return s.roots();   // keep the last good roots while the file is being replaced
                }
                throw new IllegalStateException("cannot read the mesh roots from " + file + ": " + e.getMessage(), e);
            }
        }
    }
}
