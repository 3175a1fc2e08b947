package io.mesh.pilot.registry;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.mesh.config.KubernetesGateway;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Whether a live object holds what the gateway deployment controller applies: as the API server returns it (defaults,
 * status, its own metadata, others' labels, ports or containers added) it does; a field pilot applies changed, a list
 * item of pilot's gone, a list of values changed, an owner reference changed do not.
 */
class OwnedFieldsTest {
    private static final GatewayDeploymentTemplate.Settings SETTINGS = new GatewayDeploymentTemplate.Settings(
            "mesh/gateway:test", "istio-pilot.istio-system.svc:15010");

    private static List<HasMetadata> rendered() {
        KubernetesGateway gateway = new KubernetesGateway("demo", "edge", "istio", List.of(), List.of(
                new KubernetesGateway.Listener("http", null, 80, "HTTP", null, null, null, List.of()),
                new KubernetesGateway.Listener("https", null, 443, "HTTPS", null, null, null, List.of())),
                java.time.Instant.EPOCH);
        return GatewayDeploymentTemplate.render(gateway, new GatewayInfrastructure("uid-1", Map.of("team", "a"),
                Map.of("example.com/note", "n"), null, "ClusterIP"), SETTINGS);
    }

    private static <T extends HasMetadata> T copy(T object) {
        @SuppressWarnings("unchecked")
        Class<T> type = (Class<T>) object.getClass();
        return io.fabric8.kubernetes.client.utils.Serialization.unmarshal(
                io.fabric8.kubernetes.client.utils.Serialization.asJson(object), type);
    }

    @Test
    void anObjectAsTheApiServerReturnsItHoldsWhatWasApplied() {
        for (HasMetadata wanted : rendered()) {
            assertTrue(OwnedFields.held(wanted, copy(wanted)), wanted.getKind());
        }
        Service wanted = (Service) rendered().get(1);
        Service live = new ServiceBuilder(copy(wanted)).editMetadata().withResourceVersion("42").withUid("u")
                .withGeneration(3L).withCreationTimestamp("2026-01-01T00:00:00Z").addToLabels("by-hand", "x")
                .addToAnnotations("other", "y").endMetadata()
                .editSpec().withClusterIP("10.0.0.7").withClusterIPs("10.0.0.7").withSessionAffinity("None")
                .editFirstPort().withProtocol("TCP").withNewTargetPort(15021).endPort().endSpec()
                .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("203.0.113.7").endIngress()
                .endLoadBalancer().endStatus().build();
        assertTrue(OwnedFields.held(wanted, live), "defaults, status, server metadata and others' labels");
        assertTrue(OwnedFields.held(wanted, new ServiceBuilder(live).editSpec().addNewPort().withName("extra")
                .withPort(8080).endPort().endSpec().build()), "a port of someone else's (an apply leaves it)");

        Deployment deployment = (Deployment) rendered().get(2);
        Deployment rolledOut = new DeploymentBuilder(copy(deployment)).editMetadata().withResourceVersion("9")
                .endMetadata().editSpec().withProgressDeadlineSeconds(600).editTemplate().editSpec()
                .withDnsPolicy("ClusterFirst").editFirstContainer().withTerminationMessagePath("/dev/termination-log")
                .endContainer().endSpec().endTemplate().endSpec()
                .withNewStatus().withReplicas(1).withReadyReplicas(1).withObservedGeneration(1L).endStatus().build();
        assertTrue(OwnedFields.held(deployment, rolledOut), "a rollout's status and the API server's defaults");
        assertTrue(OwnedFields.held(deployment, new DeploymentBuilder(rolledOut).editSpec().editTemplate().editSpec()
                .addNewContainer().withName("injected").withImage("other:1").endContainer().endSpec().endTemplate()
                .endSpec().build()), "another manager's container");
    }

    @Test
    void aChangeOfWhatPilotAppliesIsSeen() {
        Service wanted = (Service) rendered().get(1);
        assertFalse(OwnedFields.held(wanted, new ServiceBuilder(copy(wanted)).editSpec().withType("NodePort").endSpec()
                .build()), "a field edited by hand");
        assertFalse(OwnedFields.held(wanted, new ServiceBuilder(copy(wanted)).editMetadata()
                .addToLabels("team", "b").endMetadata().build()), "a label of pilot's changed");
        assertFalse(OwnedFields.held(wanted, new ServiceBuilder(copy(wanted)).editMetadata()
                .removeFromAnnotations("example.com/note").endMetadata().build()), "an annotation of pilot's removed");
        assertFalse(OwnedFields.held(wanted, new ServiceBuilder(copy(wanted)).editSpec().removeFromPorts(
                wanted.getSpec().getPorts().get(1)).endSpec().build()), "a port of pilot's gone");
        assertFalse(OwnedFields.held(wanted, new ServiceBuilder(copy(wanted)).editMetadata().editFirstOwnerReference()
                .withUid("uid-2").endOwnerReference().endMetadata().build()), "another owner (the Gateway re-created)");
        Deployment deployment = (Deployment) rendered().get(2);
        assertFalse(OwnedFields.held(deployment, new DeploymentBuilder(copy(deployment)).editSpec().withReplicas(3)
                .endSpec().build()), "replicas scaled by hand");
        assertFalse(OwnedFields.held(deployment, new DeploymentBuilder(copy(deployment)).editSpec().editTemplate()
                .editSpec().editFirstContainer().withImage("other:1").endContainer().endSpec().endTemplate().endSpec()
                .build()), "another image");
        assertFalse(OwnedFields.held(deployment, new DeploymentBuilder(copy(deployment)).editSpec().editTemplate()
                .editSpec().editFirstContainer().editSecurityContext().editCapabilities().withDrop("NET_RAW")
                .endCapabilities().endSecurityContext().endContainer().endSpec().endTemplate().endSpec().build()),
                "a list of values is replaced whole");
    }
}
