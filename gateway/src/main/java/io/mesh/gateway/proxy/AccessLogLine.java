package io.mesh.gateway.proxy;

import java.time.Instant;

/**
 * A request's line in the JSON access log, with the field names of Istio's JSON format ({@code EnvoyJSONLogFormatIstio}):
 * response flags and code details, upstream host and transport failure reason, durations, addresses.
 */
final class AccessLogLine {

    private AccessLogLine() {
    }

    static String of(ExchangeRecord ex, int code, double ms, long received, long sent, String cluster) {
        StringBuilder sb = new StringBuilder(384).append('{');
        field(sb, "start_time", Instant.now().minusNanos((long) (ms * 1e6)).toString());
        field(sb, "method", ex.method());
        field(sb, "path", ex.uri());
        field(sb, "protocol", ex.protocol());
        sb.append("\"response_code\":").append(code).append(',');
        field(sb, "response_flags", RequestLog.flagString(ex.flags()));
        field(sb, "response_code_details", ResponseCodeDetails.of(ex));
        field(sb, "connection_termination_details", null);   // set by network filters only: none before an HCM here
        field(sb, "upstream_transport_failure_reason", ex.upstreamTransportFailure());
        sb.append("\"bytes_received\":").append(received).append(',');
        sb.append("\"bytes_sent\":").append(sent).append(',');
        sb.append("\"duration\":").append((long) ms).append(',');
        sb.append("\"upstream_service_time\":").append(ex.upstreamHeadersNanos() == 0 ? -1
                : (ex.upstreamHeadersNanos() - ex.startNanos()) / 1_000_000).append(',');
        field(sb, "authority", ex.authority());
        field(sb, "upstream_host", ex.upstreamHost());
        field(sb, "upstream_cluster", cluster);
        field(sb, "route_name", ex.routeName());
        field(sb, "x_forwarded_for", ex.requestHeader("x-forwarded-for"));
        field(sb, "user_agent", ex.requestHeader("user-agent"));
        field(sb, "request_id", ex.requestHeader("x-request-id"));
        field(sb, "traceparent", ex.traceparent());
        sb.append("\"attempts\":").append(ex.attempts()).append(',');
        Downstream d = ex.downstream();
        field(sb, "downstream_remote_address", d != null ? (d.source() == null ? null : d.source().toString()) : ex.remoteAddress());
        if (d != null && d.originalDst() != null) {
            field(sb, "downstream_local_address", d.originalDst().toString());
        }
        field(sb, "requested_server_name", ex.requestedServerName());
        sb.setLength(sb.length() - 1);
        return sb.append('}').toString();
    }

    static void field(StringBuilder sb, String name, String value) {
        sb.append('"').append(name).append("\":");
        if (value == null) {
            sb.append("null,");
            return;
        }
        sb.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append("\",");
    }
}
