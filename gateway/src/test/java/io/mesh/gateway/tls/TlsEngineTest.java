package io.mesh.gateway.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import org.junit.jupiter.api.Test;

class TlsEngineTest {

    @Test
    void opensslLoadsOnThisPlatformAndJdkIsTheJdks() {
        assertInstanceOf(OpenSSLEngineOptions.class, TlsEngine.resolve("openssl"));
        assertInstanceOf(OpenSSLEngineOptions.class, TlsEngine.resolve(" OpenSSL "));
        assertInstanceOf(JdkSSLEngineOptions.class, TlsEngine.resolve("jdk"));
    }

    @Test
    void anUnknownEngineIsRefusedWithTheSettingsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TlsEngine.resolve("boringssl"));
        assertEquals("mesh.gateway.tls-engine must be openssl or jdk, not 'boringssl'", e.getMessage());
    }
}
