package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;

/** The header-count limit of the Vert.x path (router fallback and every sidecar request) counts lines, not names. */
class HeaderLimitTest {

    @Test
    void everyHeaderLineCountsRepeatedNamesToo() {
        MultiMap h = MultiMap.caseInsensitiveMultiMap();
        for (int i = 0; i < 100; i++) {
            h.add("x-same", "v" + i);
        }
        assertFalse(ListenerServer.tooManyHeaders(h, 100), "100 lines at a limit of 100");
        h.add("X-Same", "one more");
        assertTrue(ListenerServer.tooManyHeaders(h, 100), "101 lines of one name exceed 100");
        assertFalse(ListenerServer.tooManyHeaders(MultiMap.caseInsensitiveMultiMap(), 0));
    }
}
