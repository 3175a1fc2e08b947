package io.mesh.gateway.it;

import java.util.Map;

/** {@link TlsTermination} with the default TLS engine, which on this platform must be BoringSSL (netty-tcnative). */
class TlsTest extends TlsTermination {

    @Override
    Map<String, String> engineSettings() {
        return Map.of();
    }

    @Override
    String expectedEngine() {
        return "openssl";
    }
}
