package io.mesh.gateway.proxy;

import io.mesh.gateway.rbac.Rbac;
import org.jboss.logging.Logger;

/**
 * Enforces the filter chain's RBAC filters (AuthorizationPolicy) before routing, as Envoy's RBAC HTTP filter
 * does: a denied request gets 403 {@code RBAC: access denied} and never reaches the workload.
 */
final class RbacInterceptor implements ProxyInterceptor {

    private static final Logger LOG = Logger.getLogger(RbacInterceptor.class);

    @Override
    public void onRequest(ProxyExchange ex) {
        Rbac rbac = ex.chain == null ? null : ex.chain.rbac();
        if (rbac != null) {
            String denial = rbac.denial(ex);
            if (denial != null) {
                LOG.debugf("RBAC denied %s %s from %s: %s", ex.request.method(), ex.path(), ex.principal(), denial);
                ex.codeDetails = Rbac.responseDetail(denial);   // Envoy's RBAC filter's
                ex.sendLocal(403, null, "RBAC: access denied");
                return;
            }
        }
        ex.next();
    }
}
