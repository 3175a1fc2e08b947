package io.mesh.gateway.proxy;

/**
 * Envoy's response code details of a finished request ({@code %RESPONSE_CODE_DETAILS%}, the CEL attribute
 * {@code response.code_details}): why the response has its code. A local reply that set them says so itself
 * ({@link ExchangeRecord#codeDetails}: {@code rbac_access_denied_matched_policy[...]},
 * {@code jwt_authn_access_denied{...}}, {@code direct_response}); otherwise they follow from the response flags as
 * Envoy's router writes them ({@code route_not_found}, {@code cluster_not_found}, {@code no_healthy_upstream},
 * {@code response_timeout}, {@code fault_filter_abort}, {@code upstream_reset_before_response_started{REASON}}, ...),
 * and a response the upstream sent is {@code via_upstream}. Derived when the line is written, never on the request
 * path; null when this proxy cannot tell (a downstream protocol error, say).
 */
final class ResponseCodeDetails {

    private ResponseCodeDetails() {
    }

    static String of(ExchangeRecord ex) {
        if (ex.codeDetails != null) {
            return ex.codeDetails;
        }
        int flags = ex.flags();
        boolean started = ex.upstreamHeadersNanos() != 0;
        if (has(flags, ResponseFlag.NR)) {
            return "route_not_found";
        }
        if (has(flags, ResponseFlag.NC)) {
            return "cluster_not_found";
        }
        if (has(flags, ResponseFlag.UH)) {
            return "no_healthy_upstream";
        }
        if (has(flags, ResponseFlag.FI)) {
            return "fault_filter_abort";
        }
        if (has(flags, ResponseFlag.UT)) {
            return "response_timeout";
        }
        if (has(flags, ResponseFlag.UO)) {
            return reset(started, "overflow");
        }
        if (has(flags, ResponseFlag.UF)) {
            String tls = ex.upstreamTransportFailure();
            return reset(started, tls == null ? "connection_failure" : "connection_failure|" + tls);
        }
        if (has(flags, ResponseFlag.UR)) {
            return reset(started, "connection_termination");
        }
        if (has(flags, ResponseFlag.DC)) {
            return "downstream_remote_disconnect";
        }
        if (has(flags, ResponseFlag.DPE)) {
            return null;
        }
        return started ? "via_upstream" : null;
    }

    /** Envoy's JWT filter's details of a refusal: its status text, white space as '_'. */
    static String jwtDenied(String statusText) {
        return "jwt_authn_access_denied{" + statusText.replace(' ', '_') + "}";
    }

    /** Envoy's reset details: the reason (with the transport failure after a '|'), white space as '_'. */
    private static String reset(boolean started, String reason) {
        return (started ? "upstream_reset_after_response_started{" : "upstream_reset_before_response_started{")
                + reason.replaceAll("\\s", "_") + "}";
    }

    private static boolean has(int flags, ResponseFlag f) {
        return (flags & (1 << f.ordinal())) != 0;
    }
}
