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

    /** {@link #denial}'s answer when an ALLOW filter exists and none of its policies matched. */
    public static final String NO_MATCHING_ALLOW = "no matching ALLOW policy";

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
        return NO_MATCHING_ALLOW;
    }

    /**
     * Envoy's RBAC filters' detail of a {@link #denial}: {@code rbac_access_denied_matched_policy[NAME]}, NAME the policy
     * that matched (Istio's {@code ns[NS]-policy[NAME]-rule[N]}) or {@code none} when no ALLOW policy did, its white
     * space replaced by '_'. The HTTP filter's response code details, the network filter's connection termination
     * details.
     */
    public static String responseDetail(String denial) {
        String id = denial == null || denial.equals(NO_MATCHING_ALLOW) ? "none" : denial;
        StringBuilder b = new StringBuilder(id.length() + 35).append("rbac_access_denied_matched_policy[");
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            b.append(c == ' ' || c == '\t' || c == '\f' || c == 0x0B || c == '\n' || c == '\r' ? '_' : c);
        }
        return b.append(']').toString();
    }
}
