package io.mesh.pilot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import org.junit.jupiter.api.Test;

/** A proxy's version, as /debug/syncz shows it and meshctl version counts it: ISTIO_VERSION, else the user agent's. */
class ProxyVersionTest {

    private static final String ID = "sidecar~10.0.0.1~web-1.demo~demo.svc.cluster.local";

    @Test
    void istioVersionInTheMetadataIsTheProxysVersion() {
        Node node = Node.newBuilder().setId(ID).setUserAgentVersion("1.0").setMetadata(Struct.newBuilder()
                .putFields("ISTIO_VERSION", Value.newBuilder().setStringValue("1.24.2").build())).build();
        assertEquals("1.24.2", ProxyInfo.from(node).version());
    }

    @Test
    void withoutItTheUserAgentVersionElseNothing() {
        assertEquals("0.1.0", ProxyInfo.from(Node.newBuilder().setId(ID).setUserAgentVersion("0.1.0").build()).version());
        assertEquals("", ProxyInfo.from(Node.newBuilder().setId(ID).build()).version());
    }
}
