package io.mesh.injector.tls;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.PemKeyCertOptions;
import java.time.Instant;

/**
 * The webhook's TLS identity at one moment: its key and certificate chain (PEM), and the bundle that
 * verifies it, which goes into the webhook configuration's {@code caBundle}. The bundle may hold more than
 * one CA while a rotation is in progress, so that callers with the old or the new bundle both succeed.
 * Immutable. The private key is never logged.
 */
public record ServingCertificate(String privateKeyPem, String certificateChainPem, String trustBundlePem,
        Instant notAfter, Instant renewAt) {

    /** Replace it after two thirds of the time from issue to expiry. */
    public static Instant renewAt(Instant issued, Instant notAfter) {
        return issued.plusMillis((notAfter.toEpochMilli() - issued.toEpochMilli()) * 2 / 3);
    }

    public PemKeyCertOptions keyCertOptions() {
        return new PemKeyCertOptions().addKeyValue(Buffer.buffer(privateKeyPem))
                .addCertValue(Buffer.buffer(certificateChainPem));
    }

    @Override
    public String toString() {
        return "ServingCertificate[notAfter=" + notAfter + ", renewAt=" + renewAt + "]";
    }
}
