package io.mesh.e2e.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.mesh.e2e.Component;
import io.mesh.e2e.ProjectLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The manifests of {@code deploy/kubernetes}, rendered by the real kubectl and checked object by object. */
class KubernetesManifestsTest {

    /** Objects that a component creates at run time rather than the manifests. */
    private static final Set<String> CREATED_BY_COMPONENTS = Set.of(
            "Secret/istio-ca-secret",          // citadel: its root, created if absent
            "ConfigMap/istio-ca-root-cert");   // citadel: published in every namespace

    /** Deployment name -> the component whose defaults its ports must match. */
    private static final Map<String, Component> COMPONENT_OF = Map.of(
            "istio-pilot", Component.PILOT,
            "istio-citadel", Component.CITADEL,
            "istio-sidecar-injector", Component.INJECTOR,
            "istio-telemetry", Component.TELEMETRY,
            "istio-ingressgateway", Component.GATEWAY);

    private static RenderedManifests manifests;

    @BeforeAll
    static void render() throws Exception {
        manifests = RenderedManifests.mesh();
    }

    @Test
    void everyDocumentParsesIntoFabric8sTypedModel() {
        assertEquals(List.of(), manifests.untyped().stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList(),
                "documents that Fabric8 could not map to a typed class");
        assertTrue(manifests.objects().size() > 30, "the whole mesh renders: " + manifests.objects().size() + " objects");
    }

    @Test
    void everyNamespacedObjectLandsInIstioSystem() {
        manifests.objects().stream()
                .filter(o -> !(o instanceof CustomResourceDefinition || o instanceof ClusterRole || o instanceof ClusterRoleBinding
                        || o instanceof MutatingWebhookConfiguration || o instanceof io.fabric8.kubernetes.api.model.Namespace))
                .forEach(o -> assertEquals("istio-system", o.getMetadata().getNamespace(), o.getKind() + "/" + o.getMetadata().getName()));
    }

    @Test
    void crdsServeIstiosKindsAndVersionsWithStructuralSchemas() {
        Map<String, List<String>> expected = Map.of(
                "virtualservices.networking.istio.io", List.of("v1", "v1beta1", "v1alpha3"),
                "destinationrules.networking.istio.io", List.of("v1", "v1beta1", "v1alpha3"),
                "gateways.networking.istio.io", List.of("v1", "v1beta1", "v1alpha3"),
                "serviceentries.networking.istio.io", List.of("v1", "v1beta1", "v1alpha3"),
                "workloadentries.networking.istio.io", List.of("v1", "v1beta1", "v1alpha3"),
                "sidecars.networking.istio.io", List.of("v1", "v1beta1", "v1alpha3"),
                "peerauthentications.security.istio.io", List.of("v1", "v1beta1"),
                "authorizationpolicies.security.istio.io", List.of("v1", "v1beta1"),
                "requestauthentications.security.istio.io", List.of("v1", "v1beta1"),
                "telemetries.telemetry.istio.io", List.of("v1", "v1alpha1"));
        List<CustomResourceDefinition> crds = manifests.all(CustomResourceDefinition.class);
        assertEquals(expected.keySet(), crds.stream().map(c -> c.getMetadata().getName()).collect(Collectors.toSet()));
        for (CustomResourceDefinition crd : crds) {
            List<CustomResourceDefinitionVersion> versions = crd.getSpec().getVersions();
            assertEquals(expected.get(crd.getMetadata().getName()), versions.stream().map(CustomResourceDefinitionVersion::getName).toList());
            assertEquals(1, versions.stream().filter(CustomResourceDefinitionVersion::getStorage).count(), "one storage version");
            for (CustomResourceDefinitionVersion version : versions) {
                assertTrue(version.getServed());
                var schema = version.getSchema().getOpenAPIV3Schema();
                assertEquals("object", schema.getType(), crd.getMetadata().getName());
                assertEquals("object", schema.getProperties().get("spec").getType(), crd.getMetadata().getName());
                assertFalse(schema.getProperties().get("spec").getProperties().isEmpty(), "spec lists its fields");
            }
        }
    }

