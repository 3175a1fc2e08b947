package io.mesh.gateway.it;

import java.util.Map;

/** {@link TlsTermination} with {@code mesh.gateway.tls-engine=jdk}: the JDK's SSLEngine. */
class TlsJdkEngineTest extends TlsTermination {

    @Override
    Map<String, String> engineSettings() {
        return Map.of("mesh.gateway.tls-engine", "jdk");
    }

    @Override
    String expectedEngine() {
        return "jdk";
    }
}
