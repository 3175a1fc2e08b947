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

/**
 * The {@code status.addresses} istiod reports for a Gateway it deploys ({@link GatewayDeploymentTemplate#managed}), from
 * its Service {@code NAME-istio}: the load balancer's ingress addresses (each its IP, else its hostname) once it has
 * some; else, unless the Service is a LoadBalancer still waiting for them, the Service's cluster DNS name (the istio
 * class reports addresses of type {@code Hostname}). Each is typed {@code IPAddress} when it is an IP, else
 * {@code Hostname}. Empty when there is nothing to report yet (the caller then keeps what the status had: istiod never
 * removes an address once reported). Pure.
 */
final class GatewayStatusAddresses {
    private GatewayStatusAddresses() {
    }

    /** The addresses of {@code gateway}, whose Service is {@code service} (null: none yet), as status entries. */
    static List<Map<String, String>> of(KubernetesGateway gateway, Service service) {
        if (service == null || !GatewayDeploymentTemplate.managed(gateway)) {
            return List.of();
        }
        List<String> values = new ArrayList<>();
        List<LoadBalancerIngress> ingress = service.getStatus() == null || service.getStatus().getLoadBalancer() == null
                ? List.of() : service.getStatus().getLoadBalancer().getIngress();
        for (LoadBalancerIngress i : ingress) {
            String value = i.getIp() != null && !i.getIp().isEmpty() ? i.getIp() : i.getHostname();
            if (value != null && !value.isEmpty() && !values.contains(value)) {
                values.add(value);
            }
        }
        boolean pending = "LoadBalancer".equals(service.getSpec().getType());
        if (values.isEmpty() && !pending) {
            values.add(service.getMetadata().getName() + "." + service.getMetadata().getNamespace() + "."
                    + Hosts.DOMAIN_SUFFIX);
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
}
