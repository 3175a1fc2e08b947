package io.mesh.pilot.generator;

import com.google.protobuf.ListValue;
import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.JsonFormatOptions;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.mesh.config.IstioAccessLogFormats;
import io.mesh.pilot.model.AccessLogFormats;
import io.mesh.pilot.model.MeshSettings;
import java.util.Map;

/**
 * Envoy's file access log as istiod writes it (pilot/pkg/model/telemetry_logging.go): from MeshConfig
 * ({@code FileAccessLogFromMeshConfig}: accessLogEncoding TEXT is {@code accessLogFormat}, else istiod's text format, as
 * {@code text_format_source.inline_string}; JSON is {@code accessLogFormat} parsed as labels, else istiod's JSON labels,
 * as {@code json_format}) and from an {@code envoyFileAccessLog} extension provider ({@code fileAccessLogFromTelemetry}:
 * {@code logFormat.text}, or istiod's text format without a logFormat; {@code logFormat.labels}, istiod's JSON labels
 * when empty; a logFormat with neither sends no format, Envoy's default). A text format gets the newline istiod adds
 * when it lacks one. Pure: no state.
 */
final class FileAccessLogs {
    /** istiod's EnvoyTextLogFormat. */
    static final String ISTIO_TEXT = IstioAccessLogFormats.TEXT;

    /** istiod's EnvoyJSONLogFormatIstio. */
    static final Map<String, ?> ISTIO_JSON = IstioAccessLogFormats.JSON_LABELS;

    private FileAccessLogs() {
    }

    /** istiod's FileAccessLogFromMeshConfig: the mesh's access log, and the built-in {@code envoy} provider's. */
    static FileAccessLog fromMesh(String path, AccessLogFormats mesh) {
        FileAccessLog.Builder f = FileAccessLog.newBuilder().setPath(path);
        if (mesh.encoding() == AccessLogFormats.Encoding.JSON) {
            return f.setLogFormat(json(mesh.format().isEmpty() ? ISTIO_JSON : AccessLogFormats.jsonLabels(mesh.format())))
                    .build();
        }
        return f.setLogFormat(text(mesh.format().isEmpty() ? ISTIO_TEXT : mesh.format())).build();
    }

    /** istiod's fileAccessLogFromTelemetry: an {@code envoyFileAccessLog} provider's access log. */
    static FileAccessLog fromProvider(AccessLogFormats.FileProvider p) {
        FileAccessLog.Builder f = FileAccessLog.newBuilder().setPath(p.path().isEmpty() ? MeshSettings.STDOUT : p.path());
        if (p.labels() != null) {
            return f.setLogFormat(json(p.labels().isEmpty() ? ISTIO_JSON : p.labels())).build();
        }
        if (p.emptyLogFormat()) {
            return f.build();
        }
        return f.setLogFormat(text(p.text() == null || p.text().isEmpty() ? ISTIO_TEXT : p.text())).build();
    }

    /** istiod's text format: the inline string, with the newline it adds when missing. */
    private static SubstitutionFormatString text(String format) {
        String withNewline = format.endsWith("\n") ? format : format + "\n";
        return SubstitutionFormatString.newBuilder().setTextFormatSource(DataSource.newBuilder()
                .setInlineString(withNewline)).build();
    }

    /** istiod's JSON format: the labels as {@code json_format}, properties not sorted. */
    private static SubstitutionFormatString json(Map<String, ?> labels) {
        return SubstitutionFormatString.newBuilder().setJsonFormat(struct(labels))
                .setJsonFormatOptions(JsonFormatOptions.newBuilder().setSortProperties(false)).build();
    }

    private static Struct struct(Map<?, ?> map) {
        Struct.Builder s = Struct.newBuilder();
        map.forEach((k, v) -> s.putFields(String.valueOf(k), value(v)));
        return s.build();
    }

    private static Value value(Object v) {
        if (v == null) {
            return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        }
        if (v instanceof String s) {
            return Value.newBuilder().setStringValue(s).build();
        }
        if (v instanceof Number n) {
            return Value.newBuilder().setNumberValue(n.doubleValue()).build();
        }
        if (v instanceof Boolean b) {
            return Value.newBuilder().setBoolValue(b).build();
        }
        if (v instanceof Map<?, ?> m) {
            return Value.newBuilder().setStructValue(struct(m)).build();
        }
        if (v instanceof java.util.List<?> l) {
            ListValue.Builder lv = ListValue.newBuilder();
            l.forEach(e -> lv.addValues(value(e)));
            return Value.newBuilder().setListValue(lv).build();
        }
        return Value.newBuilder().setStringValue(v.toString()).build();
    }
}
