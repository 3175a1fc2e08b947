package io.mesh.pilot.xds;

import io.mesh.citadel.client.CertificateClient;
import io.mesh.citadel.client.CertificateClientException;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.common.concurrent.DaemonThreads;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.jboss.logging.Logger;

/**
 * pilot's own workload certificate for the mTLS xDS port (15012), issued by citadel and kept current by the
 * citadel-client's {@link CertificateClient}: the key stays in memory, renewal happens at half-life, and each
 * handshake presents whatever certificate is current (its {@code RotatingKeyManager}), so a rotation needs no
 * restart. Clients must present a certificate that chains to the mesh root in {@code rootCertFile} (re-read when
 * the bundle changes, so a root rotation is picked up too).
 *
 * <p>citadel may start after pilot (the local runner starts them together; in a cluster the root ConfigMap may not
 * be there yet), so the first certificate is fetched in the background, retried with backoff until citadel answers.
 * Until then the mTLS port accepts connections but completes no handshake.
 */
public final class CitadelCertificate implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CitadelCertificate.class);
    static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    static final Duration MAX_RETRY = Duration.ofSeconds(30);

    private final String address;
    private final String identity;
    private final ScheduledExecutorService scheduler;
    private final CertificateClient client;
    private volatile boolean closed;

    /**
     * @param address    citadel's {@code host:port} (its serving certificate must name the host)
     * @param tokenFile  the bearer token: a projected ServiceAccount token, or a local bootstrap token
     * @param rootCertFile the mesh root bundle (PEM): verifies citadel, and the clients of 15012
     * @param identity   the SPIFFE ID pilot asks for; citadel signs it only if the token proves it
     */
    public CitadelCertificate(String address, Path tokenFile, Path rootCertFile, String identity) {
        this.address = address;
        this.identity = identity;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("pilot-citadel"));
        this.client = CertificateClient.builder(address).rootsFile(rootCertFile).tokenFile(tokenFile)
                .identity(identity).scheduler(scheduler).build();
        client.onRotation(key -> LOG.infof("xDS mTLS certificate from citadel %s: %s, serial %s, valid until %s",
                address, identity, key.leaf().getSerialNumber().toString(16), key.notAfter()));
    }

    /** Starts fetching the first certificate (in the background); renewals follow on their own. */
    public CitadelCertificate start() {
        scheduler.execute(() -> attempt(FIRST_RETRY));
        return this;
    }

    private void attempt(Duration wait) {
        if (closed) {
            return;
        }
        try {
            client.start();
        } catch (CertificateClientException | RuntimeException e) {
            Duration next = wait.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : wait.multipliedBy(2);
            LOG.warnf("no xDS mTLS certificate from citadel %s yet (%s); retrying in %d ms", address, e.getMessage(),
                    wait.toMillis());
            long jittered = (long) (wait.toMillis() * (0.5 + ThreadLocalRandom.current().nextDouble() / 2));
            if (!closed) {
                scheduler.schedule(() -> attempt(next), jittered, TimeUnit.MILLISECONDS);
            }
        }
    }

    /**
     * The server side of 15012: present the current citadel certificate, and require a client certificate that
     * chains to the mesh root.
     */
    public SslContext serverContext() throws SSLException {
        return io.grpc.netty.GrpcSslContexts.configure(io.netty.handler.ssl.SslContextBuilder.forServer(client.keyManager()))
                .trustManager(client.trustManager()).clientAuth(ClientAuth.REQUIRE).build();
    }

    /** The certificate being served, if citadel has issued one. */
    public Optional<CertifiedKey> current() {
        return client.current();
    }

    /** Renews now (what the renewal timer does at half-life); the next handshake presents the new certificate. */
    public CertifiedKey renew() throws CertificateClientException {
        return client.fetch();
    }

    public String identity() {
        return identity;
    }

    @Override
    public void close() {
        closed = true;
        client.close();
        scheduler.shutdownNow();
    }
}
