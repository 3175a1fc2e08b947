package io.mesh.gateway.xds;

import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.mesh.gateway.route.StringMatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Envoy's {@code envoy.filters.http.ext_authz} HTTP filter → {@link io.mesh.gateway.rbac.ExtAuthz}: the
 * {@code http_service} form istiod generates for an AuthorizationPolicy CUSTOM provider ({@code envoyExtAuthzHttp}).
 * What this proxy cannot do is rejected by field name, never ignored: a {@code grpc_service}, runtime-fraction enabling, {@code disallowed_headers}, header mutation rules and
 * metadata from the answer's headers.
 */
final class ExtAuthzTranslator {

    static final String TYPE = "type.googleapis.com/" + ExtAuthz.getDescriptor().getFullName();

    /** Client headers Envoy always sends in the check (ClientConfig::toRequestMatchers), besides content-length. */
    private static final Set<String> ALWAYS_SENT = Set.of("authorization", ":method", ":path", "host");
    /** Answer headers always sent to a denied client once allowed_client_headers lists any (toClientMatchers). */
    private static final Set<String> ALWAYS_TO_CLIENT = Set.of(":status", "content-length", "www-authenticate", "location");

    private ExtAuthzTranslator() {
    }

    static io.mesh.gateway.rbac.ExtAuthz translate(ExtAuthz f, String where) throws ConfigRejected {
        if (f.hasGrpcService()) {
            throw new ConfigRejected(where + ": ext_authz grpc_service is not supported (only http_service): use an"
                    + " envoyExtAuthzHttp provider");
        }
        if (!f.hasHttpService()) {
            throw new ConfigRejected(where + ": ext_authz needs an http_service");
        }
        long maxBody = 0;
        if (f.hasWithRequestBody()) {
            maxBody = f.getWithRequestBody().getMaxRequestBytes();
            if (maxBody <= 0) {
                throw new ConfigRejected(where + ": ext_authz with_request_body.max_request_bytes must be above 0");
            }
        }
        if (f.hasFilterEnabled()) {
            throw new ConfigRejected(where + ": ext_authz filter_enabled (a runtime fraction) is not supported");
        }
        if (f.hasDenyAtDisable()) {
            throw new ConfigRejected(where + ": ext_authz deny_at_disable is not supported");
        }
        if (f.hasDisallowedHeaders()) {
            throw new ConfigRejected(where + ": ext_authz disallowed_headers is not supported");
        }
        if (f.hasDecoderHeaderMutationRules()) {
            throw new ConfigRejected(where + ": ext_authz decoder_header_mutation_rules is not supported");
        }
        HttpService http = f.getHttpService();
        if (!http.hasServerUri() || http.getServerUri().getCluster().isEmpty()) {
            throw new ConfigRejected(where + ": ext_authz http_service.server_uri needs a cluster");
        }
        var uri = http.getServerUri();
        if (!uri.hasTimeout()) {
            throw new ConfigRejected(where + ": ext_authz http_service.server_uri.timeout is required");
        }
        var t = uri.getTimeout();
        if (t.getSeconds() < 0 || t.getNanos() < 0) {
            throw new ConfigRejected(where + ": ext_authz http_service.server_uri.timeout must not be negative");
        }
        long timeoutMs = t.getSeconds() * 1000 + t.getNanos() / 1_000_000;
        if (http.getAuthorizationResponse().hasDynamicMetadataFromHeaders()) {
            throw new ConfigRejected(where + ": ext_authz authorization_response.dynamic_metadata_from_headers is not"
                    + " supported");
        }
        if (f.hasAllowedHeaders() && http.getAuthorizationRequest().hasAllowedHeaders()) {
            throw new ConfigRejected(where + ": ext_authz allowed_headers is set both on the filter and on"
                    + " http_service.authorization_request: set one");
        }
        ListStringMatcher allowed = f.hasAllowedHeaders() ? f.getAllowedHeaders()
                : http.getAuthorizationRequest().getAllowedHeaders();
        Predicate<String> request = or(names(ALWAYS_SENT), matchers(allowed, where + " allowed_headers"));
        List<Map.Entry<String, String>> add = new ArrayList<>();
        for (var h : http.getAuthorizationRequest().getHeadersToAddList()) {
            if (h.getKey().isEmpty()) {
                throw new ConfigRejected(where + ": ext_authz authorization_request.headers_to_add needs a key");
            }
            add.add(Map.entry(h.getKey().toLowerCase(Locale.ROOT), h.getValue()));
        }
        var resp = http.getAuthorizationResponse();
        Predicate<String> client = resp.getAllowedClientHeaders().getPatternsCount() == 0
                ? name -> !name.equals("host")   // not set: every answer header but Host
                : or(names(ALWAYS_TO_CLIENT), matchers(resp.getAllowedClientHeaders(), where + " allowed_client_headers"));
        int statusOnError = io.mesh.gateway.rbac.ExtAuthz.DEFAULT_STATUS_ON_ERROR;
        if (f.hasStatusOnError() && f.getStatusOnError().getCodeValue() != 0) {
            statusOnError = f.getStatusOnError().getCodeValue();
            if (statusOnError < 200 || statusOnError > 599) {
                throw new ConfigRejected(where + ": ext_authz status_on_error " + statusOnError + " is not an HTTP status");
            }
        }
        return new io.mesh.gateway.rbac.ExtAuthz(uri.getCluster(), timeoutMs, http.getPathPrefix(), request, add,
                matchers(resp.getAllowedUpstreamHeaders(), where + " allowed_upstream_headers"),
                matchers(resp.getAllowedUpstreamHeadersToAppend(), where + " allowed_upstream_headers_to_append"),
                client, matchers(resp.getAllowedClientHeadersOnSuccess(), where + " allowed_client_headers_on_success"),
                f.getFailureModeAllow(), f.getFailureModeAllowHeaderAdd(), statusOnError,
                f.hasFilterEnabledMetadata()
                        ? MetadataMatchTranslator.metadata(f.getFilterEnabledMetadata(), where + " filter_enabled_metadata")
                        : null, false, maxBody, f.getWithRequestBody().getAllowPartialMessage());
    }

    /** A ListStringMatcher on header names: any of its patterns (none: nothing matches). */
    private static Predicate<String> matchers(ListStringMatcher list, String where) throws ConfigRejected {
        List<StringMatch> ms = new ArrayList<>();
        for (var p : list.getPatternsList()) {
            ms.add(RouteTranslator.stringMatch(p, where));
        }
        if (ms.isEmpty()) {
            return name -> false;
        }
        return name -> {
            for (StringMatch m : ms) {
                if (m.matches(name)) {
                    return true;
                }
            }
            return false;
        };
    }

    private static Predicate<String> names(Set<String> names) {
        return names::contains;
    }

    private static Predicate<String> or(Predicate<String> a, Predicate<String> b) {
        return name -> a.test(name) || b.test(name);
    }
}
