package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.Service;
import io.mesh.config.Hosts;
import io.mesh.config.KubernetesGateway;
import io.mesh.config.PolicyConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;

/**
 * The {@code status.addresses} istiod reports for a Gateway of its class (its reportGatewayStatus over
 * ResolveGatewayInstances), from the Services that serve it ({@link KubernetesGateway#serviceHosts}: the deployed
 * {@code NAME-istio} or name-override, or the Services its {@code Hostname} addresses name):
 * <ul>
 * <li>their external addresses, sorted, when any has some: a LoadBalancer's ingress (each its IP, else its hostname)
 * and {@code spec.externalIPs};</li>
 * <li>else their internal ones, as the Gateway's {@code networking.istio.io/address-type} annotation asks (the istio
 * class's {@code Hostname} when unset; "" for both): for {@code IPAddress} (or both) their cluster IPs, sorted; for
 * {@code Hostname} (or both) each Service's cluster DNS name, but a LoadBalancer's still waiting for its address.</li>
 * </ul>
 * Each is typed {@code IPAddress} when it is an IP, else {@code Hostname}. Empty when there is nothing to report yet
 * (the caller then keeps what the status had: istiod never removes an address once reported). Pure.
 *
 * <p>Unlike istiod, a Service counts without endpoints on a listener port (as pilot's {@code Programmed} does), and a
 * {@code Hostname} address may name a Service of another namespace (as pilot's translation serves it).
 */
final class GatewayStatusAddresses {
    private GatewayStatusAddresses() {
    }

    /**
     * The addresses of {@code gateway}, whose Services {@code services} gives by namespace and name (null: none), as
     * status entries.
     */
    static List<Map<String, String>> of(KubernetesGateway gateway, BiFunction<String, String, Service> services) {
        if (!gateway.owned()) {
            return List.of();
        }
        Set<String> external = new TreeSet<>();
        Set<String> clusterIps = new TreeSet<>();
        Set<String> hostnames = new TreeSet<>();
        for (String host : gateway.serviceHosts()) {
            Service service = service(host, services);
            if (service == null || service.getSpec() == null) {
                continue;
            }
            clusterIps.addAll(clusterIps(service));
            List<String> outside = externalAddresses(service);
            external.addAll(outside);
            if (!outside.isEmpty() || !"LoadBalancer".equals(service.getSpec().getType())) {
                hostnames.add(host);   // a LoadBalancer without an address yet is pending: not its name either
            }
        }
        List<String> values = new ArrayList<>(external);
        if (values.isEmpty()) {
            String want = gateway.addressType() == null ? "Hostname" : gateway.addressType();
            if (!want.equals("Hostname")) {
                values.addAll(clusterIps);
            }
            if (!want.equals("IPAddress")) {
                hostnames.stream().filter(h -> !values.contains(h)).forEach(values::add);
            }
        }
        List<Map<String, String>> out = new ArrayList<>();
        for (String value : values) {
            Map<String, String> address = new LinkedHashMap<>();
            address.put("type", PolicyConfig.isIpOrCidr(value) && !value.contains("/") ? "IPAddress" : "Hostname");
            address.put("value", value);
            out.add(address);
        }
        return out;
    }

    /** The Kubernetes Service a host {@code NAME.NS.svc.cluster.local} names, or null (another host names none). */
    private static Service service(String host, BiFunction<String, String, Service> services) {
        String suffix = "." + Hosts.DOMAIN_SUFFIX;
        if (!host.endsWith(suffix)) {
            return null;
        }
        String[] parts = host.substring(0, host.length() - suffix.length()).split("\\.");
        return parts.length == 2 ? services.apply(parts[1], parts[0]) : null;
    }

    private static List<String> clusterIps(Service service) {
        List<String> ips = service.getSpec().getClusterIPs() == null || service.getSpec().getClusterIPs().isEmpty()
                ? (service.getSpec().getClusterIP() == null ? List.of() : List.of(service.getSpec().getClusterIP()))
                : service.getSpec().getClusterIPs();
        return ips.stream().filter(ip -> !ip.isEmpty() && !ip.equals("None")).toList();
    }

    /** istiod's ClusterExternalAddresses: a LoadBalancer's ingress (IP, else hostname), then {@code spec.externalIPs}. */
    private static List<String> externalAddresses(Service service) {
        List<String> out = new ArrayList<>();
        if ("LoadBalancer".equals(service.getSpec().getType()) && service.getStatus() != null
                && service.getStatus().getLoadBalancer() != null) {
            for (LoadBalancerIngress i : service.getStatus().getLoadBalancer().getIngress()) {
                String value = i.getIp() != null && !i.getIp().isEmpty() ? i.getIp() : i.getHostname();
                if (value != null && !value.isEmpty()) {
                    out.add(value);
                }
            }
        }
        if (service.getSpec().getExternalIPs() != null) {
            out.addAll(service.getSpec().getExternalIPs());
        }
        return out;
    }
}
