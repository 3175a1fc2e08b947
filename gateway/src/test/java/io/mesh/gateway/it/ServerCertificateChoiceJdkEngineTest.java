package io.mesh.gateway.it;

import java.util.Map;

/** {@link ServerCertificateChoice} with the JDK's TLS engine. */
class ServerCertificateChoiceJdkEngineTest extends ServerCertificateChoice {
    @Override
    Map<String, String> engineSettings() {
        return Map.of("mesh.gateway.tls-engine", "jdk");
    }
}
