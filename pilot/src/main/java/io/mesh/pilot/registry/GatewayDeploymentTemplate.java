package io.mesh.pilot.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.mesh.config.KubernetesGateway;
import io.mesh.config.PolicyTargetRef;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * What istiod's gateway deployment controller creates for a Gateway of class {@code istio} without
 * {@code spec.addresses} (its "automated deployment"), with this mesh's gateway in router mode as the proxy: a
 * ServiceAccount, a Service and a Deployment in the Gateway's namespace: the Service and Deployment named
 * {@code NAME-istio} (istiod's default name, NAME-CLASS) or the Gateway's {@code gateway.istio.io/name-override}
 * annotation's name; the ServiceAccount the {@code gateway.istio.io/service-account} annotation's name, else
 * {@code NAME-istio} even with a name-override (istiod's TemplateInput takes the default name there too),
 * labelled {@code gateway.networking.k8s.io/gateway-name: NAME} and
 * {@code gateway.istio.io/managed: istio.io-gateway-controller} over the infrastructure labels, annotated with the
 * infrastructure annotations ({@link GatewayInfrastructure}), and owned by the Gateway (Kubernetes deletes them with
 * it). The Service is what pilot's translation looks for to find the Gateway's routers (its pod selector), so the
 * Deployment's pods serve the Gateway as soon as they connect.
 * <ul>
 * <li>Service: type LoadBalancer unless the Gateway's {@code networking.istio.io/service-type} annotation says
 * otherwise; port {@code status-port} 15021 then one port per listener port (named after the first listener on it,
 * {@code appProtocol} the listener's protocol in lower case), as istiod's extractServicePorts.</li>
 * <li>Deployment: one replica; the pods carry istiod's gateway labels ({@code sidecar.istio.io/inject: "false"}, the
 * canonical service labels, then the infrastructure labels, then {@code gateway.networking.k8s.io/gateway-name},
 * {@code istio.io/gateway-name} and the managed label) and the infrastructure annotations, and give the labels
 * to the proxy as {@code ISTIO_METAJSON_LABELS} (its node's labels), so policies attached by {@code targetRefs} and
 * Gateways with selectors find it; the proxy connects to pilot at the configured xDS address; listener ports below
 * 1024 are bound unprivileged ({@code net.ipv4.ip_unprivileged_port_start=0}, as istiod's gateways).</li>
 * </ul>
 * Pure: the same Gateway gives the same objects.
 */
final class GatewayDeploymentTemplate {
    static final String MANAGED_LABEL = "gateway.istio.io/managed";
    static final String MANAGED_VALUE = "istio.io-gateway-controller";
    static final int STATUS_PORT = 15021;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the deployed proxies need from pilot's settings. */
    record Settings(String image, String xdsAddress) {
    }

    private GatewayDeploymentTemplate() {
    }

    /** The Deployment's and Service's name: the name-override annotation's, else istiod's getDefaultName. */
    static String name(KubernetesGateway gateway) {
        return gateway.deploymentName();
    }

    /** Whether istiod deploys the gateway: an owned Gateway without addresses (with them it is served by what they name). */
    static boolean managed(KubernetesGateway gateway) {
        return gateway.owned() && gateway.addresses().isEmpty();
    }

    /**
     * The ServiceAccount's name: the {@code gateway.istio.io/service-account} annotation's, else istiod's default name
     * (not the name-override's: istiod's TemplateInput defaults both to getDefaultName).
     */
    static String serviceAccount(KubernetesGateway gateway, GatewayInfrastructure infrastructure) {
        return infrastructure.serviceAccount() != null ? infrastructure.serviceAccount() : gateway.defaultName();
    }

    /** The ServiceAccount, Service and Deployment for {@code gateway}, whose metadata says {@code infrastructure}. */
    static List<HasMetadata> render(KubernetesGateway gateway, GatewayInfrastructure infrastructure, Settings settings) {
        String name = name(gateway);
        String ns = gateway.namespace();
        String account = serviceAccount(gateway, infrastructure);
        // The infrastructure's labels first, so that they never replace the ones the controller and selectors need.
        Map<String, String> labels = new LinkedHashMap<>(infrastructure.labels());
        labels.put(PolicyTargetRef.GATEWAY_NAME_LABEL, gateway.name());
        labels.put(MANAGED_LABEL, MANAGED_VALUE);
        Map<String, String> annotations = infrastructure.annotations();
        OwnerReference owner = new OwnerReferenceBuilder().withApiVersion("gateway.networking.k8s.io/v1")
                .withKind("Gateway").withName(gateway.name()).withUid(infrastructure.uid()).build();
        List<HasMetadata> out = new ArrayList<>();
        out.add(new ServiceAccountBuilder().withMetadata(meta(account, ns, labels, annotations, owner)).build());
        out.add(new ServiceBuilder().withMetadata(meta(name, ns, labels, annotations, owner)).withNewSpec()
                .withType(infrastructure.serviceType() != null ? infrastructure.serviceType() : "LoadBalancer")
                .withSelector(Map.of(PolicyTargetRef.GATEWAY_NAME_LABEL, gateway.name()))
                .withPorts(ports(gateway)).endSpec().build());
        // istiod's order: its defaults, then the infrastructure's labels, then the ones selectors need.
        Map<String, String> podLabels = new LinkedHashMap<>();
        podLabels.put("sidecar.istio.io/inject", "false");
        podLabels.put("service.istio.io/canonical-name", name);
        podLabels.put("service.istio.io/canonical-revision", "latest");
        podLabels.putAll(infrastructure.labels());
        podLabels.put(PolicyTargetRef.GATEWAY_NAME_LABEL, gateway.name());
        podLabels.put("istio.io/gateway-name", gateway.name());
        podLabels.put(MANAGED_LABEL, MANAGED_VALUE);
        Map<String, String> podAnnotations = new LinkedHashMap<>(annotations);
        podAnnotations.put("prometheus.io/scrape", "true");
        podAnnotations.put("prometheus.io/port", "15020");
        podAnnotations.put("prometheus.io/path", "/q/metrics");
        out.add(new DeploymentBuilder().withMetadata(meta(name, ns, labels, annotations, owner)).withNewSpec().withReplicas(1)
                .withNewSelector().withMatchLabels(Map.of(PolicyTargetRef.GATEWAY_NAME_LABEL, gateway.name())).endSelector()
                .withNewTemplate().withNewMetadata().withLabels(podLabels).withAnnotations(podAnnotations)
                .endMetadata()
                .withNewSpec().withServiceAccountName(account).withAutomountServiceAccountToken(false)
                .withNewSecurityContext().withRunAsNonRoot(true).withFsGroup(1337L)
                .addNewSysctl().withName("net.ipv4.ip_unprivileged_port_start").withValue("0").endSysctl()
                .endSecurityContext()
                .addNewContainer().withName("istio-proxy").withImage(settings.image()).withImagePullPolicy("IfNotPresent")
                .withPorts(containerPorts(gateway)).withEnv(env(gateway, podLabels, settings))
                .withNewReadinessProbe().withNewHttpGet().withPath("/healthz/ready").withPort(new IntOrString(STATUS_PORT))
                .endHttpGet().withPeriodSeconds(3).withTimeoutSeconds(2).withFailureThreshold(3).endReadinessProbe()
                .withNewSecurityContext().withRunAsNonRoot(true).withRunAsUser(1337L).withRunAsGroup(1337L)
                .withReadOnlyRootFilesystem(true).withAllowPrivilegeEscalation(false)
                .withNewCapabilities().withDrop("ALL").endCapabilities().endSecurityContext()
                .addNewVolumeMount().withName("tmp").withMountPath("/tmp").endVolumeMount()
                .addNewVolumeMount().withName("istio-token").withMountPath("/var/run/secrets/tokens").withReadOnly(true)
                .endVolumeMount()
                .endContainer()
                .addNewVolume().withName("tmp").withNewEmptyDir().withMedium("Memory").endEmptyDir().endVolume()
                .addNewVolume().withName("istio-token").withNewProjected().addNewSource().withNewServiceAccountToken()
                .withAudience("istio-ca").withExpirationSeconds(43200L).withPath("istio-token").endServiceAccountToken()
                .endSource().endProjected().endVolume()
                .endSpec().endTemplate().endSpec().build());
        return out;
    }

    private static ObjectMeta meta(String name, String namespace, Map<String, String> labels,
            Map<String, String> annotations, OwnerReference owner) {
        return new ObjectMetaBuilder().withName(name).withNamespace(namespace).withLabels(labels)
                .withAnnotations(annotations.isEmpty() ? null : annotations).withOwnerReferences(owner).build();
    }

    /** {@code status-port}, then each listener port once, named after its first listener (istiod's extractServicePorts). */
    static List<ServicePort> ports(KubernetesGateway gateway) {
        List<ServicePort> ports = new ArrayList<>();
        ports.add(new ServicePortBuilder().withName("status-port").withPort(STATUS_PORT).withAppProtocol("tcp").build());
        TreeSet<Integer> seen = new TreeSet<>();
        for (KubernetesGateway.Listener l : gateway.listeners()) {
            if (seen.add(l.port())) {
                ports.add(new ServicePortBuilder().withName(l.name()).withPort(l.port())
                        .withAppProtocol(l.protocol().toLowerCase(Locale.ROOT)).build());
            }
        }
        return ports;
    }

    private static List<io.fabric8.kubernetes.api.model.ContainerPort> containerPorts(KubernetesGateway gateway) {
        List<io.fabric8.kubernetes.api.model.ContainerPort> out = new ArrayList<>();
        out.add(new io.fabric8.kubernetes.api.model.ContainerPortBuilder().withName("http-envoy-prom")
                .withContainerPort(15020).withProtocol("TCP").build());
        for (ServicePort p : ports(gateway)) {
            out.add(new io.fabric8.kubernetes.api.model.ContainerPortBuilder().withContainerPort(p.getPort())
                    .withProtocol("TCP").build());
        }
        return out;
    }

    private static List<EnvVar> env(KubernetesGateway gateway, Map<String, String> podLabels, Settings settings) {
        String labelsJson;
        try {
            labelsJson = JSON.writeValueAsString(podLabels);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        return List.of(
                value("MESH_MODE", "kubernetes"),
                field("POD_NAME", "metadata.name"),
                field("POD_NAMESPACE", "metadata.namespace"),
                field("INSTANCE_IP", "status.podIP"),
                field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
                // The deploy manifests' settings for the gateway's data path (gateway/README.md).
                value("JAVA_TOOL_OPTIONS", "-XX:+UseSerialGC -XX:MaxRAMPercentage=70 -XX:+ExitOnOutOfMemoryError"
                        + " -Dio.netty.buffer.checkAccessible=false -Dio.netty.buffer.checkBounds=false"
                        + " -Dio.netty.leakDetection.level=disabled"),
                value("MESH_GATEWAY_MODE", "router"),
                value("MESH_GATEWAY_XDS_ADDRESS", settings.xdsAddress()),
                field("MESH_GATEWAY_NODE_NAMESPACE", "metadata.namespace"),
                value("ISTIO_METAJSON_LABELS", labelsJson));
    }

    private static EnvVar value(String name, String value) {
        return new EnvVarBuilder().withName(name).withValue(value).build();
    }

    private static EnvVar field(String name, String path) {
        return new EnvVarBuilder().withName(name).withNewValueFrom().withNewFieldRef().withFieldPath(path).endFieldRef()
                .endValueFrom().build();
    }
}
