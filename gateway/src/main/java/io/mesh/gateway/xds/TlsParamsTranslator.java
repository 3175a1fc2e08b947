package io.mesh.gateway.xds;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol;
import io.mesh.gateway.tls.ServerTlsParams;
import io.netty.handler.ssl.CipherSuiteConverter;
import io.netty.handler.ssl.OpenSsl;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLContext;

/**
 * A downstream TLS context's {@code tls_params} → {@link ServerTlsParams}, as Envoy reads them on a server: versions
 * TLS_AUTO meaning TLSv1_2 (minimum) and TLSv1_3 (maximum); cipher_suites in OpenSSL's names, for TLS 1.0 to 1.2 only.
 * Like Envoy, a cipher suite the TLS library does not know is rejected, never skipped; so are what the engines here
 * cannot serve (TLS below 1.2, which the JDK disables) and the fields not applied (ecdh_curves, signature_algorithms).
 * A chain with no tls_params (or an empty one) gets null: the engine's defaults, at no cost.
 */
final class TlsParamsTranslator {

    private static final List<TlsProtocol> ORDER = List.of(TlsProtocol.TLSv1_0, TlsProtocol.TLSv1_1,
            TlsProtocol.TLSv1_2, TlsProtocol.TLSv1_3);
    /** The suites the engines here serve: the JDK's enabled ones (the JDK serves some TCP listeners whatever the engine). */
    private static final Set<String> JDK_SUITES = jdkSuites(false);
    /** The suites the JDK knows, enabled or not. */
    private static final Set<String> JDK_KNOWN = jdkSuites(true);

    private TlsParamsTranslator() {
    }

    static ServerTlsParams translate(TlsParameters p, String where) throws ConfigRejected {
        if (p.equals(TlsParameters.getDefaultInstance())) {
            return null;
        }
        if (p.getEcdhCurvesCount() > 0 || p.getSignatureAlgorithmsCount() > 0) {
            throw new ConfigRejected(where + ": tls_params ecdh_curves and signature_algorithms are not served (the"
                    + " engine's defaults apply); only the protocol versions and cipher_suites are");
        }
        TlsProtocol min = p.getTlsMinimumProtocolVersion() == TlsProtocol.TLS_AUTO ? TlsProtocol.TLSv1_2
                : p.getTlsMinimumProtocolVersion();
        TlsProtocol max = p.getTlsMaximumProtocolVersion() == TlsProtocol.TLS_AUTO ? TlsProtocol.TLSv1_3
                : p.getTlsMaximumProtocolVersion();
        for (var v : List.of(min, max)) {
            if (!ORDER.contains(v)) {
                throw new ConfigRejected(where + ": tls_params: unknown TLS version " + v);
            }
        }
        String field = min.getNumber() < TlsProtocol.TLSv1_2_VALUE ? "tls_minimum_protocol_version"
                : max.getNumber() < TlsProtocol.TLSv1_2_VALUE ? "tls_maximum_protocol_version" : null;
        if (field != null) {
            throw new ConfigRejected(where + ": tls_params " + field + " " + (field.contains("minimum") ? min : max)
                    + ": TLS below 1.2 is not served (the JDK's TLS disables it); TLSv1_2 and TLSv1_3 are");
        }
        if (min.getNumber() > max.getNumber()) {
            throw new ConfigRejected(where + ": tls_params tls_minimum_protocol_version " + min
                    + " is above tls_maximum_protocol_version " + max + ": no version is left to serve");
        }
        List<String> protocols = new ArrayList<>();
        for (TlsProtocol v : ORDER.subList(ORDER.indexOf(min), ORDER.indexOf(max) + 1)) {
            protocols.add(v == TlsProtocol.TLSv1_3 ? "TLSv1.3" : "TLSv1.2");
        }
        Set<String> suites = new LinkedHashSet<>();
        for (String name : p.getCipherSuitesList()) {
            // The conversion is by the name's parts, so a name is known when an engine here has the suite.
            String java = name.startsWith("TLS_") ? null : CipherSuiteConverter.toJava(name, "TLS");
            if (java == null || (!JDK_KNOWN.contains(java)
                    && !(OpenSsl.isAvailable() && OpenSsl.isCipherSuiteAvailable(name)))) {
                throw new ConfigRejected(where + ": tls_params cipher_suites: unknown cipher suite \"" + name
                        + "\" (OpenSSL's names, such as ECDHE-RSA-AES128-GCM-SHA256; no cipher-string syntax)");
            }
            if (!JDK_SUITES.contains(java) || (OpenSsl.isAvailable() && !OpenSsl.isCipherSuiteAvailable(name))) {
                throw new ConfigRejected(where + ": tls_params cipher_suites: \"" + name + "\" (" + java + ") is not"
                        + " served by this proxy's TLS engines");
            }
            suites.add(java);
        }
        if (!suites.isEmpty()) {
            suites.addAll(ServerTlsParams.TLS13_SUITES);
        }
        return new ServerTlsParams(protocols, List.copyOf(suites));
    }

    private static Set<String> jdkSuites(boolean supported) {
        try {
            SSLContext jdk = SSLContext.getDefault();
            return Set.of((supported ? jdk.getSupportedSSLParameters() : jdk.getDefaultSSLParameters()).getCipherSuites());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no default TLS context", e);
        }
    }
}
