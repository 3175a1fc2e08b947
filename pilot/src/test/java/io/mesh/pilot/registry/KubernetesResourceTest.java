package io.mesh.pilot.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.mesh.config.RawResource;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An Istio resource from the Kubernetes API as pilot reads it: its spec, and the creation time Istio orders by. */
class KubernetesResourceTest {

    static GenericKubernetesResource resource(String created) {
        GenericKubernetesResource r = new GenericKubernetesResource();
        r.setApiVersion("networking.istio.io/v1");
        r.setKind("VirtualService");
        r.setMetadata(new ObjectMetaBuilder().withName("shop").withNamespace("demo").withCreationTimestamp(created).build());
        r.setAdditionalProperty("spec", Map.of("hosts", java.util.List.of("shop.example.com")));
        return r;
    }

    @Test
    void theCreationTimestampIsKeptForOrdering() {
        RawResource raw = KubernetesRegistry.raw(resource("2025-03-01T10:00:00Z"));
        assertEquals(Instant.parse("2025-03-01T10:00:00Z"), raw.created());
        assertEquals("shop.example.com", raw.spec().path("hosts").path(0).asText());
        assertEquals("demo", raw.namespace());
    }

    @Test
    void aMissingOrMalformedTimestampIsNoTime() {
        assertNull(KubernetesRegistry.raw(resource(null)).created());
        assertNull(KubernetesRegistry.raw(resource("yesterday")).created());
    }
}