    @Test
    void everyDeploymentHasProbesResourcesAndAHardenedSecurityContext() {
        List<Deployment> deployments = manifests.all(Deployment.class);
        assertEquals(COMPONENT_OF.keySet(), deployments.stream().map(d -> d.getMetadata().getName()).collect(Collectors.toSet()));
        for (Deployment deployment : deployments) {
            String name = deployment.getMetadata().getName();
            PodSpec pod = deployment.getSpec().getTemplate().getSpec();
            assertEquals("RuntimeDefault", pod.getSecurityContext().getSeccompProfile().getType(), name);
            assertTrue(pod.getSecurityContext().getRunAsNonRoot(), name);
            assertFalse(pod.getTopologySpreadConstraints().isEmpty(), name + " spreads across nodes");
            for (Container container : pod.getContainers()) {
                assertNotNull(container.getReadinessProbe(), name + " readiness probe");
                assertNotNull(container.getLivenessProbe(), name + " liveness probe");
                assertNotNull(container.getResources().getRequests().get("cpu"), name + " cpu request");
                assertNotNull(container.getResources().getRequests().get("memory"), name + " memory request");
                assertNotNull(container.getResources().getLimits().get("memory"), name + " memory limit");
                SecurityContext security = container.getSecurityContext();
                assertTrue(security.getRunAsNonRoot(), name);
                assertTrue(security.getReadOnlyRootFilesystem(), name);
                assertFalse(security.getAllowPrivilegeEscalation(), name);
                assertEquals(List.of("ALL"), security.getCapabilities().getDrop(), name);
                assertEquals("RuntimeDefault", security.getSeccompProfile().getType(), name);
            }
            Map<String, String> annotations = deployment.getSpec().getTemplate().getMetadata().getAnnotations();
            assertEquals("true", annotations.get("prometheus.io/scrape"), name);
            assertEquals("/q/metrics", annotations.get("prometheus.io/path"), name);
            assertTrue(manifests.all(PodDisruptionBudget.class).stream().anyMatch(pdb ->
                    pdb.getSpec().getSelector().getMatchLabels().equals(deployment.getSpec().getSelector().getMatchLabels())),
                    name + " has a PodDisruptionBudget");
        }
    }

    @Test
    void everyMeshSettingInTheManifestsIsOneTheComponentReads() {
        for (Deployment deployment : manifests.all(Deployment.class)) {
            Component component = COMPONENT_OF.get(deployment.getMetadata().getName());
            ComponentSettings settings = ComponentSettings.of(component);
            for (EnvVar env : deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv()) {
                if (env.getName().startsWith(component.envPrefix())) {
                    assertTrue(settings.reads(env.getName()), deployment.getMetadata().getName() + " sets " + env.getName()
                            + ", which " + component.id() + " does not read; it reads " + settings.all().keySet());
                }
            }
        }
    }

    @Test
    void containerPortsAndProbePathsMatchEachComponentsDefaults() throws IOException {
        for (Deployment deployment : manifests.all(Deployment.class)) {
            Component component = COMPONENT_OF.get(deployment.getMetadata().getName());
            ComponentSettings settings = ComponentSettings.of(component);
            int monitoringPort = Integer.parseInt(settings.defaultOf(component.envPrefix() + "MONITORING_PORT").orElseThrow());
            assertEquals(monitoringPort, monitoringPortDefault(component.id()), "application.properties agrees with " + component.id() + "'s config");
            Container container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
            for (var port : container.getPorts()) {
                assertTrue(settings.defaultPorts().contains(port.getContainerPort()), deployment.getMetadata().getName()
                        + " exposes " + port.getContainerPort() + ", which is no default port of " + component.id() + ": " + settings.defaultPorts());
            }
            assertTrue(container.getPorts().stream().anyMatch(p -> p.getContainerPort() == monitoringPort),
                    component + " exposes its monitoring port " + monitoringPort);
            Probe liveness = container.getLivenessProbe();
            assertEquals("/q/health/live", liveness.getHttpGet().getPath(), component.id());
            assertEquals(monitoringPort, liveness.getHttpGet().getPort().getIntVal(), component.id());
            assertEquals(monitoringPort, Integer.parseInt(deployment.getSpec().getTemplate().getMetadata().getAnnotations()
                    .get("prometheus.io/port")), component.id());
            Probe readiness = container.getReadinessProbe();
            if (component == Component.GATEWAY) {
                // Istio's proxies report readiness on 15021; the gateway's is "the first complete config arrived".
                assertEquals("/healthz/ready", readiness.getHttpGet().getPath());
                assertEquals(15021, readiness.getHttpGet().getPort().getIntVal());
            } else {
                assertEquals("/q/health/ready", readiness.getHttpGet().getPath(), component.id());
                assertEquals(monitoringPort, readiness.getHttpGet().getPort().getIntVal(), component.id());
            }
        }
    }

