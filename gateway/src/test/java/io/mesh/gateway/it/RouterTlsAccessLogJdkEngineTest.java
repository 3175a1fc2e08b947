package io.mesh.gateway.it;

import java.util.Map;

/** {@link RouterTlsAccessLog} with the JDK's TLS engine. */
class RouterTlsAccessLogJdkEngineTest extends RouterTlsAccessLog {
    @Override
    Map<String, String> engineSettings() {
        return Map.of("mesh.gateway.tls-engine", "jdk");
    }
}
