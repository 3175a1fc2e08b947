package io.mesh.gateway.xds;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.mesh.gateway.rbac.Rbac;
import io.mesh.gateway.rbac.RbacRequest;
import io.mesh.gateway.route.HeaderMatch;
import io.mesh.gateway.route.StringMatch;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * Envoy's RBAC HTTP filter config → {@link Rbac} predicates. Supports what istiod generates from
 * AuthorizationPolicy: and/or/not, any, headers, URL paths, destination ports and IPs, authenticated
 * principals and source IPs, and dynamic metadata (request principals and {@code request.auth.*}, from
 * istio_authn). Anything else is rejected with its name, never silently allowed.
 */
final class RbacTranslator {

    private RbacTranslator() {
    }

    /** Adds one filter's policies to {@code deny} or {@code allow}; returns true for an ALLOW filter. */
    static boolean add(RBAC filter, List<Rbac.Policy> deny, List<Rbac.Policy> allow, String where) throws ConfigRejected {
        if (filter.hasMatcher() || filter.hasShadowMatcher()) {
            // Envoy prefers a matcher over rules; ignoring it would enforce (or record) something else.
            throw new ConfigRejected(where + ": RBAC " + (filter.hasMatcher() ? "matcher" : "shadow_matcher")
                    + " (the unified matcher API) is not supported: use rules and shadow_rules");
        }
        if (!filter.hasRules()) {
            return false;   // no rules: the filter enforces nothing (Envoy's shadow-only config: see shadow())
        }
        return add(filter.getRules(), deny, allow, where);
    }

    /**
     * One filter's {@code shadow_rules} (with {@code shadow_rules_stat_prefix}), or null when it has none: evaluated per
     * request without enforcing, the result written as dynamic metadata (how istiod marks the requests a CUSTOM
     * policy sends to ext_authz, and how it runs dry-run policies).
     */
    static Rbac.Shadow shadow(RBAC filter, String where) throws ConfigRejected {
        if (!filter.hasShadowRules()) {
            return null;
        }
        List<Rbac.Policy> deny = new ArrayList<>();
        List<Rbac.Policy> allow = new ArrayList<>();
        boolean allowAction = add(filter.getShadowRules(), deny, allow, where + " shadow_rules");
        return new Rbac.Shadow(filter.getShadowRulesStatPrefix(), allowAction, List.copyOf(allowAction ? allow : deny),
                false);
    }

    /**
     * The network filter's ({@code envoy.filters.network.rbac}, TCP chains) policies, the same way: evaluated once per
     * connection, with no request headers or path (an HTTP-only permission never matches).
     */
    static boolean add(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC filter, List<Rbac.Policy> deny,
            List<Rbac.Policy> allow, String where) throws ConfigRejected {
        if (!filter.hasRules()) {
            return false;
        }
        return add(filter.getRules(), deny, allow, where);
    }

    private static boolean add(io.envoyproxy.envoy.config.rbac.v3.RBAC rules, List<Rbac.Policy> deny, List<Rbac.Policy> allow,
            String where) throws ConfigRejected {
        List<Rbac.Policy> into = switch (rules.getAction()) {
            case ALLOW -> allow;
            case DENY -> deny;
            default -> throw new ConfigRejected(where + ": unsupported RBAC action " + rules.getAction());
        };
        // Envoy evaluates policies in name order; keep it deterministic.
        for (Map.Entry<String, Policy> e : new TreeMap<>(rules.getPoliciesMap()).entrySet()) {
            String at = where + " RBAC policy " + e.getKey();
            Policy p = e.getValue();
            if (p.hasCondition() || p.hasCheckedCondition()) {
                throw new ConfigRejected(at + ": CEL conditions are not supported");
            }
            into.add(new Rbac.Policy(e.getKey(), any(permissions(p.getPermissionsList(), at)),
                    any(principals(p.getPrincipalsList(), at))));
        }
        return rules.getAction() == io.envoyproxy.envoy.config.rbac.v3.RBAC.Action.ALLOW;
    }

    private static List<Predicate<RbacRequest>> permissions(List<Permission> list, String where) throws ConfigRejected {
        List<Predicate<RbacRequest>> out = new ArrayList<>();
        for (Permission p : list) {
            out.add(permission(p, where));
        }
        return out;
    }

