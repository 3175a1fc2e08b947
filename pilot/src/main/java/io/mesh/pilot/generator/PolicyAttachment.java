package io.mesh.pilot.generator;

import io.mesh.config.PolicyTargetRef;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Map;

/**
 * Whether a workload-level policy (AuthorizationPolicy, RequestAuthentication, Telemetry) attaches to a proxy, as
 * istiod's WorkloadPolicyMatcher.ShouldAttachPolicy decides it for proxies that are not waypoints:
 * <ul>
 * <li>a proxy without the {@code gateway.networking.k8s.io/gateway-name} label (a sidecar, an Istio ingress gateway):
 * by the policy's selector (none: every workload), and never when the policy has {@code targetRefs};</li>
 * <li>a Kubernetes Gateway's pod (that label, as istiod's gateway deployment sets it): a policy without
 * {@code targetRefs} by its selector (istiod's {@code ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY}, on by default); one
 * with them when one names that Gateway ({@code gateway.networking.k8s.io} {@code Gateway}) and the policy is in the
 * proxy's namespace.</li>
 * </ul>
 * Which namespaces' policies are looked at (the proxy's, the root namespace's) is the caller's: each kind has its own
 * rule.
 */
final class PolicyAttachment {
    private PolicyAttachment() {
    }

    static boolean attaches(ProxyInfo proxy, String policyNamespace, Map<String, String> selector,
            List<PolicyTargetRef> targetRefs) {
        String gateway = proxy.labels().get(PolicyTargetRef.GATEWAY_NAME_LABEL);
        if (targetRefs.isEmpty()) {
            return selects(selector, proxy.labels());
        }
        if (gateway == null || !policyNamespace.equals(proxy.namespace())) {
            return false;
        }
        return targetRefs.stream().anyMatch(ref -> ref.kubernetesGateway() && ref.name().equals(gateway));
    }

    static boolean selects(Map<String, String> selector, Map<String, String> labels) {
        return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
    }
}
