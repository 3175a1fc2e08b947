package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** meshctl proxy-config log --level: istioctl's two forms, as the query Envoy's /logging takes. */
class ProxyLoggingTest {

    @Test
    void oneLevelSetsEveryLoggerAndAListSetsSome() {
        assertEquals("", ProxyLogging.query(null));
        assertEquals("?level=debug", ProxyLogging.query(" debug "));
        assertEquals("?paths=router%3Adebug%2Cconfig%3Awarning", ProxyLogging.query("router:debug,config:warning"));
    }
}
