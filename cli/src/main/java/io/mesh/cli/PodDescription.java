package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The pod and service parts of {@code meshctl x describe pod}, in istioctl's words and layout (istioctl's
 * {@code describe.go}: {@code printPod}, {@code printService}): the pod's ports and revision, warnings about what
 * keeps it out of the mesh, and each Service that selects it with the protocol pilot serves each port with.
 */
final class PodDescription {

    static final String SEPARATOR = "--------------------";
    private static final long PROXY_UID = 1337;
    private static final String REQUIREMENTS = "https://istio.io/latest/docs/ops/deployment/application-requirements/";
    private static final ObjectMapper JSON = new ObjectMapper();

    private PodDescription() {
    }

    /** istioctl's {@code kname}: the name, with ".namespace" when it is not the namespace being described. */
    static String kname(String name, String namespace, String describing) {
        return namespace == null || namespace.equals(describing) ? name : name + "." + namespace;
    }

    /**
     * Prints the pod's header and warnings; returns whether the description goes on (the pod runs and has a proxy).
     */
    static boolean printPod(Pod pod, String describing, PrintWriter out) {
        List<String> ports = new ArrayList<>();
        for (Container c : pod.getSpec().getContainers()) {
            for (ContainerPort p : c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()) {
                String protocol = p.getProtocol() == null || p.getProtocol().equals("TCP") ? "" : "/" + p.getProtocol();
                ports.add(p.getContainerPort() + protocol + " (" + c.getName() + ")");
            }
            if (!c.getName().equals("istio-proxy") && c.getSecurityContext() != null
                    && Long.valueOf(PROXY_UID).equals(c.getSecurityContext().getRunAsUser())) {
                out.println("WARNING: User ID (UID) 1337 is reserved for the sidecar proxy.");
            }
        }
        String name = kname(pod.getMetadata().getName(), pod.getMetadata().getNamespace(), describing);
        out.println("Pod: " + name);
        out.println("   Pod Revision: " + revision(pod));
        out.println(ports.isEmpty() ? "   Pod does not expose ports" : "   Pod Ports: " + String.join(", ", ports));
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        if (!"Running".equals(phase)) {
            out.println("   Pod is not Running (" + (phase == null ? "Unknown" : phase) + ")");
            return false;
        }
        for (ContainerStatus s : pod.getStatus().getContainerStatuses()) {
            if (!Boolean.TRUE.equals(s.getReady())) {
                out.println("WARNING: Pod " + name + " Container " + s.getName() + " NOT READY");
            }
        }
        for (ContainerStatus s : pod.getStatus().getInitContainerStatuses()) {
            if (!Boolean.TRUE.equals(s.getReady())) {
                out.println("WARNING: Pod " + name + " Init Container " + s.getName() + " NOT READY");
            }
        }
        if (!meshed(pod)) {
            out.println("WARNING: " + name + " is not part of mesh; no Istio sidecar");
            return false;
        }
        if (pod.getSpec().getSecurityContext() != null
                && Long.valueOf(PROXY_UID).equals(pod.getSpec().getSecurityContext().getRunAsUser())) {
            out.println("   WARNING: User ID (UID) 1337 is reserved for the sidecar proxy.");
        }
        Map<String, String> labels = labels(pod);
        if (!hasAny(labels, "service.istio.io/canonical-name", "app.kubernetes.io/name", "app")) {
            out.println("Suggestion: add required service name label for Istio telemetry. See " + REQUIREMENTS + ".");
        }
        if (!hasAny(labels, "service.istio.io/canonical-revision", "app.kubernetes.io/version", "version")) {
            out.println("Suggestion: add required service revision label for Istio telemetry. See " + REQUIREMENTS + ".");
        }
        return true;
    }

    /** istio.io/rev, else the revision the injector recorded in sidecar.istio.io/status, else empty. */
    static String revision(Pod pod) {
        Map<String, String> annotations = pod.getMetadata().getAnnotations() == null ? Map.of()
                : pod.getMetadata().getAnnotations();
        if (annotations.containsKey("istio.io/rev")) {
            return annotations.get("istio.io/rev");
        }
        try {
            return JSON.readTree(annotations.getOrDefault("sidecar.istio.io/status", "{}")).path("revision").asText("");
        } catch (java.io.IOException e) {
            return "";
        }
    }

    /** A pod with an istio-proxy container, as a regular or (native sidecar) init container. */
    static boolean meshed(Pod pod) {
        return pod.getSpec().getContainers().stream().anyMatch(c -> c.getName().equals("istio-proxy"))
                || pod.getSpec().getInitContainers().stream().anyMatch(c -> c.getName().equals("istio-proxy"));
    }

    static Map<String, String> labels(Pod pod) {
        return pod.getMetadata().getLabels() == null ? Map.of() : pod.getMetadata().getLabels();
    }

