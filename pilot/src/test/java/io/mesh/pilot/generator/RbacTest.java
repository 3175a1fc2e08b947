package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.sidecar;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** AuthorizationPolicy -> the RBAC filters of virtualInbound's chains, asserted on the protos. */
class RbacTest {
    static final ProxyInfo POD = sidecar("10.0.0.1", "demo");

    static String policy(String name, String body) {
        return SidecarInboundTest.WEB + "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: %s, namespace: demo}
                spec:
                %s
                """.formatted(name, body.indent(2));
    }

    /** filter name -> its RBAC rules, in filter order, from the first inbound chain. */
    static Map<String, RBAC> filters(String yaml) {
        var chain = listener(POD, snapshot(yaml), "virtualInbound").getFilterChains(0);
        HttpConnectionManager hcm = unpack(chain.getFilters(0).getTypedConfig(), HttpConnectionManager.class);
        return hcm.getHttpFiltersList().stream().filter(f -> f.getName().startsWith("envoy.filters.http.rbac"))
                .collect(Collectors.toMap(HttpFilter::getName, f -> unpack(f.getTypedConfig(),
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).getRules(),
                        (a, b) -> a, java.util.LinkedHashMap::new));
    }

    static Policy only(RBAC rules) {
        assertEquals(1, rules.getPoliciesCount(), rules.toString());
        return rules.getPoliciesMap().values().iterator().next();
    }

    /** The principal's AND list (one policy, one principal). */
    static List<Principal> principalAnd(Policy p) {
        return p.getPrincipals(0).getAndIds().getIdsList();
    }

    @Test
    void allowFromANamespaceMatchesItsSpiffeIds() {
        Map<String, RBAC> f = filters(policy("from-x", """
                action: ALLOW
                rules:
                - from: [{source: {namespaces: [x]}}]"""));
        assertEquals(List.of("envoy.filters.http.rbac"), List.copyOf(f.keySet()));
        RBAC allow = f.get("envoy.filters.http.rbac");
        assertEquals(RBAC.Action.ALLOW, allow.getAction());
        assertEquals("ns[demo]-policy[from-x]-rule[0]", allow.getPoliciesMap().keySet().iterator().next());
        Policy p = only(allow);
        assertTrue(p.getPermissions(0).getAny());
        Principal ns = principalAnd(p).get(0).getOrIds().getIds(0).getAndIds().getIds(0);
        assertEquals(".*/ns/\\Qx\\E/.*", ns.getAuthenticated().getPrincipalName().getSafeRegex().getRegex());
        assertTrue("spiffe://cluster.local/ns/x/sa/client".matches(
                ns.getAuthenticated().getPrincipalName().getSafeRegex().getRegex()));
        assertTrue(!"spiffe://cluster.local/ns/xy/sa/client".matches(
                ns.getAuthenticated().getPrincipalName().getSafeRegex().getRegex()));
    }

    @Test
    void aHeaderConditionIsAPrincipalHeaderMatcher() {
        Policy p = only(filters(policy("hdr", """
                rules:
                - when:
                  - {key: "request.headers[x-user]", values: [alice, "bob*"], notValues: [mallory]}""")
                ).get("envoy.filters.http.rbac"));
        List<Principal> and = principalAnd(p).get(0).getAndIds().getIdsList();
        assertEquals(2, and.size());
        List<Principal> values = and.get(0).getOrIds().getIdsList();
        assertEquals("x-user", values.get(0).getHeader().getName());
        assertEquals("alice", values.get(0).getHeader().getStringMatch().getExact());
        assertEquals("bob", values.get(1).getHeader().getStringMatch().getPrefix());
        assertEquals("mallory", and.get(1).getNotId().getHeader().getStringMatch().getExact());
    }

    @Test
    void denyIsEvaluatedBeforeAllow() {
        Map<String, RBAC> f = filters(policy("allow-all", "rules: [{}]") + "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: no-admin, namespace: demo}
                spec:
                  action: DENY
                  rules:
                  - to: [{operation: {paths: ["/admin*"]}}]
                """);
        assertEquals(List.of("envoy.filters.http.rbac.deny", "envoy.filters.http.rbac"), List.copyOf(f.keySet()));
        Policy deny = only(f.get("envoy.filters.http.rbac.deny"));
        Permission path = deny.getPermissions(0).getAndRules().getRules(0).getOrRules().getRules(0)
                .getAndRules().getRules(0);
        assertEquals("/admin", path.getUrlPath().getPath().getPrefix());
        assertTrue(deny.getPrincipals(0).getAny());
        Policy allowAll = only(f.get("envoy.filters.http.rbac"));
        assertTrue(allowAll.getPermissions(0).getAny());
        assertTrue(allowAll.getPrincipals(0).getAny());
    }

    @Test
    void operationsAndSourcesWithTheirNegations() {
        Policy p = only(filters(policy("full", """
                rules:
                - from:
                  - source: {principals: ["cluster.local/ns/a/sa/b", "*-reader"], notNamespaces: [evil], ipBlocks: [10.0.0.0/8]}
                  to:
                  - operation: {hosts: [web.example.com, "*.example.org"], notMethods: [DELETE], notPaths: ["*/private"], ports: ["8081"]}
                  when:
                  - {key: destination.port, values: ["8081"]}
                  - {key: source.ip, notValues: [10.1.2.3]}""")).get("envoy.filters.http.rbac"));
        // permissions: AND(OR(operation), destination.port)
        List<Permission> perms = p.getPermissions(0).getAndRules().getRulesList();
        List<Permission> op = perms.get(0).getOrRules().getRules(0).getAndRules().getRulesList();
        List<Permission> hosts = op.get(0).getOrRules().getRulesList();
        assertEquals(":authority", hosts.get(0).getHeader().getName());
        assertTrue("WEB.example.com:8080".matches(hosts.get(0).getHeader().getStringMatch().getSafeRegex().getRegex()));
        assertEquals(".example.org", hosts.get(1).getHeader().getStringMatch().getSuffix());
        assertTrue(hosts.get(1).getHeader().getStringMatch().getIgnoreCase());
        assertEquals(8081, op.get(1).getDestinationPort());
        assertEquals("DELETE", op.get(2).getNotRule().getHeader().getStringMatch().getExact());
        assertEquals(":method", op.get(2).getNotRule().getHeader().getName());
        assertEquals("/private", op.get(3).getNotRule().getUrlPath().getPath().getSuffix());
        assertEquals(8081, perms.get(1).getAndRules().getRules(0).getDestinationPort());
        // principals: AND(OR(source), source.ip)
        List<Principal> ids = principalAnd(p);
        List<Principal> src = ids.get(0).getOrIds().getIds(0).getAndIds().getIdsList();
        List<Principal> principals = src.get(0).getOrIds().getIdsList();
        assertEquals("spiffe://cluster.local/ns/a/sa/b", principals.get(0).getAuthenticated().getPrincipalName().getExact());
        assertEquals("-reader", principals.get(1).getAuthenticated().getPrincipalName().getSuffix());
        assertTrue(src.get(1).getNotId().getAuthenticated().getPrincipalName().getSafeRegex().getRegex().contains("evil"));
        assertEquals("10.0.0.0", src.get(2).getDirectRemoteIp().getAddressPrefix());
        assertEquals(8, src.get(2).getDirectRemoteIp().getPrefixLen().getValue());
        Principal notIp = ids.get(1).getAndIds().getIds(0).getNotId();
        assertEquals("10.1.2.3", notIp.getDirectRemoteIp().getAddressPrefix());
        assertEquals(32, notIp.getDirectRemoteIp().getPrefixLen().getValue());
    }

    @Test
    void eachRuleIsItsOwnPolicySoRulesDoNotMix() {
        RBAC allow = filters(policy("two", """
                rules:
                - from: [{source: {namespaces: [a]}}]
                  to: [{operation: {methods: [GET]}}]
                - from: [{source: {namespaces: [b]}}]
                  to: [{operation: {methods: [POST]}}]""")).get("envoy.filters.http.rbac");
        assertEquals(java.util.Set.of("ns[demo]-policy[two]-rule[0]", "ns[demo]-policy[two]-rule[1]"),
                allow.getPoliciesMap().keySet());
    }

    @Test
    void auditPoliciesHaveNoEffectAndWarn() {
        String yaml = policy("audit", "action: AUDIT\nrules: [{}]");
        assertEquals(Map.of(), filters(yaml));
        RawResource raw = YamlDocuments.parse(yaml, "t.yaml").resources().get(1);
        ConfigValidator.Result r = ConfigValidator.validate(raw);
        assertTrue(r.valid());
        assertEquals(List.of("spec.action: AUDIT has no effect here (no audit logging); the policy is ignored"),
                r.warnings());
    }

    @Test
    void customPoliciesDenyWhatTheirRulesMatchAsIstioDoesWhenItCannotFindTheProvider() {
        String yaml = policy("ext-authz", """
                action: CUSTOM
                provider: {name: sample-ext-authz}
                rules:
                - to: [{operation: {paths: ["/headers"]}}]""");
        Map<String, RBAC> f = filters(yaml);
        assertEquals(List.of("envoy.filters.http.rbac.deny"), List.copyOf(f.keySet()));
        Permission path = only(f.get("envoy.filters.http.rbac.deny")).getPermissions(0).getAndRules().getRules(0)
                .getOrRules().getRules(0).getAndRules().getRules(0);
        assertEquals("/headers", path.getUrlPath().getPath().getExact());
        ConfigValidator.Result r = ConfigValidator.validate(YamlDocuments.parse(yaml, "t.yaml").resources().get(1));
        assertTrue(r.valid(), r.reason());
        assertTrue(r.warnings().get(0).startsWith("spec.action: CUSTOM (external authorization) is served only with an envoyExtAuthzHttp provider"),
                r.warnings().toString());
    }

    static List<String> errors(String spec) {
        RawResource raw = YamlDocuments.parse("""
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: p, namespace: demo}
                spec:
                """ + spec.indent(2), "t.yaml").resources().get(0);
        return ConfigValidator.validate(raw).errors();
    }

    @Test
    void invalidPoliciesAreRejectedWithTheField() {
        assertEquals(List.of("spec.provider.name: must not be empty"), errors("action: CUSTOM\nrules: [{}]"));
        assertEquals(List.of("spec.rules[0].from[0].source.principals: is not supported with action CUSTOM"),
                errors("action: CUSTOM\nprovider: {name: ext}\nrules: [{from: [{source: {principals: [a]}}]}]"));
        assertEquals(List.of("spec.rules[0].when[0].key: unknown key \"request.header[x]\" (supported: "
                + "request.headers[NAME], request.auth.claims[NAME], destination.ip, destination.port, remote.ip, "
                + "request.auth.audiences, request.auth.presenter, request.auth.principal, source.ip, source.namespace, "
                + "source.principal)"), errors("rules: [{when: [{key: \"request.header[x]\", values: [a]}]}]"));
        assertEquals(List.of("spec.rules[0].when[0].key: nested claims (\"request.auth.claims[[a][b]]\") are not "
                + "supported; use a top-level claim, request.auth.claims[NAME]"),
                errors("rules: [{when: [{key: \"request.auth.claims[[a][b]]\", values: [x]}]}]"));
        assertEquals(List.of("spec.rules[0].when[0].key: must be request.auth.claims[NAME], got \"request.auth.claims[]\""),
                errors("rules: [{when: [{key: \"request.auth.claims[]\", values: [x]}]}]"));
        assertEquals(List.of("spec.rules[0].from[0].source.requestPrincipals[0]: \"*\" is only allowed alone, as a "
                + "prefix or as a suffix"), errors("rules: [{from: [{source: {requestPrincipals: [\"a*b*\"]}}]}]"));
        assertEquals(List.of("spec.rules[0].when[0]: values or notValues must be set"),
                errors("rules: [{when: [{key: source.ip}]}]"));
        assertEquals(List.of("spec.rules[0].from[0].source.ipBlocks[0]: \"10.0.0.300\" is not an IP address or CIDR block"),
                errors("rules: [{from: [{source: {ipBlocks: [10.0.0.300]}}]}]"));
        assertEquals(List.of("spec.rules[0].to[0].operation.notPaths[0]: \"*\" is only allowed alone, as a prefix or as a suffix"),
                errors("rules: [{to: [{operation: {notPaths: [\"/a*b*\"]}}]}]"));
        assertEquals(List.of("spec.rules[0].to[0].operation.paht: unknown field \"paht\""),
                errors("rules: [{to: [{operation: {paht: [/a]}}]}]"));
        assertEquals(List.of(), errors("rules: [{from: [{source: {requestPrincipals: [\"*\"], notRequestPrincipals: "
                + "[\"iss/bad\"]}}], when: [{key: \"request.auth.claims[groups]\", values: [admin]}, {key: "
                + "request.auth.audiences, notValues: [x]}, {key: request.auth.presenter, values: [app]}, {key: "
                + "request.auth.principal, values: [\"iss/*\"]}]}]"), "the JWT fields are accepted");
        assertEquals(List.of("spec.rules[0].from[0].source: must not be empty"), errors("rules: [{from: [{source: {}}]}]"));
        assertEquals(List.of("spec.rules[0].when[0]: \"http\" is not a port number"),
                errors("rules: [{when: [{key: destination.port, values: [http]}]}]"));
    }

    // --- TCP ports: envoy.filters.network.rbac before the tcp_proxy, with istiod's HTTP-only-field rule ---

    static final String NETWORK_RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC";

    static String tcpPolicy(String name, String body) {
        return SidecarInboundTest.WEB_AND_DB + "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: %s, namespace: demo}
                spec:
                %s
                """.formatted(name, body.indent(2));
    }

    /**
     * The TCP port's (5433) network RBAC filters, by name in filter order. Both of its chains (PERMISSIVE: -tls
     * and -raw_buffer) must carry the same filters: Istio's metadata exchange first, then each a network RBAC with
     * stat_prefix "tcp.", and the tcp_proxy last.
     */
    static Map<String, RBAC> tcpFilters(String yaml) {
        Listener inbound = listener(POD, snapshot(yaml), "virtualInbound");
        List<Filter> tls = SidecarInboundTest.chain(inbound, "inbound|5433||-tls").getFiltersList();
        List<Filter> plain = SidecarInboundTest.chain(inbound, "inbound|5433||-raw_buffer").getFiltersList();
        assertEquals(tls, plain, "both chains carry the same filters");
        assertEquals("istio.metadata_exchange", tls.get(0).getName());
        assertEquals("envoy.filters.network.tcp_proxy", tls.get(tls.size() - 1).getName());
        Map<String, RBAC> out = new java.util.LinkedHashMap<>();
        for (Filter f : tls.subList(1, tls.size() - 1)) {
            assertEquals(NETWORK_RBAC_TYPE, f.getTypedConfig().getTypeUrl(), f.getName());
            var rbac = unpack(f.getTypedConfig(), io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.class);
            assertEquals("tcp.", rbac.getStatPrefix());
            out.put(f.getName(), rbac.getRules());
        }
        return out;
    }

    /** The HTTP port's (8081) RBAC filters in the same snapshot. */
    static Map<String, RBAC> httpFilters(String yaml) {
        FilterChain c = SidecarInboundTest.chain(listener(POD, snapshot(yaml), "virtualInbound"), "inbound|8081||-tls");
        HttpConnectionManager hcm = unpack(SidecarInboundTest.onlyFilter(c).getTypedConfig(), HttpConnectionManager.class);
        return hcm.getHttpFiltersList().stream().filter(f -> f.getName().startsWith("envoy.filters.http.rbac"))
                .collect(Collectors.toMap(HttpFilter::getName, f -> unpack(f.getTypedConfig(),
                        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).getRules(),
                        (a, b) -> a, java.util.LinkedHashMap::new));
    }

    @Test
    void aDenyFromANamespaceGuardsBothTcpChainsBeforeTheTcpProxy() {
        String yaml = tcpPolicy("no-evil", """
                action: DENY
                rules:
                - from: [{source: {namespaces: [evil]}}]""");
        Map<String, RBAC> f = tcpFilters(yaml);
        assertEquals(List.of("envoy.filters.network.rbac.deny"), List.copyOf(f.keySet()));
        RBAC deny = f.get("envoy.filters.network.rbac.deny");
        assertEquals(RBAC.Action.DENY, deny.getAction());
        assertEquals(java.util.Set.of("ns[demo]-policy[no-evil]-rule[0]"), deny.getPoliciesMap().keySet());
        Policy p = only(deny);
        assertTrue(p.getPermissions(0).getAny());
        String regex = principalAnd(p).get(0).getOrIds().getIds(0).getAndIds().getIds(0).getAuthenticated()
                .getPrincipalName().getSafeRegex().getRegex();
        assertTrue("spiffe://cluster.local/ns/evil/sa/x".matches(regex), regex);
        assertFalse("spiffe://cluster.local/ns/demo/sa/x".matches(regex), regex);
        // No HTTP-only field: the TCP rules are exactly the HTTP port's.
        assertEquals(httpFilters(yaml).get("envoy.filters.http.rbac.deny"), deny);
        // STRICT leaves only the -tls chain; it carries the filter too.
        Listener strict = listener(POD, snapshot(yaml + """
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: demo}
                spec: {mtls: {mode: STRICT}}
                """), "virtualInbound");
        assertEquals(List.of("istio.metadata_exchange", "envoy.filters.network.rbac.deny", "envoy.filters.network.tcp_proxy"),
                SidecarInboundTest.chain(strict, "inbound|5433||-tls").getFiltersList().stream().map(Filter::getName)
                        .toList());
    }

    @Test
    void denyFilterComesBeforeTheAllowFilterOnTcp() {
        Map<String, RBAC> f = tcpFilters(tcpPolicy("allow-x", """
                action: ALLOW
                rules: [{from: [{source: {namespaces: [x]}}]}]""") + "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-ip, namespace: istio-system}
                spec:
                  action: DENY
                  rules: [{from: [{source: {ipBlocks: [192.0.2.0/24]}}]}]
                """);
        assertEquals(List.of("envoy.filters.network.rbac.deny", "envoy.filters.network.rbac"), List.copyOf(f.keySet()));
        assertEquals(java.util.Set.of("ns[istio-system]-policy[deny-ip]-rule[0]"),
                f.get("envoy.filters.network.rbac.deny").getPoliciesMap().keySet());
        assertEquals(RBAC.Action.ALLOW, f.get("envoy.filters.network.rbac").getAction());
        assertEquals(java.util.Set.of("ns[demo]-policy[allow-x]-rule[0]"),
                f.get("envoy.filters.network.rbac").getPoliciesMap().keySet());
    }

    @Test
    void anAllowRuleWithAPathIsDroppedOnTcpSoTheAllowFilterMatchesNothing() {
        String yaml = tcpPolicy("api-only", """
                action: ALLOW
                rules:
                - to: [{operation: {paths: ["/api/*"]}}]""");
        RBAC allow = tcpFilters(yaml).get("envoy.filters.network.rbac");
        assertEquals(RBAC.Action.ALLOW, allow.getAction());
        assertEquals(Map.of(), allow.getPoliciesMap(), "the rule can never match TCP: dropped, the filter allows nothing");
        // The HTTP port keeps the rule.
        assertEquals(java.util.Set.of("ns[demo]-policy[api-only]-rule[0]"),
                httpFilters(yaml).get("envoy.filters.http.rbac").getPoliciesMap().keySet());
    }

    @Test
    void onlyTheAllowRulesWithoutHttpOnlyFieldsReachTcp() {
        RBAC allow = tcpFilters(tcpPolicy("mixed", """
                action: ALLOW
                rules:
                - from: [{source: {namespaces: [a]}}]
                  to: [{operation: {methods: [GET]}}]
                - from: [{source: {namespaces: [b]}}]
                  to: [{operation: {ports: ["5433"]}}, {operation: {hosts: [web.demo]}}]
                - from: [{source: {namespaces: [c]}}]
                  when: [{key: "request.headers[x-user]", values: [alice]}]
                - from: [{source: {namespaces: [d]}}]
                  to: [{operation: {notPaths: [/private]}}]
                - from: [{source: {principals: [cluster.local/ns/e/sa/db-client]}}]
                  to: [{operation: {ports: ["5433"]}}]
                  when: [{key: source.ip, values: [10.1.0.0/16]}]""")).get("envoy.filters.network.rbac");
        assertEquals(java.util.Set.of("ns[demo]-policy[mixed]-rule[4]"), allow.getPoliciesMap().keySet());
        Policy kept = allow.getPoliciesMap().get("ns[demo]-policy[mixed]-rule[4]");
        assertEquals(5433, kept.getPermissions(0).getAndRules().getRules(0).getOrRules().getRules(0).getAndRules()
                .getRules(0).getDestinationPort());
        List<Principal> ids = principalAnd(kept);
        assertEquals("spiffe://cluster.local/ns/e/sa/db-client", ids.get(0).getOrIds().getIds(0).getAndIds().getIds(0)
                .getAuthenticated().getPrincipalName().getExact());
        assertEquals("10.1.0.0", ids.get(1).getAndIds().getIds(0).getDirectRemoteIp().getAddressPrefix());
    }

    @Test
    void aDenyLosesItsHttpOnlyFieldsOnTcpAndSoDeniesMore() {
        String yaml = tcpPolicy("no-admin", """
                action: DENY
                rules:
                - from: [{source: {namespaces: [x]}}]
                  to: [{operation: {paths: [/admin]}}]
                - to: [{operation: {methods: [DELETE], ports: ["5433"]}}]
                  when:
                  - {key: "request.headers[x-debug]", values: ["*"]}
                  - {key: destination.ip, values: [10.0.0.1]}""");
        RBAC deny = tcpFilters(yaml).get("envoy.filters.network.rbac.deny");
        assertEquals(RBAC.Action.DENY, deny.getAction());
        // rule 0: the path-only operation becomes any operation; the namespace part stays.
        Policy fromX = deny.getPoliciesMap().get("ns[demo]-policy[no-admin]-rule[0]");
        assertTrue(fromX.getPermissions(0).getAndRules().getRules(0).getOrRules().getRules(0).getAny(),
                fromX.toString());
        List<Principal> ids = principalAnd(fromX);
        assertEquals(1, ids.size());
        String regex = ids.get(0).getOrIds().getIds(0).getAndIds().getIds(0).getAuthenticated().getPrincipalName()
                .getSafeRegex().getRegex();
        assertTrue("spiffe://cluster.local/ns/x/sa/y".matches(regex), regex);
        assertFalse(fromX.toString().contains("/admin"), fromX.toString());
        // rule 1: the port stays, the method goes; the header condition goes, destination.ip stays.
        Policy rule1 = deny.getPoliciesMap().get("ns[demo]-policy[no-admin]-rule[1]");
        List<Permission> perms = rule1.getPermissions(0).getAndRules().getRulesList();
        assertEquals(2, perms.size());
        List<Permission> op = perms.get(0).getOrRules().getRules(0).getAndRules().getRulesList();
        assertEquals(1, op.size());
        assertEquals(5433, op.get(0).getDestinationPort());
        assertEquals("10.0.0.1", perms.get(1).getAndRules().getRules(0).getDestinationIp().getAddressPrefix());
        assertTrue(rule1.getPrincipals(0).getAny(), "the header condition is gone: any principal");
        assertFalse(rule1.toString().contains("DELETE") || rule1.toString().contains("x-debug"), rule1.toString());
        // The HTTP port's DENY keeps every field.
        Policy http0 = httpFilters(yaml).get("envoy.filters.http.rbac.deny").getPoliciesMap()
                .get("ns[demo]-policy[no-admin]-rule[0]");
        assertTrue(http0.toString().contains("/admin"), http0.toString());
    }

    @Test
    void emptyRulesKeepTheirMeaningOnTcp() {
        Map<String, RBAC> f = tcpFilters(tcpPolicy("nothing", "action: ALLOW") + "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-none, namespace: demo}
                spec: {action: DENY}
                """);
        assertEquals(List.of("envoy.filters.network.rbac.deny", "envoy.filters.network.rbac"), List.copyOf(f.keySet()));
        for (RBAC rules : f.values()) {
            Policy p = only(rules);
            assertTrue(p.getPermissions(0).getNotRule().getAny(), "matches nothing: " + p);
        }
    }

    @Test
    void aTcpPortWithNoApplicablePolicyGetsNoRbacFilter() {
        assertEquals(Map.of(), tcpFilters(SidecarInboundTest.WEB_AND_DB));
        assertEquals(Map.of(), tcpFilters(tcpPolicy("other-workload", """
                selector: {matchLabels: {app: other}}
                action: DENY
                rules: [{}]""") + "---\n" + """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: elsewhere, namespace: other}
                spec: {action: DENY, rules: [{}]}
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: audit, namespace: demo}
                spec: {action: AUDIT, rules: [{}]}
                """));
    }
}
