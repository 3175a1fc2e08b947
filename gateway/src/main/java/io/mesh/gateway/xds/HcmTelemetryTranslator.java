package io.mesh.gateway.xds;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.gateway.model.ChainTelemetry;

/**
 * An HCM's {@code access_log} and {@code tracing} → {@link ChainTelemetry}. An HCM that sets neither gets null: the
 * gateway's local settings apply (a static bootstrap, or a control plane that does not configure telemetry). One that
 * sets either is the control plane's whole say, as Envoy reads it: no access log entry means no access log, no
 * tracing means none of the local sampling, and Envoy's defaults (100%) fill unset percentages; tracing's custom tags
 * are {@link CustomTagTranslator}'s. Each access log is a line on stdout in its format, under its CEL filter, if any
 * ({@link AccessLogTranslator}).
 */
final class HcmTelemetryTranslator {
    private HcmTelemetryTranslator() {
    }

    static ChainTelemetry translate(HttpConnectionManager hcm, String where) throws ConfigRejected {
        if (hcm.getAccessLogCount() == 0 && !hcm.hasTracing()) {
            return null;
        }
        java.util.List<io.mesh.gateway.model.AccessLogEntry> logs = AccessLogTranslator.entries(hcm.getAccessLogList(),
                where);
        double sampling = 0;
        boolean report = false;
        io.mesh.gateway.model.SpanTags tags = null;
        if (hcm.hasTracing()) {
            HttpConnectionManager.Tracing t = hcm.getTracing();
            if (t.hasProvider()) {
                throw new ConfigRejected(where + ": tracing provider " + t.getProvider().getName() + " is not supported"
                        + " (spans go to the gateway's own OTLP exporter)");
            }
            sampling = t.hasRandomSampling() ? t.getRandomSampling().getValue() : 100;
            if (!(sampling >= 0 && sampling <= 100)) {
                throw new ConfigRejected(where + ": tracing random_sampling " + sampling + " is not a percentage");
            }
            report = !t.hasOverallSampling() || t.getOverallSampling().getValue() > 0;
            tags = CustomTagTranslator.translate(t.getCustomTagsList(), where, System::getenv);
        }
        return new ChainTelemetry(logs, sampling, report, tags);
    }
}
