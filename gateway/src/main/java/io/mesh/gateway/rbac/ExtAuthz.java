package io.mesh.gateway.rbac;

import io.mesh.gateway.route.RequestView;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Envoy's {@code envoy.filters.http.ext_authz} filter with an {@code http_service}, compiled: where the check goes
 * ({@code cluster}, within {@code timeoutMs}, 0 = none; the request's path after {@code pathPrefix}), which client
 * headers it carries ({@code requestHeaders}: Envoy's always-sent authorization, :method, :path and host, plus
 * {@code allowed_headers}) and which headers are set on it ({@code headersToAdd}), and which of the authorization
 * server's answer headers go where: onto the upstream request on allow, set ({@code upstreamHeaders}) or appended
 * ({@code upstreamHeadersToAppend}); to the client on deny ({@code clientHeaders}) or on allow
 * ({@code clientHeadersOnSuccess}). A check that fails (timeout, connection failure, a 5xx) answers
 * {@code statusOnError}, or lets the request through with {@code failureModeAllow} (marked with
 * {@code x-envoy-auth-failure-mode-allowed} when {@code failureModeAllowHeaderAdd}). The check runs only for requests
 * {@code enabled} matches (Envoy's {@code filter_enabled_metadata}; null = every request). {@code beforeJwt}: the filter
 * comes before the chain's jwt_authn filter, as istiod orders CUSTOM (false when there is none). With
 * {@code with_request_body}, the check carries the request body up to {@code maxRequestBytes} (0: no body): a longer
 * body gets 413, or with {@code allowPartialMessage} its first {@code maxRequestBytes}.
 *
 * <p>Header name predicates take lower-case names.
 */
public record ExtAuthz(String cluster, long timeoutMs, String pathPrefix, Predicate<String> requestHeaders,
        List<Map.Entry<String, String>> headersToAdd, Predicate<String> upstreamHeaders,
        Predicate<String> upstreamHeadersToAppend, Predicate<String> clientHeaders,
        Predicate<String> clientHeadersOnSuccess, boolean failureModeAllow, boolean failureModeAllowHeaderAdd,
        int statusOnError, Predicate<RequestView> enabled, boolean beforeJwt, long maxRequestBytes,
        boolean allowPartialMessage) {

    /** Envoy's status_on_error when not set: 403 Forbidden. */
    public static final int DEFAULT_STATUS_ON_ERROR = 403;
    /** The header a check's OK answer names request headers to remove in (comma-separated), as Envoy reads it. */
    public static final String HEADERS_TO_REMOVE = "x-envoy-auth-headers-to-remove";
    /** The header added to a request let through by failure_mode_allow when failure_mode_allow_header_add is set. */
    public static final String FAILURE_MODE_ALLOWED = "x-envoy-auth-failure-mode-allowed";
    /** The header Envoy sets on a request whose body goes to the check: whether it was cut at max_request_bytes. */
    public static final String PARTIAL_BODY = "x-envoy-auth-partial-body";

    public ExtAuthz {
        headersToAdd = List.copyOf(headersToAdd);
    }

    public ExtAuthz withBeforeJwt(boolean before) {
        return new ExtAuthz(cluster, timeoutMs, pathPrefix, requestHeaders, headersToAdd, upstreamHeaders,
                upstreamHeadersToAppend, clientHeaders, clientHeadersOnSuccess, failureModeAllow, failureModeAllowHeaderAdd,
                statusOnError, enabled, before, maxRequestBytes, allowPartialMessage);
    }

    /** Whether this request is checked. */
    public boolean appliesTo(RequestView r) {
        return enabled == null || enabled.test(r);
    }
}
