package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** meshctl proxy-config PROXY: a full id, a unique prefix, or the pod name, among pilot's connected proxies. */
class ProxyNamesTest {

    private static final String GW = "router~10.0.0.9~istio-ingressgateway-7d9f.istio-system~istio-system.svc.cluster.local";
    private static final String WEB = "sidecar~10.0.1.4~web-5c6b.demo~demo.svc.cluster.local";
    private static final String WEB2 = "sidecar~10.0.1.5~web-8f2a.demo~demo.svc.cluster.local";

    private static JsonNode syncz() throws Exception {
        return new ObjectMapper().readTree("[{\"proxy\":\"" + GW + "\"},{\"proxy\":\"" + WEB + "\"},{\"proxy\":\"" + WEB2 + "\"}]");
    }

    @Test
    void aFullIdAPodNameOrAUniquePrefixFindsTheProxy() throws Exception {
        assertEquals(GW, ProxyNames.resolve(syncz(), GW));
        assertEquals(GW, ProxyNames.resolve(syncz(), "istio-ingressgateway-7d9f"));
        assertEquals(GW, ProxyNames.resolve(syncz(), "istio-ingressgateway-7d9f.istio-system"));
        assertEquals(GW, ProxyNames.resolve(syncz(), "router~"));
        assertEquals(WEB2, ProxyNames.resolve(syncz(), "sidecar~10.0.1.5"));
    }

    @Test
    void anAmbiguousPrefixListsTheCandidates() {
        ProxyNames.NotFound e = assertThrows(ProxyNames.NotFound.class, () -> ProxyNames.resolve(syncz(), "sidecar~"));
        assertEquals("\"sidecar~\" matches 2 proxies; give one of:\n  " + WEB + "\n  " + WEB2, e.getMessage());
    }

    @Test
    void anUnknownNameListsWhatIsConnected() throws Exception {
        ProxyNames.NotFound e = assertThrows(ProxyNames.NotFound.class, () -> ProxyNames.resolve(syncz(), "ratings"));
        assertTrue(e.getMessage().startsWith("no connected proxy is \"ratings\"; connected:\n  " + GW), e.getMessage());
        e = assertThrows(ProxyNames.NotFound.class, () -> ProxyNames.resolve(new ObjectMapper().readTree("[]"), "gw"));
        assertEquals("no proxy is connected to pilot, so there is no \"gw\"", e.getMessage());
    }
}
