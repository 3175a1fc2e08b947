package io.mesh.gateway.it;

import java.util.Map;

/** {@link TlsParamsTermination} with the default TLS engine (BoringSSL). */
class TlsParamsTest extends TlsParamsTermination {

    @Override
    Map<String, String> engineSettings() {
        return Map.of();
    }
}
