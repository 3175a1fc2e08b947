package io.mesh.pilot.model;

import io.mesh.config.ExportTo;
import io.mesh.config.TrafficDistribution;
import java.util.List;

/**
 * A service known to the mesh, from a Kubernetes Service or a ServiceEntry host.
 *
 * @param addresses   the service's VIPs (a Kubernetes Service's cluster IPs, a ServiceEntry's addresses that are one
 *                    IP): a sidecar tells which service a captured non-HTTP connection is for by them. Empty for a
 *                    headless Service or a ServiceEntry without addresses.
 * @param exportTo    the namespaces whose proxies see it: a ServiceEntry's {@code exportTo}, a Service's
 *                    {@code networking.istio.io/exportTo} annotation ({@link ExportTo}); empty: all
 * @param passthrough Istio's Passthrough resolution: a Kubernetes Service with {@code clusterIP: None} (headless), or
 *                    a ServiceEntry with {@code resolution: NONE}. Connections go where the app sent them, so sidecars
 *                    get ORIGINAL_DST clusters ({@code io.mesh.pilot.generator.PassthroughServices})
 * @param cidrs       a ServiceEntry's addresses that are CIDR blocks of more than one address ({@code 10.20.0.0/16}):
 *                    sidecars tell the service's non-HTTP connections by their destination being in one of them
 * @param selectsWorkloads a ServiceEntry with a {@code workloadSelector} that has labels: its endpoints are the
 *                    workloads it selects (istiod's LabelSelectors), so having none now does not make it a catch-all
 *                    for its ports
 * @param persistentSession a Kubernetes Service's sticky sessions ({@link PersistentSession}: labelled
 *                    {@code istio.io/persistent-session} or {@code -header}), or null: its default cluster gets
 *                    istiod's {@code override_host_status} and, with the setting, its routes the stateful session
 *                    filter; a cookie one also gets its DRAINING endpoints ({@link Endpoint#sentBy})
 * @param trafficDistribution a Kubernetes Service's {@code spec.trafficDistribution} or either kind's
 *                    {@code networking.istio.io/traffic-distribution} annotation: EDS prefers endpoints close to the
 *                    proxy unless a DestinationRule sets {@code localityLbSetting}
 *                    ({@code io.mesh.pilot.generator.LocalityLoadBalancer})
 */
public record ServiceModel(String hostname, String namespace, List<Port> ports, boolean external, String origin,
        List<String> addresses, List<String> exportTo, boolean passthrough, List<String> cidrs,
        boolean selectsWorkloads, PersistentSession persistentSession, TrafficDistribution trafficDistribution) {
    public ServiceModel {
        trafficDistribution = trafficDistribution == null ? TrafficDistribution.ANY : trafficDistribution;
        ports = List.copyOf(ports);
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        exportTo = exportTo == null ? List.of() : List.copyOf(exportTo);
        cidrs = cidrs == null ? List.of() : List.copyOf(cidrs);
    }

    /** A service without a traffic distribution. */
    public ServiceModel(String hostname, String namespace, List<Port> ports, boolean external, String origin,
            List<String> addresses, List<String> exportTo, boolean passthrough, List<String> cidrs,
            boolean selectsWorkloads, PersistentSession persistentSession) {
        this(hostname, namespace, ports, external, origin, addresses, exportTo, passthrough, cidrs, selectsWorkloads,
                persistentSession, TrafficDistribution.ANY);
    }

    /** A service without persistent sessions. */
    public ServiceModel(String hostname, String namespace, List<Port> ports, boolean external, String origin,
            List<String> addresses, List<String> exportTo, boolean passthrough, List<String> cidrs,
            boolean selectsWorkloads) {
        this(hostname, namespace, ports, external, origin, addresses, exportTo, passthrough, cidrs, selectsWorkloads,
                (PersistentSession) null);
    }

    /** A service whose endpoints are not chosen by a workload selector. */
    public ServiceModel(String hostname, String namespace, List<Port> ports, boolean external, String origin,
            List<String> addresses, List<String> exportTo, boolean passthrough, List<String> cidrs) {
        this(hostname, namespace, ports, external, origin, addresses, exportTo, passthrough, cidrs, false);
    }

    /** A service without Passthrough resolution or CIDR blocks. */
    public ServiceModel(String hostname, String namespace, List<Port> ports, boolean external, String origin,
            List<String> addresses, List<String> exportTo) {
        this(hostname, namespace, ports, external, origin, addresses, exportTo, false, List.of());
    }

    /** A Kubernetes Service: {@code headless} for {@code clusterIP: None}. */
    public ServiceModel(String hostname, String namespace, List<Port> ports, boolean external, String origin,
            List<String> addresses, List<String> exportTo, boolean headless) {
        this(hostname, namespace, ports, external, origin, addresses, exportTo, headless, List.of());
    }

    /** A Kubernetes headless Service: Passthrough resolution from the Kubernetes registry (its pods have DNS names). */
    public boolean headless() {
        return passthrough && origin.startsWith("Service/");
    }

    /** A ServiceEntry host (not a Kubernetes Service or a local-mode service). */
    public boolean serviceEntry() {
        return origin.startsWith("ServiceEntry/");
    }

    /**
     * istiod's SupportsUnhealthyEndpoints (pilot/pkg/model/service.go): with {@code everyService}
     * (PILOT_SEND_UNHEALTHY_ENDPOINTS, {@link MeshSettings#sendUnhealthyEndpoints}) every service, else a service with
     * a traffic distribution, sends its not-ready endpoints as UNHEALTHY, so that proxies see a zone's health and spill
     * over to the next priority without outlier detection; its clusters get {@code healthy_panic_threshold: 0}.
     */
    public boolean sendsUnhealthyEndpoints(boolean everyService) {
        return everyService || trafficDistribution != TrafficDistribution.ANY;
    }

    /** Whether proxies in this namespace see the service (Istio's IsServiceVisible). */
    public boolean visibleTo(String proxyNamespace) {
        return ExportTo.visible(exportTo, namespace, proxyNamespace);
    }

    /**
     * @param targetPort a ServiceEntry port's {@code targetPort}, or null: the endpoints' port when they name none;
     *                   on a {@code resolution: NONE} entry also the port its sidecars connect to at the original
     *                   destination ({@code io.mesh.pilot.generator.PassthroughServices#targetPort})
     */
    public record Port(String name, int number, String protocol, Integer targetPort) {
        /** A port without a {@code targetPort} (a Kubernetes Service's, whose target ports are its endpoints'). */
        public Port(String name, int number, String protocol) {
            this(name, number, protocol, null);
        }

        public boolean http() {
            return switch (protocol.toUpperCase(java.util.Locale.ROOT)) {
                case "HTTP", "HTTP2", "GRPC", "GRPC-WEB" -> true;
                default -> false;
            };
        }

        /** Whether the upstream speaks HTTP/2 (Istio's IsHTTP2: gRPC, gRPC-Web, HTTP2). */
        public boolean http2() {
            return switch (protocol.toUpperCase(java.util.Locale.ROOT)) {
                case "HTTP2", "GRPC", "GRPC-WEB" -> true;
                default -> false;
            };
        }
    }

    public Port port(int number) {
        return ports.stream().filter(p -> p.number() == number).findFirst().orElse(null);
    }
}
