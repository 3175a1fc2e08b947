package io.mesh.gateway.it;

import java.util.Map;

/** {@link ServerCertificateChoice} with the default TLS engine (BoringSSL through netty-tcnative). */
class ServerCertificateChoiceTest extends ServerCertificateChoice {
    @Override
    Map<String, String> engineSettings() {
        return Map.of();
    }
}
