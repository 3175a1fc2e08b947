package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** meshctl version's data plane line, from pilot's /debug/syncz entries. */
class VersionCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void proxiesAreCountedByVersionAndThoseThatSendNoneAreUnknown() throws Exception {
        assertEquals("0.1.0 (2 proxies), 0.2.0 (1 proxy), unknown (1 proxy)", VersionCommand.dataPlane(JSON.readTree("""
                [{"proxy": "a", "version": "0.2.0"}, {"proxy": "b", "version": "0.1.0"}, {"proxy": "c", "version": "0.1.0"},
                 {"proxy": "grpc-client", "version": ""}]""")));
        assertEquals("none (no proxy is connected)", VersionCommand.dataPlane(JSON.readTree("[]")));
    }
}
