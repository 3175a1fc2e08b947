package io.mesh.injector.tls;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jboss.logging.Logger;

/**
 * Keeps the webhook's certificate fresh. Each round, on a worker thread: issue a certificate, publish its
 * trust bundle (to the webhook configuration, or a local file), and only then serve it, so the API server
 * already trusts what it is about to see. The next round is at two thirds of the lifetime; a failed round
 * is retried after a tenth of the remaining lifetime (at least a second); the certificate in use stays.
 */
public final class CertificateRotation implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(CertificateRotation.class);

    private final Vertx vertx;
    private final ServingCertificateSource source;
    private final Clock clock;
    private final List<Consumer<String>> bundlePublishers;
    private final Function<ServingCertificate, Future<Void>> serve;
    private final AtomicReference<ServingCertificate> current = new AtomicReference<>();
    private volatile long timerId = -1;
    private volatile boolean closed;

    /**
     * @param bundlePublishers called with the trust bundle (PEM) before the certificate is served; may block
     * @param serve puts a certificate into use
     */
    public CertificateRotation(Vertx vertx, ServingCertificateSource source, Clock clock,
            List<Consumer<String>> bundlePublishers, Function<ServingCertificate, Future<Void>> serve) {
        this.vertx = vertx;
        this.source = source;
        this.clock = clock;
        this.bundlePublishers = List.copyOf(bundlePublishers);
        this.serve = serve;
    }

    /** Issues and publishes the first certificate (blocking); the caller serves it, then calls {@link #schedule()}. */
    public ServingCertificate first() throws Exception {
        ServingCertificate certificate = source.issue();
        bundlePublishers.forEach(p -> p.accept(certificate.trustBundlePem()));
        current.set(certificate);
        return certificate;
    }

    public ServingCertificate current() {
        return current.get();
    }

    public void schedule() {
        ServingCertificate certificate = current.get();
        long delay = Math.max(1, Duration.between(clock.instant(), certificate.renewAt()).toMillis());
        scheduleIn(delay);
    }

    private void scheduleIn(long delayMillis) {
        if (closed) {
            return;
        }
        timerId = vertx.setTimer(delayMillis, id -> rotate());
    }

    /** Rotates now (e.g. when the CA changed) instead of at the scheduled time. */
    public Future<ServingCertificate> rotateNow() {
        vertx.cancelTimer(timerId);
        return rotate();
    }

    private Future<ServingCertificate> rotate() {
        return vertx.executeBlocking(() -> {
            ServingCertificate next = source.issue();
            bundlePublishers.forEach(p -> p.accept(next.trustBundlePem()));
            return next;
        }, false).compose(next -> serve.apply(next).map(next)).andThen(result -> {
            if (result.succeeded()) {
                current.set(result.result());
                LOG.infof("webhook certificate rotated; valid until %s", result.result().notAfter());
                schedule();
            } else {
                ServingCertificate inUse = current.get();
                long remaining = Duration.between(clock.instant(), inUse.notAfter()).toMillis();
                LOG.errorf("rotating the webhook certificate failed (the current one stays in use): %s",
                        result.cause().toString());
                scheduleIn(Math.max(1000, remaining / 10));
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        vertx.cancelTimer(timerId);
    }
}
