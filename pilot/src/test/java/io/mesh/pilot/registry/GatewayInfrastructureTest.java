package io.mesh.pilot.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a Gateway's metadata and spec.infrastructure give its deployed objects, as istiod's deployment controller. */
class GatewayInfrastructureTest {
    private static GenericKubernetesResource gateway(String metadataAndSpec) {
        return Serialization.unmarshal("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                """ + metadataAndSpec, GenericKubernetesResource.class);
    }

    @Test
    void withoutInfrastructureTheGatewaysOwnLabelsAndAnnotationsButKubectlsAndIstiodsAreCopied() {
        GatewayInfrastructure infra = GatewayInfrastructure.of(gateway("""
                metadata:
                  name: edge
                  uid: u-1
                  labels: {team: a}
                  annotations:
                    kubectl.kubernetes.io/last-applied-configuration: "{}"
                    gateway.istio.io/service-account: edge-sa
                    gateway.istio.io/name-override: other
                    gateway.istio.io/controller-version: "5"
                    networking.istio.io/service-type: ClusterIP
                    example.com/note: kept
                spec: {gatewayClassName: istio}
                """));
        assertEquals("u-1", infra.uid());
        assertEquals(Map.of("team", "a"), infra.labels());
        assertEquals(Map.of("networking.istio.io/service-type", "ClusterIP", "example.com/note", "kept"),
                infra.annotations());
        assertEquals("edge-sa", infra.serviceAccount());
        assertEquals("ClusterIP", infra.serviceType());
    }

    @Test
    void infrastructureLabelsAndAnnotationsReplaceTheGatewaysOwnEachOnItsOwnWithoutReservedKeys() {
        GatewayInfrastructure infra = GatewayInfrastructure.of(gateway("""
                metadata:
                  name: edge
                  labels: {team: a}
                  annotations: {example.com/note: own}
                spec:
                  gatewayClassName: istio
                  infrastructure:
                    labels: {zone: z1, gateway.networking.k8s.io/reserved: x}
                """));
        assertEquals(Map.of("zone", "z1"), infra.labels());
        assertEquals(Map.of("example.com/note", "own"), infra.annotations(), "no infrastructure annotations: the own");
        assertNull(infra.serviceAccount());
        assertNull(infra.serviceType());

        infra = GatewayInfrastructure.of(gateway("""
                metadata: {name: edge, annotations: {example.com/note: own}}
                spec:
                  gatewayClassName: istio
                  infrastructure: {annotations: {example.com/only: this}}
                """));
        assertEquals(Map.of("example.com/only", "this"), infra.annotations());
        assertEquals(Map.of(), infra.labels());
    }

    @Test
    void infrastructureThatIsNotAMapOfStringsIsAnErrorNamingTheField() {
        IllegalArgumentException notMap = assertThrows(IllegalArgumentException.class, () -> GatewayInfrastructure.of(
                gateway("metadata: {name: edge}\nspec: {infrastructure: {labels: oops}}\n")));
        assertEquals("spec.infrastructure.labels must map names to strings, not oops", notMap.getMessage());
        IllegalArgumentException notString = assertThrows(IllegalArgumentException.class, () -> GatewayInfrastructure.of(
                gateway("metadata: {name: edge}\nspec: {infrastructure: {annotations: {a: {b: c}}}}\n")));
        assertEquals("spec.infrastructure.annotations.a must be a string, not {b=c}", notString.getMessage());
    }
}
