package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.config.PolicyConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * AuthorizationPolicy -> Envoy RBAC policies, in istiod's shape: one policy per rule, named
 * {@code ns[NS]-policy[NAME]-rule[I]}. Its one permission ANDs the OR of the {@code to} operations with the
 * permission-side {@code when} conditions (destination.port, destination.ip); its one principal ANDs the OR of
 * the {@code from} sources with the principal-side conditions (request.headers, source.*, remote.ip). Each field
 * is an OR of its values, each {@code notX} the negation of such an OR. Strings follow Istio: "abc*" is a prefix,
 * "*abc" a suffix, "*" any (present) value.
 */
final class Rbac {
    private Rbac() {
    }

    static String policyName(PolicyConfig.AuthorizationPolicy ap, int rule) {
        return "ns[" + ap.namespace() + "]-policy[" + ap.name() + "]-rule[" + rule + "]";
    }

    static Policy policy(PolicyConfig.Rule rule) {
        List<Permission> perms = new ArrayList<>();
        if (!rule.to().isEmpty()) {
            perms.add(Permission.newBuilder().setOrRules(Permission.Set.newBuilder()
                    .addAllRules(rule.to().stream().map(Rbac::operation).toList())).build());
        }
        List<Principal> ids = new ArrayList<>();
        if (!rule.from().isEmpty()) {
            ids.add(Principal.newBuilder().setOrIds(Principal.Set.newBuilder()
                    .addAllIds(rule.from().stream().map(Rbac::source).toList())).build());
        }
        for (PolicyConfig.Condition c : rule.when()) {
            switch (c.key()) {
                case "destination.port" -> perms.add(permissionCondition(c,
                        v -> Permission.newBuilder().setDestinationPort(Integer.parseInt(v)).build()));
                case "destination.ip" -> perms.add(permissionCondition(c,
                        v -> Permission.newBuilder().setDestinationIp(cidr(v)).build()));
                case "source.ip" -> ids.add(principalCondition(c,
                        v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build()));
                case "remote.ip" -> ids.add(principalCondition(c,
                        v -> Principal.newBuilder().setRemoteIp(cidr(v)).build()));
                case "source.namespace" -> ids.add(principalCondition(c, Rbac::namespace));
                case "source.principal" -> ids.add(principalCondition(c, Rbac::principal));
                case JwtPrincipals.PRINCIPAL -> ids.add(principalCondition(c, JwtPrincipals::requestPrincipal));
                case JwtPrincipals.AUDIENCES -> ids.add(principalCondition(c, JwtPrincipals::audience));
                case JwtPrincipals.PRESENTER -> ids.add(principalCondition(c, JwtPrincipals::presenter));
                default -> {
                    String header = c.header();
                    String claim = c.claim();
                    if (header != null) {
                        ids.add(principalCondition(c, v -> Principal.newBuilder().setHeader(header(header, v)).build()));
                    } else if (claim != null) {
                        ids.add(principalCondition(c, v -> JwtPrincipals.claim(claim, v)));
                    } else {
                        throw new IllegalArgumentException("unvalidated condition key " + c.key());
                    }
                }
            }
        }
        return Policy.newBuilder().addPermissions(andPermissions(perms)).addPrincipals(andPrincipals(ids)).build();
    }

    /**
     * A rule as a TCP chain's network RBAC filter enforces it, as istiod's authz builder does for TCP: the
     * HTTP-only fields (operation hosts/notHosts, methods/notMethods, paths/notPaths, source
     * requestPrincipals/notRequestPrincipals, and every {@code request.*} {@code when} key, request.auth.* included)
     * cannot be evaluated on a connection. An ALLOW rule that uses any of them could never match
     * TCP traffic and is dropped (empty result), so it allows less. A DENY rule loses them and so denies more (an
     * operation with only HTTP-only fields becomes any operation); what remains, source principals, namespaces and
     * IP blocks, operation ports and the other {@code when} keys, applies as in {@link #policy}. Both fail closed.
     */
    static Optional<Policy> tcpPolicy(PolicyConfig.Rule rule, boolean deny) {
        if (!deny) {
            boolean httpOnly = rule.to().stream().anyMatch(Rbac::hasHttpOnlyField)
                    || rule.from().stream().anyMatch(s -> !s.requestPrincipals().isEmpty()
                            || !s.notRequestPrincipals().isEmpty())
                    || rule.when().stream().anyMatch(Rbac::isHttpOnly);
            return httpOnly ? Optional.empty() : Optional.of(policy(rule));
        }
        List<PolicyConfig.Source> from = rule.from().stream().map(s -> new PolicyConfig.Source(s.principals(),
                s.notPrincipals(), s.namespaces(), s.notNamespaces(), s.ipBlocks(), s.notIpBlocks(), s.remoteIpBlocks(),
                s.notRemoteIpBlocks())).toList();
        List<PolicyConfig.Operation> to = rule.to().stream().map(o -> new PolicyConfig.Operation(List.of(), List.of(),
                o.ports(), o.notPorts(), List.of(), List.of(), List.of(), List.of())).toList();
        List<PolicyConfig.Condition> when = rule.when().stream().filter(c -> !isHttpOnly(c)).toList();
        return Optional.of(policy(new PolicyConfig.Rule(from, to, when)));
    }

