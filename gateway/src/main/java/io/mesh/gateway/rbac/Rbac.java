package io.mesh.gateway.rbac;

import java.util.List;
import java.util.function.Predicate;

/**
 * The RBAC filters of one filter chain, compiled: Envoy's semantics, DENY policies first, then ALLOW. A
 * request is denied when any DENY policy matches, or when an ALLOW filter exists and none of its policies
 * matches. A policy matches when any of its permissions and any of its principals match.
 */
public record Rbac(List<Policy> deny, List<Policy> allow, boolean hasAllowFilter) {

    public record Policy(String name, Predicate<RbacRequest> permissions, Predicate<RbacRequest> principals) {
        boolean matches(RbacRequest r) {
            return permissions.test(r) && principals.test(r);
        }
    }

    /** The name of the policy that decided a denial, or null when the request is allowed. */
    public String denial(RbacRequest r) {
        for (Policy p : deny) {
            if (p.matches(r)) {
                return p.name();
            }
        }
        if (!hasAllowFilter) {
            return null;
        }
        for (Policy p : allow) {
            if (p.matches(r)) {
                return null;
            }
        }
        return "no matching ALLOW policy";
    }
}
