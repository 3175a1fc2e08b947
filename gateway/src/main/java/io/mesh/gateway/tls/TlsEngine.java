package io.mesh.gateway.tls;

import io.netty.handler.ssl.OpenSsl;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;
import java.util.Locale;
import org.jboss.logging.Logger;

/**
 * The TLS implementation of the data plane's servers and clients ({@code mesh.gateway.tls-engine}):
 * <ul>
 * <li>{@code openssl} (the default): BoringSSL through netty-tcnative, when its native library loads on this
 * platform; otherwise the JDK's, with a warning saying why. It works on Netty's pooled direct buffers and needs
 * a fraction of the JDK engine's CPU and garbage per record (AES-GCM in the JDK allocates per record);</li>
 * <li>{@code jdk}: the JDK's {@code SSLEngine}.</li>
 * </ul>
 * Key and trust managers are the same objects with either engine: the workload key manager is still asked at
 * each handshake, so a rotated certificate is presented to the next connection.
 */
public final class TlsEngine {

    private static final Logger LOG = Logger.getLogger(TlsEngine.class);

    private TlsEngine() {
    }

    /** The engine options for {@code setting} ({@code openssl} or {@code jdk}); an unknown value is an error. */
    public static SSLEngineOptions resolve(String setting) {
        String s = setting == null ? "openssl" : setting.trim().toLowerCase(Locale.ROOT);
        switch (s) {
            case "jdk":
                return new JdkSSLEngineOptions();
            case "openssl":
                if (OpenSsl.isAvailable()) {
                    return new OpenSSLEngineOptions().setSessionCacheEnabled(true);
                }
                LOG.warnf("mesh.gateway.tls-engine=openssl, but netty-tcnative does not load here (%s): using the JDK's TLS,"
                        + " which refuses Istio's mesh SNI (outbound_.PORT_._.HOST is not a host name to it): as a sidecar,"
                        + " mesh mTLS from peers that send it fails its handshake",
                        OpenSsl.unavailabilityCause() == null ? "unknown cause" : OpenSsl.unavailabilityCause().toString());
                return new JdkSSLEngineOptions();
            default:
                throw new IllegalArgumentException("mesh.gateway.tls-engine must be openssl or jdk, not '" + setting + "'");
        }
    }

    /** A short name for logs and the admin endpoint. */
    public static String name(SSLEngineOptions options) {
        return options instanceof OpenSSLEngineOptions ? "openssl (" + OpenSsl.versionString() + ")" : "jdk";
    }
}
