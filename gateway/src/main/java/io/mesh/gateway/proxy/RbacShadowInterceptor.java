package io.mesh.gateway.proxy;

import io.mesh.gateway.rbac.Rbac;
import java.util.Map;

/**
 * The RBAC filters' {@code shadow_rules}, evaluated and never enforced: their results become the request's dynamic
 * metadata under {@code envoy.filters.http.rbac} as Envoy records them ({@code <prefix>shadow_effective_policy_id},
 * {@code <prefix>shadow_engine_result}), where ext_authz's {@code filter_enabled_metadata} and the access log read
 * them. Runs before ext_authz and the enforcing rules; twice in the chain, around jwt_authn, each time for the filters
 * on its side of it.
 */
final class RbacShadowInterceptor implements ProxyInterceptor {

    private final boolean beforeJwt;

    /** {@code beforeJwt}: this one evaluates the filters placed before jwt_authn (istiod's CUSTOM one), else the rest. */
    RbacShadowInterceptor(boolean beforeJwt) {
        this.beforeJwt = beforeJwt;
    }

    @Override
    public void onRequest(ProxyExchange ex) {
        Rbac rbac = ex.chain == null ? null : ex.chain.rbac();
        if (rbac != null && !rbac.shadows().isEmpty()) {
            Map<String, Object> shadow = rbac.shadowMetadata(ex, beforeJwt, ex.dynamicMetadata(Rbac.METADATA_NAMESPACE));
            if (shadow != null) {
                ex.putMetadata(Rbac.METADATA_NAMESPACE, shadow);
            }
        }
        ex.next();
    }
}