    @Test
    void everyReferencedServiceAccountConfigMapAndSecretExistsOrIsCreatedByAComponent() {
        Set<String> present = manifests.objects().stream().map(o -> o.getKind() + "/" + o.getMetadata().getName())
                .collect(Collectors.toCollection(TreeSet::new));
        present.addAll(CREATED_BY_COMPONENTS);
        Set<String> referenced = new TreeSet<>();
        for (Deployment deployment : manifests.all(Deployment.class)) {
            PodSpec pod = deployment.getSpec().getTemplate().getSpec();
            referenced.add("ServiceAccount/" + pod.getServiceAccountName());
            for (Volume volume : pod.getVolumes()) {
                if (volume.getConfigMap() != null) {
                    referenced.add("ConfigMap/" + volume.getConfigMap().getName());
                }
                if (volume.getSecret() != null) {
                    referenced.add("Secret/" + volume.getSecret().getSecretName());
                }
            }
            for (Container container : pod.getContainers()) {
                for (EnvVar env : container.getEnv()) {
                    if (env.getValueFrom() != null && env.getValueFrom().getConfigMapKeyRef() != null) {
                        String name = env.getValueFrom().getConfigMapKeyRef().getName();
                        referenced.add("ConfigMap/" + name);
                        String key = env.getValueFrom().getConfigMapKeyRef().getKey();
                        // An optional key may be left out: the variable is then unset (Kubernetes' semantics).
                        boolean optional = Boolean.TRUE.equals(env.getValueFrom().getConfigMapKeyRef().getOptional());
                        manifests.find(ConfigMap.class, name).ifPresent(cm -> assertTrue(optional
                                || cm.getData().containsKey(key), "ConfigMap " + name + " has key " + key));
                    }
                    if (env.getValueFrom() != null && env.getValueFrom().getSecretKeyRef() != null) {
                        referenced.add("Secret/" + env.getValueFrom().getSecretKeyRef().getName());
                    }
                }
            }
        }
        for (RoleBinding binding : manifests.all(RoleBinding.class)) {
            binding.getSubjects().forEach(s -> referenced.add("ServiceAccount/" + s.getName()));
            referenced.add("Role/" + binding.getRoleRef().getName());
        }
        for (ClusterRoleBinding binding : manifests.all(ClusterRoleBinding.class)) {
            binding.getSubjects().forEach(s -> {
                referenced.add("ServiceAccount/" + s.getName());
                assertEquals("istio-system", s.getNamespace());
            });
            referenced.add("ClusterRole/" + binding.getRoleRef().getName());
        }
        Set<String> missing = new TreeSet<>(referenced);
        missing.removeAll(present);
        assertEquals(Set.of(), missing, "referenced but neither in the manifests nor created by a component");
        assertTrue(manifests.find(ServiceAccount.class, "istio-telemetry-service-account").isPresent());
    }

    @Test
    void rbacGrantsExactlyTheMinimalRulesOfEachComponent() {
        assertEquals(Set.of(
                "[create] authentication.k8s.io/tokenreviews",
                "[get, list, watch, create, update] /configmaps",
                "[get, list, watch] /namespaces"), rules(manifests.find(ClusterRole.class, "istio-citadel").orElseThrow().getRules()));
        assertEquals(Set.of("[get, create, update] /secrets"),
                rules(manifests.find(Role.class, "istio-citadel").orElseThrow().getRules()));
        assertEquals(Set.of(
                "[get, list, watch] /services,pods,namespaces,nodes,secrets,configmaps",
                "[get, list, watch] discovery.k8s.io/endpointslices",
                "[get, list, watch] networking.istio.io/virtualservices,destinationrules,gateways,serviceentries,workloadentries,sidecars",
                "[get, list, watch] security.istio.io/peerauthentications,authorizationpolicies,requestauthentications",
                "[get, list, watch] telemetry.istio.io/telemetries",
                "[get, list, watch] gateway.networking.k8s.io/gateways,httproutes,grpcroutes,tlsroutes,tcproutes,referencegrants,backendtlspolicies,gatewayclasses",
                "[get, update, patch] gateway.networking.k8s.io/gateways/status,httproutes/status,grpcroutes/status,tlsroutes/status,tcproutes/status,backendtlspolicies/status,gatewayclasses/status",
                "[create] gateway.networking.k8s.io/gatewayclasses",
                "[get, list, watch, create, update, patch, delete] /serviceaccounts",
                "[create, update, patch, delete] /services",
                "[get, list, watch, create, update, patch, delete] apps/deployments",
                "[create, patch] /events"), rules(manifests.find(ClusterRole.class, "istio-pilot").orElseThrow().getRules()));
        assertEquals(Set.of("[get, list, watch, patch] admissionregistration.k8s.io/mutatingwebhookconfigurations=istio-sidecar-injector",
                "[get, list, watch] /namespaces"),
                rules(manifests.find(ClusterRole.class, "istio-sidecar-injector").orElseThrow().getRules()));
        assertEquals(Set.of("[get, list, watch] /configmaps"),
                rules(manifests.find(Role.class, "istio-sidecar-injector").orElseThrow().getRules()));
        // telemetry and the gateway need nothing from the API server.
        assertEquals(3, manifests.all(ClusterRole.class).size());
        assertEquals(2, manifests.all(Role.class).size());
        assertFalse(manifests.find(ServiceAccount.class, "istio-telemetry-service-account").orElseThrow().getAutomountServiceAccountToken());
    }