    private static boolean hasHttpOnlyField(PolicyConfig.Operation o) {
        return !(o.hosts().isEmpty() && o.notHosts().isEmpty() && o.methods().isEmpty() && o.notMethods().isEmpty()
                && o.paths().isEmpty() && o.notPaths().isEmpty());
    }

    /** {@code request.headers[...]} and {@code request.auth.*}. */
    private static boolean isHttpOnly(PolicyConfig.Condition c) {
        return c.key().startsWith("request.");
    }

    /** ALLOW with no rules allows nothing; DENY with no rules denies nothing: Istio's semantics. */
    static Policy matchNothing() {
        return Policy.newBuilder().addPermissions(Permission.newBuilder().setNotRule(Permission.newBuilder().setAny(true)))
                .addPrincipals(Principal.newBuilder().setAny(true)).build();
    }

    private static Permission operation(PolicyConfig.Operation o) {
        List<Permission> and = new ArrayList<>();
        addPermission(and, o.hosts(), o.notHosts(), v -> Permission.newBuilder().setHeader(host(v)).build());
        addPermission(and, o.ports(), o.notPorts(),
                v -> Permission.newBuilder().setDestinationPort(Integer.parseInt(v)).build());
        addPermission(and, o.methods(), o.notMethods(),
                v -> Permission.newBuilder().setHeader(header(":method", v)).build());
        addPermission(and, o.paths(), o.notPaths(), v -> Permission.newBuilder()
                .setUrlPath(PathMatcher.newBuilder().setPath(string(v))).build());
        return andPermissions(and);
    }

    private static Principal source(PolicyConfig.Source s) {
        List<Principal> and = new ArrayList<>();
        addPrincipal(and, s.principals(), s.notPrincipals(), Rbac::principal);
        addPrincipal(and, s.namespaces(), s.notNamespaces(), Rbac::namespace);
        addPrincipal(and, s.ipBlocks(), s.notIpBlocks(),
                v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build());
        addPrincipal(and, s.remoteIpBlocks(), s.notRemoteIpBlocks(),
                v -> Principal.newBuilder().setRemoteIp(cidr(v)).build());
        addPrincipal(and, s.requestPrincipals(), s.notRequestPrincipals(), JwtPrincipals::requestPrincipal);
        return andPrincipals(and);
    }

    private static void addPermission(List<Permission> and, List<String> values, List<String> notValues,
            Function<String, Permission> one) {
        if (!values.isEmpty()) {
            and.add(orPermissions(values.stream().map(one).toList()));
        }
        if (!notValues.isEmpty()) {
            and.add(Permission.newBuilder().setNotRule(orPermissions(notValues.stream().map(one).toList())).build());
        }
    }

    private static void addPrincipal(List<Principal> and, List<String> values, List<String> notValues,
            Function<String, Principal> one) {
        if (!values.isEmpty()) {
            and.add(orPrincipals(values.stream().map(one).toList()));
        }
        if (!notValues.isEmpty()) {
            and.add(Principal.newBuilder().setNotId(orPrincipals(notValues.stream().map(one).toList())).build());
        }
    }

    private static Permission permissionCondition(PolicyConfig.Condition c, Function<String, Permission> one) {
        List<Permission> and = new ArrayList<>();
        addPermission(and, c.values(), c.notValues(), one);
        return andPermissions(and);
    }

