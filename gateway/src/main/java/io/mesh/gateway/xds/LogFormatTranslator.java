package io.mesh.gateway.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.mesh.gateway.model.AccessLogFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An access logger's format → {@link AccessLogFormat}, compiled once: Envoy's {@code SubstitutionFormatString}
 * ({@code log_format}: {@code text_format_source} with an inline string, the older {@code text_format}, or
 * {@code json_format}), and the file access log's deprecated {@code format}/{@code json_format}/{@code typed_json_format};
 * no format is Envoy's default. Rejected, named: a format that does not compile, a text format read from a file or the
 * environment, {@code omit_empty_values} and {@code formatters} (extensions such as REQ_WITHOUT_QUERY), which the
 * gateway does not serve.
 */
final class LogFormatTranslator {
    private LogFormatTranslator() {
    }

    static AccessLogFormat format(FileAccessLog file, String where) throws ConfigRejected {
        return switch (file.getAccessLogFormatCase()) {
            case LOG_FORMAT -> format(file.getLogFormat(), where);
            case FORMAT -> compile(() -> AccessLogFormat.text(file.getFormat().isEmpty() ? AccessLogFormat.ENVOY_DEFAULT
                    : file.getFormat()), where);
            case JSON_FORMAT -> json(file.getJsonFormat(), where);
            case TYPED_JSON_FORMAT -> json(file.getTypedJsonFormat(), where);
            case ACCESSLOGFORMAT_NOT_SET -> AccessLogFormat.ENVOY_DEFAULT_FORMAT;
        };
    }

    static AccessLogFormat format(SubstitutionFormatString f, String where) throws ConfigRejected {
        if (f.getOmitEmptyValues()) {
            throw new ConfigRejected(where + ": log_format omit_empty_values is not supported");
        }
        if (f.getFormattersCount() > 0) {
            throw new ConfigRejected(where + ": log_format formatters " + f.getFormattersList().stream()
                    .map(t -> t.getName()).toList() + " are not supported (Envoy's built-in command operators are)");
        }
        return switch (f.getFormatCase()) {
            case TEXT_FORMAT -> compile(() -> AccessLogFormat.text(f.getTextFormat()), where);
            case TEXT_FORMAT_SOURCE -> {
                if (!f.getTextFormatSource().hasInlineString()) {
                    throw new ConfigRejected(where + ": log_format text_format_source "
                            + f.getTextFormatSource().getSpecifierCase() + " is not supported (inline_string is)");
                }
                yield compile(() -> AccessLogFormat.text(f.getTextFormatSource().getInlineString()), where);
            }
            case JSON_FORMAT -> json(f.getJsonFormat(), where);
            case FORMAT_NOT_SET -> throw new ConfigRejected(where + ": log_format sets no format");
        };
    }

    private static AccessLogFormat json(Struct s, String where) throws ConfigRejected {
        Map<String, Object> map = map(s);
        return compile(() -> AccessLogFormat.json(map), where);
    }

    private interface Compile {
        AccessLogFormat run();
    }

    private static AccessLogFormat compile(Compile c, String where) throws ConfigRejected {
        try {
            return c.run();
        } catch (IllegalArgumentException e) {
            throw new ConfigRejected(where + ": log_format: " + e.getMessage());
        }
    }

    private static Map<String, Object> map(Struct s) {
        Map<String, Object> out = new LinkedHashMap<>();
        s.getFieldsMap().forEach((k, v) -> out.put(k, value(v)));
        return out;
    }

    private static Object value(Value v) {
        return switch (v.getKindCase()) {
            case STRING_VALUE -> v.getStringValue();
            case NUMBER_VALUE -> v.getNumberValue();
            case BOOL_VALUE -> v.getBoolValue();
            case STRUCT_VALUE -> map(v.getStructValue());
            case LIST_VALUE -> v.getListValue();
            case NULL_VALUE, KIND_NOT_SET -> null;
        };
    }
}
