package io.mesh.gateway.xds;

import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.mesh.config.AttributeExpression;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code access_log} entries of an HCM or a tcp_proxy → whether the gateway writes its JSON line, and the filter that
 * decides it per request or connection. The line goes to stdout, so only loggers that write there are accepted (the
 * file access log to {@code /dev/stdout}, the stdout access log). The one filter served is istiod's: Envoy's CEL
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

    /**
     * The filter of {@code logs} (checked; see the class comment): null when there are none or one has no filter (every
     * request or connection is logged), else one that logs when any log's expression is true.
     */
    static io.mesh.gateway.model.AccessLogFilter filter(List<AccessLog> logs, String where) throws ConfigRejected {
        List<AttributeExpression> expressions = new ArrayList<>();
        boolean unfiltered = false;
        for (AccessLog log : logs) {
            String type = log.getTypedConfig().getTypeUrl();
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
            if (log.hasFilter()) {
                expressions.add(expression(log.getFilter(), where + ": access log " + log.getName()));
            } else {
                unfiltered = true;
            }
        }
        return unfiltered || expressions.isEmpty() ? null : new io.mesh.gateway.model.AccessLogFilter(expressions);
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