    private static Principal principalCondition(PolicyConfig.Condition c, Function<String, Principal> one) {
        List<Principal> and = new ArrayList<>();
        addPrincipal(and, c.values(), c.notValues(), one);
        return andPrincipals(and);
    }

    private static Permission orPermissions(List<Permission> any) {
        return any.size() == 1 ? any.get(0)
                : Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(any)).build();
    }

    private static Permission andPermissions(List<Permission> all) {
        if (all.isEmpty()) {
            return Permission.newBuilder().setAny(true).build();
        }
        return Permission.newBuilder().setAndRules(Permission.Set.newBuilder().addAllRules(all)).build();
    }

    private static Principal orPrincipals(List<Principal> any) {
        return any.size() == 1 ? any.get(0)
                : Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(any)).build();
    }

    private static Principal andPrincipals(List<Principal> all) {
        if (all.isEmpty()) {
            return Principal.newBuilder().setAny(true).build();
        }
        return Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(all)).build();
    }

    /** A peer identity: "spiffe://" + the value, with Istio's prefix/suffix/any forms. */
    static Principal principal(String v) {
        StringMatcher m;
        if (v.equals("*")) {
            m = StringMatcher.newBuilder().setSafeRegex(RouteMatches.regex(".+")).build();
        } else if (v.endsWith("*")) {
            m = StringMatcher.newBuilder().setPrefix("spiffe://" + v.substring(0, v.length() - 1)).build();
        } else if (v.startsWith("*")) {
            m = StringMatcher.newBuilder().setSuffix(v.substring(1)).build();
        } else {
            m = StringMatcher.newBuilder().setExact("spiffe://" + v).build();
        }
        return Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(m)).build();
    }

    /** A peer's namespace, from its SPIFFE ID: regex ".*&#47;ns/NS/.*" ("*" in NS: any characters). */
    static Principal namespace(String v) {
        String ns;
        if (v.equals("*")) {
            ns = ".*";
        } else if (v.endsWith("*")) {
            ns = Pattern.quote(v.substring(0, v.length() - 1)) + ".*";
        } else if (v.startsWith("*")) {
            ns = ".*" + Pattern.quote(v.substring(1));
        } else {
            ns = Pattern.quote(v);
        }
        return Principal.newBuilder().setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(
                StringMatcher.newBuilder().setSafeRegex(RouteMatches.regex(".*/ns/" + ns + "/.*")))).build();
    }

    /** Exact, "abc*" prefix, "*abc" suffix, "*" any non-empty value. */
    static StringMatcher string(String v) {
        if (v.equals("*")) {
            return StringMatcher.newBuilder().setSafeRegex(RouteMatches.regex(".+")).build();
        } else if (v.endsWith("*")) {
            return StringMatcher.newBuilder().setPrefix(v.substring(0, v.length() - 1)).build();
        } else if (v.startsWith("*")) {
            return StringMatcher.newBuilder().setSuffix(v.substring(1)).build();
        }
        return StringMatcher.newBuilder().setExact(v).build();
    }

    /** A header value: "*" means present, otherwise as {@link #string}. */
    static HeaderMatcher header(String name, String v) {
        HeaderMatcher.Builder h = HeaderMatcher.newBuilder().setName(name);
        return v.equals("*") ? h.setPresentMatch(true).build() : h.setStringMatch(string(v)).build();
    }

    /** The :authority, case-insensitive; an exact host also matches with a port ("host:8080"). */
    static HeaderMatcher host(String v) {
        HeaderMatcher.Builder h = HeaderMatcher.newBuilder().setName(":authority");
        if (v.equals("*")) {
            return h.setPresentMatch(true).build();
        }
        if (v.startsWith("*") || v.endsWith("*")) {
            return h.setStringMatch(string(v).toBuilder().setIgnoreCase(true)).build();
        }
        return h.setStringMatch(StringMatcher.newBuilder().setSafeRegex(RouteMatches.regex(
                "(?i)" + Pattern.quote(v) + "(:[0-9]+)?"))).build();
    }

    static CidrRange cidr(String v) {
        int slash = v.indexOf('/');
        String addr = slash < 0 ? v : v.substring(0, slash);
        int len = slash < 0 ? (addr.contains(":") ? 128 : 32) : Integer.parseInt(v.substring(slash + 1));
        return CidrRange.newBuilder().setAddressPrefix(addr).setPrefixLen(com.google.protobuf.UInt32Value.of(len))
                .build();
    }
}
