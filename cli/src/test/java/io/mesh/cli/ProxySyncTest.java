package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * meshctl proxy-status PROXY, on the local demo's gateway as captured (pilot's /debug/config_dump for it and the
 * gateway's admin /config_dump, the same files as ProxyConfigTablesTest): equal, then with what a NACK or a late push
 * leaves behind.
 */
class ProxySyncTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode read(String file) throws Exception {
        return JSON.readTree(Files.readString(Path.of("src/test/resources/captured", file)));
    }

    private static JsonNode accepted(JsonNode served) throws Exception {
        return ProxyConfig.fromAdmin(read("gateway-admin-config_dump.json"), served.path("proxyID").asText(), "ROUTER");
    }

    @Test
    void whatTheGatewayAcceptedIsWhatPilotServesIt() throws Exception {
        JsonNode served = read("pilot-config_dump-gateway.json");
        ProxySync.Result result = ProxySync.compare(served, accepted(served));
        assertTrue(result.match(), result.lines().toString());
        assertEquals(List.of("Clusters Match (2)", "Listeners Match (1)", "Routes Match (1)", "Endpoints Match (2)"),
                result.lines());
    }

    @Test
    void aChangedAMissingAndAnExtraResourceAreNamed() throws Exception {
        JsonNode served = read("pilot-config_dump-gateway.json").deepCopy();
        JsonNode accepted = accepted(served).deepCopy();
        // pilot moved on: its first cluster changed and it serves a new one; the proxy still holds an old listener.
        ObjectNode changed = (ObjectNode) served.path("clusters").get(0);
        changed.put("connectTimeout", "9s");
        ((ArrayNode) served.path("clusters")).addObject().put("name", "outbound|80||new.demo.svc.cluster.local");
        ((ArrayNode) accepted.path("listeners")).addObject().put("name", "0.0.0.0_9999");
        ProxySync.Result result = ProxySync.compare(served, accepted);
        assertFalse(result.match());
        assertEquals("Clusters Don't Match: served by pilot, not in the proxy: [outbound|80||new.demo.svc.cluster.local];"
                + " different: [" + changed.path("name").asText() + "]", result.lines().get(0));
        assertEquals("Listeners Don't Match: in the proxy, not served by pilot: [0.0.0.0_9999]", result.lines().get(1));
        assertEquals("Routes Match (1)", result.lines().get(2));
    }
}
