package io.mesh.gateway.proxy;

import io.mesh.gateway.rbac.Rbac;
import java.util.Map;

/**
 * The RBAC filters' {@code shadow_rules}, evaluated and never enforced: their results become the request's dynamic
 * metadata under {@code envoy.filters.http.rbac} as Envoy records them ({@code <prefix>shadow_effective_policy_id},
 * {@code <prefix>shadow_engine_result}), where ext_authz's {@code filter_enabled_metadata} and the access log read
 * them. Runs before ext_authz and the enforcing rules.
 */
final class RbacShadowInterceptor implements ProxyInterceptor {

    @Override
    public void onRequest(ProxyExchange ex) {
        Rbac rbac = ex.chain == null ? null : ex.chain.rbac();
        if (rbac != null) {
            Map<String, Object> shadow = rbac.shadowMetadata(ex);
            if (shadow != null) {
                ex.putMetadata(Rbac.METADATA_NAMESPACE, shadow);
            }
        }
        ex.next();
    }
}
