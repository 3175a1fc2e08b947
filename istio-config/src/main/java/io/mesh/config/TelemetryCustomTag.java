package io.mesh.config;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One of a Telemetry {@code tracing[]} rule's {@code customTags} (telemetry.istio.io Tracing.CustomTag): the span
 * attribute's value is a {@link Kind#LITERAL} {@code value}, the proxy's {@link Kind#ENVIRONMENT} variable {@code name}
 * or the request's {@link Kind#HEADER} {@code name}, the latter two with {@code defaultValue} (null: none) when the
 * variable or header is absent. Validated as Istio's schema and Envoy's {@code type.tracing.v3.CustomTag} require:
 * exactly one kind, a non-empty literal value, variable or header name. How the rules of several resources combine is
 * pilot's ({@code TelemetryPolicy}).
 */
public record TelemetryCustomTag(Kind kind, String value, String name, String defaultValue) {

    public enum Kind { LITERAL, ENVIRONMENT, HEADER }

    public static TelemetryCustomTag literal(String value) {
        return new TelemetryCustomTag(Kind.LITERAL, value, null, null);
    }

    public static TelemetryCustomTag environment(String name, String defaultValue) {
        return new TelemetryCustomTag(Kind.ENVIRONMENT, null, name, defaultValue);
    }

    public static TelemetryCustomTag header(String name, String defaultValue) {
        return new TelemetryCustomTag(Kind.HEADER, null, name, defaultValue);
    }

    /**
     * A rule's {@code customTags}, sorted by tag name (istiod's order in the HCM), or null when it sets none: as istiod
     * reads the proto, an empty map is not set, so it does not clear the parent's tags. Problems name the field.
     */
    static Map<String, TelemetryCustomTag> parse(SpecReader rule, Problems p) {
        SpecReader tags = rule.object("customTags");
        if (tags == null) {
            return null;
        }
        Map<String, TelemetryCustomTag> out = new TreeMap<>();
        for (var it = tags.node().fieldNames(); it.hasNext();) {
            String tag = it.next();
            SpecReader t = tags.object(tag);
            if (t == null) {
                continue;
            }
            if (tag.isEmpty()) {
                p.error(t.path(), "tag name may not be empty");
                continue;
            }
            TelemetryCustomTag parsed = one(t, p);
            if (parsed != null) {
                out.put(tag, parsed);
            }
        }
        return out.isEmpty() ? null : Collections.unmodifiableMap(out);
    }

    private static TelemetryCustomTag one(SpecReader t, Problems p) {
        t.allow("literal", "environment", "header", "formatter");
        if (t.has("formatter")) {
            p.error(t.at("formatter"), "is not supported here (use literal, environment or header)");
            return null;
        }
        int kinds = (t.has("literal") ? 1 : 0) + (t.has("environment") ? 1 : 0) + (t.has("header") ? 1 : 0);
        if (kinds != 1) {
            p.error(t.path(), kinds == 0 ? "one of literal, environment or header is required"
                    : "only one of literal, environment or header may be set");
            return null;
        }
        SpecReader literal = t.object("literal");
        if (literal != null) {
            literal.allow("value");
            String value = literal.requiredString("value");
            return value == null || value.isEmpty() ? null : literal(value);
        }
        boolean env = t.has("environment");
        SpecReader named = t.object(env ? "environment" : "header");
        if (named == null) {
            return null;
        }
        named.allow("name", "defaultValue");
        String name = named.requiredString("name");
        String defaultValue = named.string("defaultValue");
        if (name == null || name.isEmpty()) {
            return null;
        }
        if (!env && (name.indexOf('\r') >= 0 || name.indexOf('\n') >= 0 || name.indexOf('\0') >= 0)) {
            p.error(named.at("name"), "is not a valid header name");
            return null;
        }
        return env ? environment(name, defaultValue) : header(name, defaultValue);
    }
}