    private static Predicate<RbacRequest> permission(Permission p, String where) throws ConfigRejected {
        return switch (p.getRuleCase()) {
            case ANY -> r -> p.getAny();
            case AND_RULES -> all(permissions(p.getAndRules().getRulesList(), where));
            case OR_RULES -> any(permissions(p.getOrRules().getRulesList(), where));
            case NOT_RULE -> permission(p.getNotRule(), where).negate();
            case HEADER -> header(p.getHeader(), where);
            case URL_PATH -> path(RouteTranslator.stringMatch(p.getUrlPath().getPath(), where));
            case DESTINATION_PORT -> r -> r.destinationPort() == p.getDestinationPort();
            case DESTINATION_PORT_RANGE -> r -> r.destinationPort() >= p.getDestinationPortRange().getStart()
                    && r.destinationPort() < p.getDestinationPortRange().getEnd();
            case METADATA -> MetadataMatchTranslator.metadata(p.getMetadata(), where);
            default -> throw new ConfigRejected(where + ": unsupported RBAC permission " + p.getRuleCase());
        };
    }

    private static List<Predicate<RbacRequest>> principals(List<Principal> list, String where) throws ConfigRejected {
        List<Predicate<RbacRequest>> out = new ArrayList<>();
        for (Principal p : list) {
            out.add(principal(p, where));
        }
        return out;
    }

    private static Predicate<RbacRequest> principal(Principal p, String where) throws ConfigRejected {
        return switch (p.getIdentifierCase()) {
            case ANY -> r -> p.getAny();
            case AND_IDS -> all(principals(p.getAndIds().getIdsList(), where));
            case OR_IDS -> any(principals(p.getOrIds().getIdsList(), where));
            case NOT_ID -> principal(p.getNotId(), where).negate();
            case AUTHENTICATED -> {
                if (!p.getAuthenticated().hasPrincipalName()) {
                    yield r -> r.principal() != null;   // any authenticated peer
                }
                StringMatch m = RouteTranslator.stringMatch(p.getAuthenticated().getPrincipalName(), where);
                yield r -> r.principal() != null && m.matches(r.principal());
            }
            case SOURCE_IP -> cidr(p.getSourceIp(), where);
            case DIRECT_REMOTE_IP -> cidr(p.getDirectRemoteIp(), where);
            case REMOTE_IP -> cidr(p.getRemoteIp(), where);
            case HEADER -> header(p.getHeader(), where);
            case URL_PATH -> path(RouteTranslator.stringMatch(p.getUrlPath().getPath(), where));
            case METADATA -> MetadataMatchTranslator.metadata(p.getMetadata(), where);
            default -> throw new ConfigRejected(where + ": unsupported RBAC principal " + p.getIdentifierCase());
        };
    }

    private static Predicate<RbacRequest> header(io.envoyproxy.envoy.config.route.v3.HeaderMatcher h, String where)
            throws ConfigRejected {
        HeaderMatch m = new HeaderMatch(h.getName().toLowerCase(Locale.ROOT), RouteTranslator.headerMatch(h, where),
                h.getInvertMatch());
        return r -> m.matches(r.header(m.name()));
    }

    private static Predicate<RbacRequest> path(StringMatch m) {
        return r -> m.matches(r.path());
    }

    private static Predicate<RbacRequest> cidr(CidrRange range, String where) throws ConfigRejected {
        byte[] net;
        try {
            net = InetAddress.getByName(range.getAddressPrefix()).getAddress();
        } catch (Exception e) {
            throw new ConfigRejected(where + ": invalid CIDR address " + range.getAddressPrefix());
        }
        int bits = range.hasPrefixLen() ? range.getPrefixLen().getValue() : net.length * 8;
        if (bits < 0 || bits > net.length * 8) {
            throw new ConfigRejected(where + ": invalid CIDR prefix length " + bits);
        }
        return r -> {
            if (r.sourceIp() == null) {
                return false;
            }
            try {
                return inRange(InetAddress.getByName(r.sourceIp()).getAddress(), net, bits);
            } catch (Exception e) {
                return false;
            }
        };
    }

    static boolean inRange(byte[] ip, byte[] net, int bits) {
        if (ip.length != net.length) {
            return false;
        }
        for (int i = 0; i < bits; i++) {
            int mask = 0x80 >>> (i % 8);
            if ((ip[i / 8] & mask) != (net[i / 8] & mask)) {
                return false;
            }
        }
        return true;
    }

    private static Predicate<RbacRequest> any(List<Predicate<RbacRequest>> ps) {
        return r -> {
            for (Predicate<RbacRequest> p : ps) {
                if (p.test(r)) {
                    return true;
                }
            }
            return false;
        };
    }

    private static Predicate<RbacRequest> all(List<Predicate<RbacRequest>> ps) {
        return r -> {
            for (Predicate<RbacRequest> p : ps) {
                if (!p.test(r)) {
                    return false;
                }
            }
            return true;
        };
    }
}
