package io.mesh.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Istio's default access log formats (istio/istio pilot/pkg/model/telemetry_logging.go): the text format istiod sends for
 * {@code accessLogEncoding: TEXT} ({@code EnvoyTextLogFormat}) and the JSON labels for {@code JSON}
 * ({@code EnvoyJSONLogFormatIstio}). pilot writes them into the FileAccessLog it sends; the gateway renders the labels
 * as its own line when no control plane configures its access log.
 */
public final class IstioAccessLogFormats {
    /** {@code EnvoyTextLogFormat}, with its final newline. */
    public static final String TEXT = "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\""
            + " %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%"
            + " \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%"
            + " %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\""
            + " \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER_RAW%"
            + " %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%"
            + " %ROUTE_NAME%\n";

    /** {@code EnvoyJSONLogFormatIstio}: label to format string, in istiod's order. */
    public static final Map<String, String> JSON_LABELS = jsonLabels();

    private IstioAccessLogFormats() {
    }

    private static Map<String, String> jsonLabels() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("start_time", "%START_TIME%");
        m.put("route_name", "%ROUTE_NAME%");
        m.put("method", "%REQ(:METHOD)%");
        m.put("path", "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%");
        m.put("protocol", "%PROTOCOL%");
        m.put("response_code", "%RESPONSE_CODE%");
        m.put("response_flags", "%RESPONSE_FLAGS%");
        m.put("response_code_details", "%RESPONSE_CODE_DETAILS%");
        m.put("connection_termination_details", "%CONNECTION_TERMINATION_DETAILS%");
        m.put("bytes_received", "%BYTES_RECEIVED%");
        m.put("bytes_sent", "%BYTES_SENT%");
        m.put("duration", "%DURATION%");
        m.put("upstream_service_time", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%");
        m.put("x_forwarded_for", "%REQ(X-FORWARDED-FOR)%");
        m.put("user_agent", "%REQ(USER-AGENT)%");
        m.put("request_id", "%REQ(X-REQUEST-ID)%");
        m.put("authority", "%REQ(:AUTHORITY)%");
        m.put("upstream_host", "%UPSTREAM_HOST%");
        m.put("upstream_cluster", "%UPSTREAM_CLUSTER_RAW%");
        m.put("upstream_local_address", "%UPSTREAM_LOCAL_ADDRESS%");
        m.put("downstream_local_address", "%DOWNSTREAM_LOCAL_ADDRESS%");
        m.put("downstream_remote_address", "%DOWNSTREAM_REMOTE_ADDRESS%");
        m.put("requested_server_name", "%REQUESTED_SERVER_NAME%");
        m.put("upstream_transport_failure_reason", "%UPSTREAM_TRANSPORT_FAILURE_REASON%");
        return Collections.unmodifiableMap(m);
    }
}
