package io.mesh.gateway.xds;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.mesh.config.AttributeExpression;
import io.mesh.gateway.model.AccessLogEntry;
import io.mesh.gateway.model.AccessLogFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code access_log} entries of an HCM or a tcp_proxy → the chain's access logs, each with its filter and its format,
 * as Envoy keeps each entry: each writes its own line. The lines go to stdout, so only loggers that write there are
 * accepted (the file access log to {@code /dev/stdout}, the stdout access log). The format is the logger's
 * {@code log_format} ({@code text_format_source} as an inline string, or {@code json_format}; none: Envoy's default
 * text format), compiled once with Envoy's command operators ({@link AccessLogFormat}); an operator not served or text
 * that is not one is rejected, the operator and position named. The one filter served is istiod's: Envoy's CEL
 * ExtensionFilter ({@code envoy.access_loggers.extension_filters.cel}, {@link ExpressionFilter}), compiled here with the
 * mesh's CEL subset; an expression it cannot compile is rejected with the reason and the position, as is any other kind
 * of filter, so the last good listener stays.
 */
final class AccessLogTranslator {
    static final String FILE_TYPE = "type.googleapis.com/" + FileAccessLog.getDescriptor().getFullName();
    static final String STDOUT_TYPE = "type.googleapis.com/" + StdoutAccessLog.getDescriptor().getFullName();
    static final String CEL_TYPE = "type.googleapis.com/" + ExpressionFilter.getDescriptor().getFullName();

    private AccessLogTranslator() {
    }

    /** The access logs of {@code logs} (checked and compiled; see the class comment), in order; empty: none. */
    static List<AccessLogEntry> entries(List<AccessLog> logs, String where) throws ConfigRejected {
        List<AccessLogEntry> out = new ArrayList<>(logs.size());
        for (AccessLog log : logs) {
            String at = where + ": access log " + log.getName();
            String type = log.getTypedConfig().getTypeUrl();
            AccessLogFormat format;
            if (type.equals(FILE_TYPE)) {
                FileAccessLog file = ListenerTranslator.unpack(log.getTypedConfig(), FileAccessLog.class, where);
                if (!file.getPath().equals("/dev/stdout")) {
                    throw new ConfigRejected(at + ": the access log is written to stdout only, not to \""
                            + file.getPath() + "\" (use /dev/stdout)");
                }
                format = LogFormatTranslator.format(file, at);
            } else if (type.equals(STDOUT_TYPE)) {
                StdoutAccessLog stdout = ListenerTranslator.unpack(log.getTypedConfig(), StdoutAccessLog.class, where);
                format = stdout.hasLogFormat() ? LogFormatTranslator.format(stdout.getLogFormat(), at)
                        : AccessLogFormat.ENVOY_DEFAULT_FORMAT;
            } else {
                throw new ConfigRejected(where + ": unsupported access logger " + log.getName() + " (" + type
                        + "); the file access log to /dev/stdout and the stdout access log are supported");
            }
            io.mesh.gateway.model.AccessLogFilter filter = log.hasFilter()
                    ? new io.mesh.gateway.model.AccessLogFilter(List.of(expression(log.getFilter(), at))) : null;
            out.add(new AccessLogEntry(filter, format));
        }
        return out;
    }

    private static AttributeExpression expression(AccessLogFilter f, String where) throws ConfigRejected {
        if (!f.hasExtensionFilter() || !f.getExtensionFilter().getTypedConfig().getTypeUrl().equals(CEL_TYPE)) {
            throw new ConfigRejected(where + ": filter " + f.getFilterSpecifierCase() + " is not supported (Envoy's CEL"
                    + " extension filter, as istiod writes Telemetry's filter, is)");
        }
        String text = ListenerTranslator.unpack(f.getExtensionFilter().getTypedConfig(), ExpressionFilter.class, where)
                .getExpression();
        try {
            return AttributeExpression.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ConfigRejected(where + ": CEL filter does not compile: " + e.getMessage());
        }
    }
}
