package io.mesh.gateway.rbac;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The RBAC filters of one filter chain, compiled: Envoy's semantics, DENY policies first, then ALLOW. A
 * request is denied when any DENY policy matches, or when an ALLOW filter exists and none of its policies
 * matches. A policy matches when any of its permissions and any of its principals match. The filters' shadow rules
 * ({@code shadows}) are evaluated without enforcing: their results become dynamic metadata ({@link #shadowMetadata}).
 */
public record Rbac(List<Policy> deny, List<Policy> allow, boolean hasAllowFilter, List<Shadow> shadows) {

    /** The dynamic metadata namespace Envoy's RBAC HTTP filter writes its shadow results under. */
    public static final String METADATA_NAMESPACE = "envoy.filters.http.rbac";

    public Rbac {
        shadows = shadows == null ? List.of() : List.copyOf(shadows);
    }

    /** Filters without shadow rules. */
    public Rbac(List<Policy> deny, List<Policy> allow, boolean hasAllowFilter) {
        this(deny, allow, hasAllowFilter, List.of());
    }

    /**
     * One RBAC filter's {@code shadow_rules}, with its {@code shadow_rules_stat_prefix}: its policies in name order (as
     * Envoy's engine walks them), whether its action is ALLOW (else DENY), and whether its filter comes before the
     * chain's jwt_authn filter ({@code beforeJwt}: istiod puts the CUSTOM one there; false when there is none).
     */
    public record Shadow(String prefix, boolean allowAction, List<Policy> policies, boolean beforeJwt) {

        public Shadow withBeforeJwt(boolean before) {
            return new Shadow(prefix, allowAction, policies, before);
        }

        /** Writes Envoy's two keys: the first matching policy's name (when one matches) and the engine's result. */
        void evaluate(RbacRequest r, Map<String, Object> into) {
            String matched = null;
            for (Policy p : policies) {
                if (p.matches(r)) {
                    matched = p.name();
                    break;
                }
            }
            if (matched != null) {
                into.put(prefix + "shadow_effective_policy_id", matched);
            }
            boolean allowed = allowAction == (matched != null);
            into.put(prefix + "shadow_engine_result", allowed ? "allowed" : "denied");
        }
    }

    /**
     * The shadow rules' results for this request, as Envoy's RBAC filters record them under
     * {@link #METADATA_NAMESPACE}: {@code <prefix>shadow_effective_policy_id} and {@code <prefix>shadow_engine_result}
     * per filter (later filters' keys over earlier ones'); null when there are no shadow rules.
     */
    public Map<String, Object> shadowMetadata(RbacRequest r) {
        return shadowMetadata(r, false, null);
    }

    /**
     * {@link #shadowMetadata} of the filters on one side of jwt_authn ({@code beforeJwt}), added to {@code into} (the
     * metadata the other side wrote, or null); null when that side has none and {@code into} is null.
     */
    public Map<String, Object> shadowMetadata(RbacRequest r, boolean beforeJwt, Map<String, Object> into) {
        Map<String, Object> out = into;
        for (Shadow s : shadows) {
            if (s.beforeJwt() == beforeJwt) {
                if (out == null) {
                    out = new HashMap<>(4);
                }
                s.evaluate(r, out);
            }
        }
        return out;
    }

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
