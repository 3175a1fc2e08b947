package io.mesh.citadel.store;

import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.IssuerMaterial;
import io.mesh.common.concurrent.DaemonThreads;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Reloads a plug-in CA when its files change. It polls a digest of the files rather than using a file watch,
 * since Kubernetes updates mounted Secrets by swapping a symlink, which inotify-based watches often miss. A new
 * set is used only once it loads and checks out completely (an operator copying four files one by one is
 * mid-change until the last), and then replaces the old by an atomic swap in the issuer; until then the last good
 * issuer keeps signing.
 */
public final class PluginCaWatcher implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(PluginCaWatcher.class);

    private final PluginCaFolder folder;
    private final CertificateIssuer issuer;
    private final Clock clock;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("citadel-plugin-ca-watch"));
    private volatile String loadedFingerprint;
    private volatile String refusedFingerprint;

    public PluginCaWatcher(PluginCaFolder folder, CertificateIssuer issuer, String loadedFingerprint, Clock clock) {
        this.folder = folder;
        this.issuer = issuer;
        this.loadedFingerprint = loadedFingerprint;
        this.clock = clock;
    }

    public PluginCaWatcher start(Duration interval) {
        scheduler.scheduleWithFixedDelay(this::check, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** One poll: reload if the files changed and the new set is valid. */
    void check() {
        try {
            String fingerprint = folder.fingerprint();
            if (fingerprint.equals(loadedFingerprint) || fingerprint.equals(refusedFingerprint)) {
                return;
            }
            IssuerMaterial next;
            try {
                next = folder.load(clock.instant());
            } catch (GeneralSecurityException e) {
                refusedFingerprint = fingerprint;
                LOG.warnf("plug-in CA in %s changed but is not usable (%s); still signing with the previous one",
                        folder.folder(), e.getMessage());
                return;
            }
            issuer.rotate(next);
            loadedFingerprint = fingerprint;
            LOG.infof("plug-in CA reloaded from %s: now signing as %s", folder.folder(),
                    next.certificate().getSubjectX500Principal());
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            LOG.warnf("plug-in CA in %s could not be checked: %s", folder.folder(), e.getClass().getSimpleName());
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}