    private static boolean hasAny(Map<String, String> labels, String... names) {
        for (String n : names) {
            if (labels.containsKey(n)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the Service's selector (non-empty) selects the pod. */
    static boolean selects(Service s, Pod pod) {
        Map<String, String> selector = s.getSpec().getSelector();
        return selector != null && !selector.isEmpty() && labels(pod).entrySet().containsAll(selector.entrySet());
    }

    /** istioctl's {@code printService}: each TCP port, its protocol, and the pod port it reaches. */
    static void printService(Service s, Pod pod, String describing, PrintWriter out) {
        out.println("Service: " + kname(s.getMetadata().getName(), s.getMetadata().getNamespace(), describing));
        for (ServicePort p : s.getSpec().getPorts()) {
            if (p.getProtocol() != null && !p.getProtocol().equals("TCP")) {
                continue;   // UDP and SCTP: not served by the mesh
            }
            Integer target = podPort(pod, p);
            if (target == null) {
                out.println("   Pod " + pod.getMetadata().getName() + " has no container port named "
                        + p.getTargetPort().getStrVal() + " (Service port " + p.getPort() + ")");
            } else {
                out.println("   Port: " + (p.getName() == null ? "" : p.getName()) + " " + p.getPort() + "/" + protocol(p)
                        + " targets pod port " + target);
            }
        }
    }

    /** The pod port a Service port reaches: its targetPort (a number, or a container port's name), else its port. */
    static Integer podPort(Pod pod, ServicePort p) {
        IntOrString target = p.getTargetPort();
        if (target == null || (target.getIntVal() == null && target.getStrVal() == null)) {
            return p.getPort();
        }
        if (target.getIntVal() != null) {
            return target.getIntVal();
        }
        for (Container c : pod.getSpec().getContainers()) {
            for (ContainerPort cp : c.getPorts() == null ? List.<ContainerPort>of() : c.getPorts()) {
                if (target.getStrVal().equals(cp.getName())) {
                    return cp.getContainerPort();
                }
            }
        }
        return null;
    }

    private static final Map<String, String> PROTOCOLS = Map.ofEntries(Map.entry("http", "HTTP"),
            Map.entry("http2", "HTTP2"), Map.entry("grpc", "GRPC"), Map.entry("grpc-web", "GRPC-Web"),
            Map.entry("https", "HTTPS"), Map.entry("tcp", "TCP"), Map.entry("tls", "TLS"), Map.entry("mongo", "Mongo"),
            Map.entry("mysql", "MySQL"), Map.entry("redis", "Redis"), Map.entry("udp", "UDP"),
            Map.entry("http_proxy", "HTTP_PROXY"));
    private static final Set<String> KUBERNETES_H2C = Set.of("kubernetes.io/h2c");

    /**
     * The protocol Istio gives a Service port (istio's {@code kube.ConvertProtocol}): its {@code appProtocol}, else its
     * name's prefix before the first dash ({@code grpc-web} whole); "auto-detect" for a port without either, as
     * istioctl prints it; "UnsupportedProtocol" for a name of no protocol Istio knows.
     */
    static String protocol(ServicePort p) {
        String app = p.getAppProtocol();
        String name = p.getName() == null ? "" : p.getName();
        if (app == null && name.isEmpty()) {
            return "auto-detect";
        }
        String key;
        if (app != null) {
            if (KUBERNETES_H2C.contains(app)) {
                return "HTTP2";
            }
            key = app;
        } else if (name.toLowerCase(Locale.ROOT).startsWith("grpc-web")) {
            key = "grpc-web";
        } else {
            int dash = name.indexOf('-');
            key = dash < 0 ? name : name.substring(0, dash);
        }
        return PROTOCOLS.getOrDefault(key.toLowerCase(Locale.ROOT), "UnsupportedProtocol");
    }

    /** The first HTTP connection manager's RBAC policy names on the proxy's inbound side, for "RBAC policies:". */
    static List<String> rbacPolicies(JsonNode dump) {
        List<String> names = new ArrayList<>();
        for (JsonNode listener : dump.path("listeners")) {
            if (!listener.path("name").asText().equals("virtualInbound")) {
                continue;
            }
            for (JsonNode chain : listener.path("filterChains")) {
                for (JsonNode filter : chain.path("filters")) {
                    for (JsonNode http : filter.path("typedConfig").path("httpFilters")) {
                        if (http.path("name").asText().equals("envoy.filters.http.rbac")) {
                            http.path("typedConfig").path("rules").path("policies").fieldNames().forEachRemaining(n -> {
                                if (!names.contains(n)) {
                                    names.add(n);
                                }
                            });
                        }
                    }
                }
            }
        }
        return names;
    }
}
