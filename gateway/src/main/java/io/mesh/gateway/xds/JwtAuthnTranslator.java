package io.mesh.gateway.xds;

import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.mesh.gateway.jwt.Jwks;
import io.mesh.gateway.jwt.JwtAuthn;
import io.mesh.gateway.jwt.JwtProvider;
import io.mesh.gateway.jwt.JwtRequirement;
import io.mesh.gateway.jwt.VerifiedTokens;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code envoy.filters.http.jwt_authn} → {@link JwtAuthn}. Keys must be inline ({@code local_jwks}): pilot inlines
 * each RequestAuthentication's JWKS, as istiod does by default, so {@code remote_jwks} (fetching keys from the data
 * plane) is rejected, and so is every field this proxy would otherwise silently ignore. A JWKS that is not a key set
 * is rejected with jwt_verify_lib's reason, so the previous config stays in force.
 */
final class JwtAuthnTranslator {

    static final String TYPE = "type.googleapis.com/" + JwtAuthentication.getDescriptor().getFullName();

    private JwtAuthnTranslator() {
    }

    static JwtAuthn translate(JwtAuthentication c, String where) throws ConfigRejected {
        if (c.hasFilterStateRules()) {
            throw new ConfigRejected(where + ": jwt_authn filter_state_rules are not supported");
        }
        if (c.getRequirementMapCount() > 0) {
            throw new ConfigRejected(where + ": jwt_authn requirement_map (per-route requirements) is not supported");
        }
        if (c.getStripFailureResponse()) {
            throw new ConfigRejected(where + ": jwt_authn strip_failure_response is not supported");
        }
        // Config order: the order pilot wrote the providers in (protobuf keeps a map's wire order).
        Map<String, JwtProvider> providers = new LinkedHashMap<>();
        for (var e : c.getProvidersMap().entrySet()) {
            providers.put(e.getKey(), provider(e.getKey(), e.getValue(), where + " provider " + e.getKey()));
        }
        List<JwtProvider> all = List.copyOf(providers.values());
        List<JwtAuthn.Rule> rules = new ArrayList<>();
        for (int i = 0; i < c.getRulesCount(); i++) {
            RequirementRule r = c.getRules(i);
            String at = where + " rule " + i;
            if (r.hasRequirementName()) {
                throw new ConfigRejected(at + ": requirement_name is not supported (inline the requirement in requires)");
            }
            if (!r.hasMatch()) {
                throw new ConfigRejected(at + ": a rule needs a match");
            }
            var route = RouteTranslator.route(io.envoyproxy.envoy.config.route.v3.Route.newBuilder().setName("jwt rule " + i)
                    .setMatch(r.getMatch()).setDirectResponse(DirectResponseAction.newBuilder().setStatus(200)).build(), at);
            rules.add(new JwtAuthn.Rule(route, r.hasRequires() ? requirement(r.getRequires(), providers, all, at)
                    : new JwtRequirement.AllowAll()));
        }
        return new JwtAuthn(all, rules, c.getBypassCorsPreflight(), false);
    }

    private static JwtRequirement requirement(io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement q,
            Map<String, JwtProvider> providers, List<JwtProvider> all, String where) throws ConfigRejected {
        return switch (q.getRequiresTypeCase()) {
            case PROVIDER_NAME -> JwtRequirement.provider(named(q.getProviderName(), providers, where), null);
            case PROVIDER_AND_AUDIENCES -> JwtRequirement.provider(named(q.getProviderAndAudiences().getProviderName(),
                    providers, where), q.getProviderAndAudiences().getAudiencesList());
            case REQUIRES_ANY -> {
                List<JwtRequirement> children = new ArrayList<>();
                boolean allowMissing = false;
                boolean allowFailed = false;
                for (var r : q.getRequiresAny().getRequirementsList()) {
                    switch (r.getRequiresTypeCase()) {
                        case ALLOW_MISSING -> allowMissing = true;
                        case ALLOW_MISSING_OR_FAILED -> allowFailed = true;
                        default -> children.add(requirement(r, providers, all, where));
                    }
                }
                yield JwtRequirement.anyOf(children, allowMissing, allowFailed, all);
            }
            case REQUIRES_ALL -> {
                List<JwtRequirement> children = new ArrayList<>();
                for (var r : q.getRequiresAll().getRequirementsList()) {
                    children.add(requirement(r, providers, all, where));
                }
                yield JwtRequirement.allOf(children);
            }
            case ALLOW_MISSING -> JwtRequirement.allowMissing(all);
            case ALLOW_MISSING_OR_FAILED -> JwtRequirement.allowMissingOrFailed(all);
            case REQUIRESTYPE_NOT_SET -> new JwtRequirement.AllowAll();
        };
    }

