package io.mesh.gateway.it;

import java.util.Map;

/** {@link RouterTlsAccessLog} with the default TLS engine (BoringSSL through netty-tcnative). */
class RouterTlsAccessLogTest extends RouterTlsAccessLog {
    @Override
    Map<String, String> engineSettings() {
        return Map.of();
    }
}
