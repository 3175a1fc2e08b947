package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

class XdsStateTest {

    static DiscoveryResponse response(String type, String version, com.google.protobuf.Message... resources) {
        DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder().setTypeUrl(type).setVersionInfo(version).setNonce("n-" + version);
        for (var r : resources) {
            b.addResources(Any.pack(r));
        }
        return b.build();
    }

    static Cluster eds(String name) {
        return Cluster.newBuilder().setName(name).setType(Cluster.DiscoveryType.EDS).build();
    }

    @Test
    void anAcceptedResponseIsAckedWithItsVersionAndSubscribesToWhatItReferences() {
        XdsState s = new XdsState(Node.newBuilder().setId("router~x").build(), StaticBootstrap.EMPTY);
        XdsState.Outcome out = s.onResponse(response(XdsState.CDS, "1", eds("a"), eds("b")));
        assertNull(out.nackDetail());
        DiscoveryRequest ack = out.requests().get(0);
        assertEquals("1", ack.getVersionInfo());
        assertEquals("n-1", ack.getResponseNonce());
        assertFalse(ack.hasErrorDetail());
        DiscoveryRequest eds = out.requests().get(1);
        assertEquals(XdsState.EDS, eds.getTypeUrl());
        assertEquals(List.of("a", "b"), eds.getResourceNamesList());
        assertFalse(out.snapshot().complete());
    }

    @Test
    void aBadResponseIsNackedWithEveryReasonAndTheLastGoodVersionIsKept() {
        XdsState s = new XdsState(Node.getDefaultInstance(), StaticBootstrap.EMPTY);
        s.onResponse(response(XdsState.CDS, "1", eds("a")));
        Cluster bad = Cluster.newBuilder().setName("bad").setClusterType(Cluster.CustomClusterType.newBuilder()
                .setName("envoy.clusters.aggregate")).build();
        Cluster bad2 = eds("bad2").toBuilder().setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED).build();
        XdsState.Outcome out = s.onResponse(response(XdsState.CDS, "2", eds("a"), bad, bad2));
        DiscoveryRequest nack = out.requests().get(0);
        assertTrue(nack.hasErrorDetail());
        assertEquals("1", nack.getVersionInfo());
        assertEquals("n-2", nack.getResponseNonce());
        assertTrue(out.nackDetail().contains("cluster bad: custom cluster types are not supported"), out.nackDetail());
        assertTrue(out.nackDetail().contains("cluster bad2: unsupported lb_policy CLUSTER_PROVIDED"), out.nackDetail());
        assertNull(out.snapshot());
        assertEquals(List.of("a"), List.copyOf(s.snapshot().clusters().keySet()));
    }

    @Test
    void aReconnectResubscribesWithTheLastAcceptedVersions() {
        XdsState s = new XdsState(Node.getDefaultInstance(), StaticBootstrap.EMPTY);
        s.onResponse(response(XdsState.CDS, "7", eds("a")));
        List<DiscoveryRequest> again = s.subscribeAll();
        assertEquals(XdsState.CDS, again.get(0).getTypeUrl());
        assertEquals("7", again.get(0).getVersionInfo());
        assertEquals("", again.get(0).getResponseNonce());
        assertEquals(List.of("a"), again.get(1).getResourceNamesList());
    }
}
