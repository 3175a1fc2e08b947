package io.mesh.gateway.xds;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.mesh.gateway.model.ChainTelemetry;

/**
 * An HCM's {@code access_log} and {@code tracing} → {@link ChainTelemetry}. An HCM that sets neither gets null: the
 * gateway's local settings apply (a static bootstrap, or a control plane that does not configure telemetry). One that
 * sets either is the control plane's whole say, as Envoy reads it: no access log entry means no access log, no
 * tracing means none of the local sampling, and Envoy's defaults (100%) fill unset percentages; tracing's custom tags
 * are {@link CustomTagTranslator}'s. The access log is the
 * gateway's JSON line on stdout, so only loggers that write to stdout are accepted; anything else is rejected.
 */
final class HcmTelemetryTranslator {
    static final String FILE_TYPE = "type.googleapis.com/" + FileAccessLog.getDescriptor().getFullName();
    static final String STDOUT_TYPE = "type.googleapis.com/" + StdoutAccessLog.getDescriptor().getFullName();

    private HcmTelemetryTranslator() {
    }

    static ChainTelemetry translate(HttpConnectionManager hcm, String where) throws ConfigRejected {
        if (hcm.getAccessLogCount() == 0 && !hcm.hasTracing()) {
            return null;
        }
        for (AccessLog log : hcm.getAccessLogList()) {
            String type = log.getTypedConfig().getTypeUrl();
            if (log.hasFilter()) {
                throw new ConfigRejected(where + ": access log " + log.getName() + ": filters are not supported (every"
                        + " request is logged)");
            }
            if (type.equals(FILE_TYPE)) {
                String path = ListenerTranslator.unpack(log.getTypedConfig(), FileAccessLog.class, where).getPath();
                if (!path.equals("/dev/stdout")) {
                    throw new ConfigRejected(where + ": access log " + log.getName() + ": the access log is written to"
                            + " stdout only, not to \"" + path + "\" (use /dev/stdout)");
                }
            } else if (!type.equals(STDOUT_TYPE)) {
                throw new ConfigRejected(where + ": unsupported access logger " + log.getName() + " (" + type
                        + "); the file access log to /dev/stdout and the stdout access log are supported");
            }
        }
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
        return new ChainTelemetry(hcm.getAccessLogCount() > 0, sampling, report, tags);
    }
}
