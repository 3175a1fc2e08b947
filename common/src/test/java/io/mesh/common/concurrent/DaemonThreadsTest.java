package io.mesh.common.concurrent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {
    @Test
    void namedThreadsAreDaemonsWithTheRoleAsTheirName() {
        ThreadFactory f = DaemonThreads.named("pilot-crd-check");
        Thread a = f.newThread(() -> { });
        Thread b = f.newThread(() -> { });
        assertTrue(a.isDaemon() && b.isDaemon());
        assertEquals(List.of("pilot-crd-check", "pilot-crd-check"), List.of(a.getName(), b.getName()));
    }

    @Test
    void numberedThreadsCountFromOnePerFactory() {
        ThreadFactory f = DaemonThreads.numbered("citadel-ca");
        assertEquals(List.of("citadel-ca-1", "citadel-ca-2"), List.of(f.newThread(() -> { }).getName(),
                f.newThread(() -> { }).getName()));
        assertEquals("citadel-ca-1", DaemonThreads.numbered("citadel-ca").newThread(() -> { }).getName());
        assertTrue(f.newThread(() -> { }).isDaemon());
    }
}
