package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * The metadata exchange's values: this proxy's metadata in Istio's shape, read back as the peer's workload; a peer that
 * leaves fields out or sends what is not a base64 Struct is unknown, never an error.
 */
class PeerMetadataTest {

    static final OwnWorkload RATINGS = new OwnWorkload("ratings-v1", "bookinfo", "ratings", "v1", "ratings", "v1");

    @Test
    void ownMetadataCarriesIstiosFieldsAndReadsBackAsTheSameWorkload() throws Exception {
        Struct m = PeerMetadata.metadata(RATINGS, "ratings-v1-abc", "Kubernetes",
                "kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/ratings-v1");
        assertEquals("ratings-v1-abc", m.getFieldsOrThrow("NAME").getStringValue());
        assertEquals("bookinfo", m.getFieldsOrThrow("NAMESPACE").getStringValue());
        assertEquals("ratings-v1", m.getFieldsOrThrow("WORKLOAD_NAME").getStringValue());
        assertEquals("Kubernetes", m.getFieldsOrThrow("CLUSTER_ID").getStringValue());
        assertEquals("kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/ratings-v1",
                m.getFieldsOrThrow("OWNER").getStringValue());
        assertEquals(false, PeerMetadata.metadata(RATINGS, "ratings-v1-abc", "Kubernetes", "").containsFields("OWNER"),
                "no OWNER when the node has none");
        Struct labels = m.getFieldsOrThrow("LABELS").getStructValue();
        assertEquals("ratings", labels.getFieldsOrThrow("service.istio.io/canonical-name").getStringValue());
        assertEquals("v1", labels.getFieldsOrThrow("service.istio.io/canonical-revision").getStringValue());

        PeerMetadata mx = new PeerMetadata("sidecar~10.0.0.1~ratings-v1-abc.bookinfo~bookinfo.svc.cluster.local", m);
        assertEquals(Base64.getEncoder().encodeToString(m.toByteArray()), mx.value());
        assertEquals("x-envoy-peer-metadata-id: sidecar~10.0.0.1~ratings-v1-abc.bookinfo~bookinfo.svc.cluster.local\r\n",
                new String(mx.idLine(), java.nio.charset.StandardCharsets.ISO_8859_1));
        PeerWorkload read = mx.peer(mx.value());
        assertEquals(new PeerWorkload("ratings-v1", "bookinfo", "ratings", "v1", "ratings", "v1", "Kubernetes"), read);
        assertSame(read, mx.peer(mx.value()), "a known value is not decoded again");
    }

    @Test
    void missingFieldsAreUnknownAndTheRevisionLatestAndUnpaddedBase64IsRead() {
        PeerMetadata mx = new PeerMetadata("id", Struct.getDefaultInstance());
        String onlyNamespace = Base64.getEncoder().withoutPadding().encodeToString(Struct.newBuilder()
                .putFields("NAMESPACE", Value.newBuilder().setStringValue("shop").build())
                .putFields("WORKLOAD_NAME", Value.newBuilder().setNumberValue(7).build()).build().toByteArray());
        assertEquals(new PeerWorkload("unknown", "shop", "unknown", "unknown", "unknown", "latest", "unknown"),
                mx.peer(onlyNamespace));
    }

    @Test
    void whatIsNotABase64StructIsNoPeer() {
        PeerMetadata mx = new PeerMetadata("id", Struct.getDefaultInstance());
        assertNull(mx.peer(null));
        assertNull(mx.peer(""));
        assertNull(mx.peer("%%% not base64"));
        assertNull(mx.peer(Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, 0x01, 0x02})));
    }
}
