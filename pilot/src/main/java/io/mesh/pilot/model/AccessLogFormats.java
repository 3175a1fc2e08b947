package io.mesh.pilot.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The access log formats of Istio's MeshConfig: {@code accessLogEncoding} (TEXT or JSON) and {@code accessLogFormat}
 * (empty: Istio's default of the encoding), which the mesh's access log and Telemetry's built-in {@code envoy} provider
 * write in, and the {@code extensionProviders} with an {@code envoyFileAccessLog} (path, and {@code logFormat.text} or
 * {@code logFormat.labels}), which Telemetry's {@code accessLogging[].providers[].name} names. Checked when built: a
 * JSON {@code accessLogFormat} must be a JSON object (istiod would log the error and use its default; here the setting
 * is refused, named), providers need a unique name (istiod finds them by name, ignoring case) and at most one of text
 * and labels. Immutable.
 */
public record AccessLogFormats(Encoding encoding, String format, List<FileProvider> providers) {
    /** Istio's default: TEXT in Istio's text format, no extension provider. */
    public static final AccessLogFormats DEFAULT = new AccessLogFormats(Encoding.TEXT, "", List.of());

    /** MeshConfig AccessLogEncoding. */
    public enum Encoding { TEXT, JSON }

    /**
     * An {@code extensionProviders[]} entry with {@code envoyFileAccessLog}: its {@code path} (empty: /dev/stdout) and its
     * {@code logFormat}: {@code text} (null: not set) or {@code labels} (null: not set; values as JSON: strings, numbers,
     * bools, nested objects). {@code emptyLogFormat}: a {@code logFormat} that sets neither, which istiod sends as no
     * format at all (Envoy's default); without {@code logFormat} istiod sends its text format.
     */
    public record FileProvider(String name, String path, String text, Map<String, Object> labels,
            boolean emptyLogFormat) {
        public FileProvider(String name, String path, String text, Map<String, Object> labels) {
            this(name, path, text, labels, false);
        }
    }

    public AccessLogFormats {
        encoding = encoding == null ? Encoding.TEXT : encoding;
        format = format == null ? "" : format;
        providers = List.copyOf(providers);
        if (encoding == Encoding.JSON && !format.isEmpty()) {
            jsonLabels(format);
        }
        Set<String> names = new HashSet<>();
        for (FileProvider p : providers) {
            if (p.name() == null || p.name().isEmpty()) {
                throw new IllegalArgumentException("extensionProviders: a provider needs a name");
            }
            if (!names.add(p.name().toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException("extensionProviders: provider \"" + p.name() + "\" is defined twice");
            }
            if (p.text() != null && p.labels() != null) {
                throw new IllegalArgumentException("extensionProviders[" + p.name() + "].envoyFileAccessLog.logFormat: set"
                        + " text or labels, not both");
            }
        }
    }

    /** The provider named {@code name} (ignoring case, as istiod's fetchProvider), or null. */
    public FileProvider provider(String name) {
        for (FileProvider p : providers) {
            if (p.name().equalsIgnoreCase(name)) {
                return p;
            }
        }
        return null;
    }

    /** The JSON {@code accessLogFormat} as labels; refused, naming the setting, when it is not a JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> jsonLabels(String format) {
        Object parsed;
        try {
            parsed = new ObjectMapper().readValue(format, Object.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("accessLogFormat with accessLogEncoding JSON is not JSON: "
                    + e.getOriginalMessage());
        }
        if (!(parsed instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException("accessLogFormat with accessLogEncoding JSON must be a JSON object of labels");
        }
        return (Map<String, Object>) m;
    }

    /**
     * meshConfig {@code extensionProviders} as YAML or JSON (a list of providers), each an object with a name; an error
     * names the entry and the field. Shared by the kinds of providers pilot serves ({@link ExtAuthzProviders}).
     */
    static List<Map<?, ?>> entries(String yaml) {
        if (yaml == null || yaml.isBlank()) {
            return List.of();
        }
        Object root;
        try {
            root = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readValue(yaml, Object.class);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("extensionProviders is not YAML: " + e.getOriginalMessage());
        }
        if (root == null) {
            return List.of();
        }
        if (!(root instanceof List<?> list)) {
            throw new IllegalArgumentException("extensionProviders must be a list of providers");
        }
        List<Map<?, ?>> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "extensionProviders[" + i + "]";
            if (!(list.get(i) instanceof Map<?, ?> entry)) {
                throw new IllegalArgumentException(at + " must be an object");
            }
            if (!(entry.get("name") instanceof String n) || n.isEmpty()) {
                throw new IllegalArgumentException(at + ".name: a provider needs a name");
            }
            out.add(entry);
        }
        return out;
    }

    /**
     * meshConfig {@code extensionProviders} as YAML or JSON (a list of providers): those with {@code envoyFileAccessLog},
     * in order. A provider of another kind is skipped: istiod writes no access log for it; its name goes to
     * {@code skipped} unless it is an {@code envoyExtAuthzHttp} one, which {@link ExtAuthzProviders} serves. An error
     * names the entry and the field.
     */
    @SuppressWarnings("unchecked")
    public static List<FileProvider> parseProviders(String yaml, List<String> skipped) {
        List<Map<?, ?>> list = entries(yaml);
        List<FileProvider> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            String at = "extensionProviders[" + i + "]";
            Map<?, ?> entry = list.get(i);
            String n = (String) entry.get("name");
            Object file = entry.get("envoyFileAccessLog");
            if (file == null) {
                if (!entry.containsKey("envoyExtAuthzHttp")) {
                    skipped.add(n);
                }
                continue;
            }
            if (!(file instanceof Map<?, ?> f)) {
                throw new IllegalArgumentException(at + ".envoyFileAccessLog must be an object");
            }
            for (Object key : f.keySet()) {
                if (!key.equals("path") && !key.equals("logFormat")) {
                    throw new IllegalArgumentException(at + ".envoyFileAccessLog." + key + " is not supported (path and"
                            + " logFormat are)");
                }
            }
            Object path = f.get("path");
            if (path != null && !(path instanceof String)) {
                throw new IllegalArgumentException(at + ".envoyFileAccessLog.path must be a string");
            }
            String text = null;
            Map<String, Object> labels = null;
            Object logFormat = f.get("logFormat");
            if (logFormat != null) {
                if (!(logFormat instanceof Map<?, ?> lf)) {
                    throw new IllegalArgumentException(at + ".envoyFileAccessLog.logFormat must be an object");
                }
                Object t = lf.get("text");
                Object l = lf.get("labels");
                if (t != null && !(t instanceof String)) {
                    throw new IllegalArgumentException(at + ".envoyFileAccessLog.logFormat.text must be a string");
                }
                if (l != null && !(l instanceof Map)) {
                    throw new IllegalArgumentException(at + ".envoyFileAccessLog.logFormat.labels must be an object");
                }
                if (t != null && l != null) {
                    throw new IllegalArgumentException(at + ".envoyFileAccessLog.logFormat: set text or labels, not both");
                }
                text = (String) t;
                labels = l == null ? null : (Map<String, Object>) l;
            }
            out.add(new FileProvider(n, path == null ? "" : (String) path, text, labels,
                    logFormat != null && text == null && labels == null));
        }
        return out;
    }
}