    @Test
    void theWebhookInjectsLabelledNamespacesAndHonoursThePodOverride() {
        MutatingWebhookConfiguration configuration = manifests.find(MutatingWebhookConfiguration.class, "istio-sidecar-injector").orElseThrow();
        for (MutatingWebhook webhook : configuration.getWebhooks()) {
            assertEquals("/inject", webhook.getClientConfig().getService().getPath());
            assertEquals("istio-sidecar-injector", webhook.getClientConfig().getService().getName());
            assertEquals("istio-system", webhook.getClientConfig().getService().getNamespace());
            assertEquals(443, webhook.getClientConfig().getService().getPort());
            assertEquals("Fail", webhook.getFailurePolicy());
            assertEquals("None", webhook.getSideEffects());
            assertNotNull(webhook.getTimeoutSeconds());
        }
        MutatingWebhook byNamespace = configuration.getWebhooks().get(0);
        assertEquals(Map.of("istio-injection", "enabled"), byNamespace.getNamespaceSelector().getMatchLabels());
        assertEquals("sidecar.istio.io/inject", byNamespace.getObjectSelector().getMatchExpressions().get(0).getKey());
        assertEquals("NotIn", byNamespace.getObjectSelector().getMatchExpressions().get(0).getOperator());
        Service injector = manifests.find(Service.class, "istio-sidecar-injector").orElseThrow();
        assertEquals(15017, injector.getSpec().getPorts().stream().filter(p -> p.getPort() == 443).findFirst().orElseThrow()
                .getTargetPort().getIntVal());
    }

    @Test
    void theIngressGatewayIsALoadBalancerOnPorts80And443() {
        Service gateway = manifests.find(Service.class, "istio-ingressgateway").orElseThrow();
        assertEquals("LoadBalancer", gateway.getSpec().getType());
        Map<Integer, Integer> ports = gateway.getSpec().getPorts().stream()
                .collect(Collectors.toMap(p -> p.getPort(), p -> p.getTargetPort().getIntVal()));
        assertEquals(8080, ports.get(80));
        assertEquals(8443, ports.get(443));
    }

    /** The default in {@code quarkus.http.port=${mesh.<c>.monitoring-port:NNNN}} of the component's application.properties. */
    private static int monitoringPortDefault(String component) throws IOException {
        String properties = Files.readString(ProjectLayout.root().resolve(component).resolve("src/main/resources/application.properties"));
        Matcher matcher = Pattern.compile("quarkus\\.http\\.port=\\$\\{mesh\\." + component + "\\.monitoring-port:(\\d+)}").matcher(properties);
        assertTrue(matcher.find(), component + "'s application.properties sets its monitoring port");
        return Integer.parseInt(matcher.group(1));
    }

    private static Set<String> rules(List<PolicyRule> rules) {
        return rules.stream().map(r -> r.getVerbs() + " " + String.join(",", r.getApiGroups()) + "/" + String.join(",", r.getResources())
                + (r.getResourceNames() == null || r.getResourceNames().isEmpty() ? "" : "=" + String.join(",", r.getResourceNames())))
                .collect(Collectors.toSet());
    }
}