    private static JwtProvider named(String name, Map<String, JwtProvider> providers, String where) throws ConfigRejected {
        JwtProvider p = providers.get(name);
        if (p == null) {
            throw new ConfigRejected(where + ": Required provider ['" + name + "'] is not configured.");
        }
        return p;
    }

    private static JwtProvider provider(String name, io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider p,
            String where) throws ConfigRejected {
        if (p.hasRemoteJwks()) {
            throw new ConfigRejected(where + ": remote_jwks is not supported: the JWKS must be inline (local_jwks"
                    + " inline_string), as pilot and istiod send it; this proxy does not fetch keys");
        }
        if (!p.hasLocalJwks()) {
            throw new ConfigRejected(where + ": no JWKS (local_jwks inline_string is required)");
        }
        String json = switch (p.getLocalJwks().getSpecifierCase()) {
            case INLINE_STRING -> p.getLocalJwks().getInlineString();
            case INLINE_BYTES -> p.getLocalJwks().getInlineBytes().toString(StandardCharsets.UTF_8);
            default -> throw new ConfigRejected(where + ": local_jwks " + p.getLocalJwks().getSpecifierCase()
                    + " is not supported (inline_string or inline_bytes)");
        };
        Jwks jwks;
        try {
            jwks = Jwks.parse(json);
        } catch (Jwks.InvalidJwks e) {
            throw new ConfigRejected(where + ": local_jwks: " + e.getMessage());
        }
        if (p.hasSubjects()) {
            throw new ConfigRejected(where + ": subjects is not supported");
        }
        if (p.getRequireExpiration() || p.hasMaxLifetime()) {
            throw new ConfigRejected(where + ": require_expiration and max_lifetime are not supported");
        }
        if (p.hasNormalizePayloadInMetadata()) {
            throw new ConfigRejected(where + ": normalize_payload_in_metadata is not supported");
        }
        if (!p.getFailedStatusInMetadata().isEmpty()) {
            throw new ConfigRejected(where + ": failed_status_in_metadata is not supported");
        }
        List<JwtProvider.HeaderLocation> headers = new ArrayList<>();
        for (var h : p.getFromHeadersList()) {
            if (h.getName().isEmpty()) {
                throw new ConfigRejected(where + ": from_headers entry without a name");
            }
            headers.add(new JwtProvider.HeaderLocation(h.getName(), h.getValuePrefix()));
        }
        List<JwtProvider.ClaimToHeader> claims = new ArrayList<>();
        for (var ch : p.getClaimToHeadersList()) {
            if (ch.getHeaderName().isEmpty() || ch.getClaimName().isEmpty()) {
                throw new ConfigRejected(where + ": claim_to_headers needs header_name and claim_name");
            }
            claims.add(new JwtProvider.ClaimToHeader(ch.getHeaderName(), ch.getClaimName()));
        }
        return new JwtProvider(name, p.getIssuer(), p.getAudiencesList(), jwks, headers, p.getFromParamsList(),
                p.getFromCookiesList(), p.getForward(), emptyToNull(p.getForwardPayloadHeader()),
                p.getPadForwardPayloadHeader(), claims, emptyToNull(p.getPayloadInMetadata()),
                emptyToNull(p.getHeaderInMetadata()), p.getClockSkewSeconds() > 0 ? p.getClockSkewSeconds() : 60,
                new VerifiedTokens(p.hasJwtCacheConfig() && p.getJwtCacheConfig().getJwtCacheSize() > 0
                        ? p.getJwtCacheConfig().getJwtCacheSize() : VerifiedTokens.DEFAULT_SIZE));
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
