package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The traceparent and x-request-id text built byte by byte, checked against the formats they must have. */
class TracingTest {

    @Test
    void aRequestIdIsARandomVersion4UuidInUuidsOwnText() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            String id = Tracing.requestId().toString();
            UUID u = UUID.fromString(id);
            assertEquals(id, u.toString(), "the same text UUID.toString() writes");
            assertEquals(4, u.version());
            assertEquals(2, u.variant());
            seen.add(id);
        }
        assertEquals(2000, seen.size(), "no repeats");
    }

    @Test
    void aChildKeepsTheTraceIdAndFlagsWithANewParentId() {
        String in = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        String child = Tracing.childOf(in, 0).toString();
        assertEquals(55, child.length());
        assertTrue(child.startsWith("00-0af7651916cd43dd8448eb211c80319c-"), child);
        assertTrue(child.endsWith("-01"), child);
        assertTrue(child.substring(36, 52).matches("[0-9a-f]{16}"), child);
        assertNotEquals(in, child);
    }

    @Test
    void withoutValidContextANewTraceIsSampledAsConfigured() {
        for (String bad : new String[] {null, "", "garbage", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0"}) {
            String always = Tracing.childOf(bad, 100).toString();
            assertTrue(always.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01"), always);
            String never = Tracing.childOf(bad, 0).toString();
            assertTrue(never.matches("00-[0-9a-f]{32}-[0-9a-f]{16}-00"), never);
        }
    }
}
