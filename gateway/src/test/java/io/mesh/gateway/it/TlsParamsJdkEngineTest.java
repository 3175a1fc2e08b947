package io.mesh.gateway.it;

import java.util.Map;

/** {@link TlsParamsTermination} with the JDK's SSLEngine. */
class TlsParamsJdkEngineTest extends TlsParamsTermination {

    @Override
    Map<String, String> engineSettings() {
        return Map.of("mesh.gateway.tls-engine", "jdk");
    }
}
