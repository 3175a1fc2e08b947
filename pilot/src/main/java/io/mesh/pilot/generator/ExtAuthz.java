package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationRequest;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationResponse;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.BufferSettings;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.config.PolicyConfig;
import io.mesh.pilot.model.ExtAuthzProviders;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import io.mesh.pilot.model.ServiceModel;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * AuthorizationPolicy action CUSTOM -> istiod's external authorization HTTP filters (its authz builder with
 * IsCustomBuilder, extauthz.go): an {@code envoy.filters.http.rbac} whose {@code shadow_rules} (action DENY, stat prefix
 * {@code istio_ext_authz_}) hold the CUSTOM rules, named {@code istio-ext-authz-PROVIDER-ns[NS]-policy[NAME]-rule[I]},
 * so that it only records in its dynamic metadata ({@code istio_ext_authz_shadow_effective_policy_id}) which rule
 * matched; then {@code envoy.filters.http.ext_authz}, enabled by that metadata (prefix {@code istio-ext-authz}), which
 * asks the provider's service. Served when every CUSTOM policy of the proxy names the same provider, an
 * {@code envoyExtAuthzHttp} one of the mesh whose service is in the registry; otherwise {@link SidecarInbound#rbacRules}
 * turns the CUSTOM rules into DENY rules, as istiod denies what they match when it cannot use the provider.
 */
final class ExtAuthz {
    static final String RBAC_FILTER = "envoy.filters.http.rbac";
    static final String FILTER = "envoy.filters.http.ext_authz";
    /** istiod's RBACExtAuthzShadowRulesStatPrefix; the RBAC filter prefixes its metadata keys with it. */
    static final String SHADOW_STAT_PREFIX = "istio_ext_authz_";
    static final String MATCH_PREFIX = "istio-ext-authz";
    /** istiod's timeout when the provider sets none. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(600);

    private ExtAuthz() {
    }

    /** The proxy's CUSTOM policies with their provider, its service's hostname and the cluster istiod names for it. */
    record Resolved(ExtAuthzProviders.HttpProvider provider, String hostname, String cluster,
            List<PolicyConfig.AuthorizationPolicy> policies) {
    }

    /** The CUSTOM policies that apply to the proxy, their one provider resolved; empty when none or unusable. */
    static Optional<Resolved> resolve(ProxyInfo proxy, MeshSnapshot snapshot) {
        List<PolicyConfig.AuthorizationPolicy> custom = snapshot.authorizationPolicies().stream()
                .filter(ap -> "CUSTOM".equals(ap.action()) && SidecarInbound.applies(proxy, snapshot, ap)).toList();
        if (custom.isEmpty() || custom.stream().map(PolicyConfig.AuthorizationPolicy::provider).distinct().count() > 1) {
            return Optional.empty();   // istiod: only 1 provider per workload, else deny configs
        }
        ExtAuthzProviders.HttpProvider p = snapshot.mesh().extAuthzProviders().provider(custom.get(0).provider());
        if (p == null) {
            return Optional.empty();
        }
        ServiceModel svc = ExtAuthzProviders.lookup(snapshot.services(), p.service());
        if (svc == null) {
            return Optional.empty();
        }
        return Optional.of(new Resolved(p, svc.hostname(), ClusterNames.outbound(svc.hostname(), p.port(), ""), custom));
    }

    /** The two filters, placed by the caller before the JWT and the DENY/ALLOW ones (istiod's order); none unresolved. */
    static List<HttpFilter> httpFilters(ProxyInfo proxy, MeshSnapshot snapshot) {
        return resolve(proxy, snapshot).map(ExtAuthz::filters).orElse(List.of());
    }

    private static List<HttpFilter> filters(Resolved r) {
        String provider = r.provider().name();
        RBAC.Builder shadow = RBAC.newBuilder().setAction(RBAC.Action.DENY);
        for (PolicyConfig.AuthorizationPolicy ap : r.policies()) {
            if (ap.rules().isEmpty()) {
                shadow.putPolicies(policyName(provider, ap, 0), Rbac.matchNothing());
            }
            for (int i = 0; i < ap.rules().size(); i++) {
                shadow.putPolicies(policyName(provider, ap, i), Rbac.policy(ap.rules().get(i)));
            }
        }
        HttpFilter rbac = HttpFilter.newBuilder().setName(RBAC_FILTER).setTypedConfig(Any.pack(
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setShadowRules(shadow)
                        .setShadowRulesStatPrefix(SHADOW_STAT_PREFIX).build())).build();
        return List.of(rbac, HttpFilter.newBuilder().setName(FILTER).setTypedConfig(Any.pack(extAuthz(r))).build());
    }

    /** istiod's policyName for the CUSTOM builder: the rule name behind its match prefix and provider. */
    static String policyName(String provider, PolicyConfig.AuthorizationPolicy ap, int rule) {
        return MATCH_PREFIX + "-" + provider + "-" + Rbac.policyName(ap, rule);
    }

    /** istiod's generateHTTPConfig. */
    static io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz extAuthz(Resolved r) {
        ExtAuthzProviders.HttpProvider p = r.provider();
        Duration timeout = p.timeout() == null ? DEFAULT_TIMEOUT : p.timeout();
        HttpService.Builder service = HttpService.newBuilder().setPathPrefix(p.pathPrefix())
                .setServerUri(HttpUri.newBuilder().setUri("http://" + r.hostname()).setCluster(r.cluster())
                        .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(timeout.getSeconds())
                                .setNanos(timeout.getNano())));
        if (!p.requestHeaders().isEmpty() || !p.additionalHeaders().isEmpty()) {
            AuthorizationRequest.Builder req = AuthorizationRequest.newBuilder();
            if (!p.requestHeaders().isEmpty()) {
                req.setAllowedHeaders(headers(p.requestHeaders()));
            }
            p.additionalHeaders().forEach((k, v) -> req.addHeadersToAdd(HeaderValue.newBuilder().setKey(k).setValue(v)));
            service.setAuthorizationRequest(req);
        }
        if (!p.upstreamOnAllow().isEmpty() || !p.downstreamOnDeny().isEmpty() || !p.downstreamOnAllow().isEmpty()) {
            AuthorizationResponse.Builder resp = AuthorizationResponse.newBuilder();
            if (!p.upstreamOnAllow().isEmpty()) {
                resp.setAllowedUpstreamHeaders(headers(p.upstreamOnAllow()));
            }
            if (!p.downstreamOnDeny().isEmpty()) {
                resp.setAllowedClientHeaders(headers(p.downstreamOnDeny()));
            }
            if (!p.downstreamOnAllow().isEmpty()) {
                resp.setAllowedClientHeadersOnSuccess(headers(p.downstreamOnAllow()));
            }
            service.setAuthorizationResponse(resp);
        }
        var ext = io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz.newBuilder()
                .setFailureModeAllow(p.failOpen())
                .setTransportApiVersion(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3)
                .setHttpService(service)
                .setFilterEnabledMetadata(MetadataMatcher.newBuilder().setFilter(RBAC_FILTER)
                        .addPath(MetadataMatcher.PathSegment.newBuilder()
                                .setKey(SHADOW_STAT_PREFIX + "shadow_effective_policy_id"))
                        .setValue(ValueMatcher.newBuilder().setStringMatch(
                                StringMatcher.newBuilder().setPrefix(MATCH_PREFIX))));
        if (p.statusOnError() != 0) {
            ext.setStatusOnError(io.envoyproxy.envoy.type.v3.HttpStatus.newBuilder()
                    .setCodeValue(p.statusOnError()));
        }
        if (p.requestBody() != null) {
            ext.setWithRequestBody(BufferSettings.newBuilder().setMaxRequestBytes(p.requestBody().maxRequestBytes())
                    .setAllowPartialMessage(p.requestBody().allowPartialMessage())
                    .setPackAsBytes(p.requestBody().packAsBytes()));
        }
        return ext.build();
    }

    /** istiod's generateHeaders: ignoring case, "*abc" a suffix, "abc*" a prefix, else exact. */
    private static ListStringMatcher headers(List<String> names) {
        ListStringMatcher.Builder out = ListStringMatcher.newBuilder();
        for (String h : names) {
            StringMatcher.Builder m = StringMatcher.newBuilder().setIgnoreCase(true);
            if (h.startsWith("*")) {
                m.setSuffix(h.substring(1));
            } else if (h.endsWith("*")) {
                m.setPrefix(h.substring(0, h.length() - 1));
            } else {
                m.setExact(h);
            }
            out.addPatterns(m);
        }
        return out.build();
    }
}
