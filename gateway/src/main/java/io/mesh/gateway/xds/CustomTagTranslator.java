package io.mesh.gateway.xds;

import io.envoyproxy.envoy.type.tracing.v3.CustomTag;
import io.mesh.gateway.model.SpanTags;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * An HCM's {@code tracing.custom_tags} (Envoy's {@code type.tracing.v3.CustomTag}) → {@link SpanTags}, as Envoy builds
 * them: a literal's value; an environment variable read now, once, from the process environment (its default when it
 * is not set), so the value stays what it was when the config was applied; a request header (lower-cased, the first
 * value, the default when absent) read per request. Of two tags with one name the first counts (Envoy's emplace). A
 * metadata tag, or a kind this gateway does not know, is rejected (the listener is NACKed and the last good one kept),
 * as are the empty names Envoy's validation rejects.
 */
final class CustomTagTranslator {

    private CustomTagTranslator() {
    }

    /** The tags, or null when there are none (the request path then pays one null check). */
    static SpanTags translate(List<CustomTag> tags, String where, UnaryOperator<String> environment)
            throws ConfigRejected {
        if (tags.isEmpty()) {
            return null;
        }
        List<SpanTags.Fixed> fixed = new ArrayList<>();
        List<SpanTags.Header> headers = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (CustomTag t : tags) {
            String at = where + ": tracing custom tag \"" + t.getTag() + "\"";
            if (t.getTag().isEmpty()) {
                throw new ConfigRejected(where + ": tracing custom tag: the tag name is empty");
            }
            if (!seen.add(t.getTag())) {
                continue;
            }
            switch (t.getTypeCase()) {
                case LITERAL -> {
                    String v = t.getLiteral().getValue();
                    if (v.isEmpty()) {
                        throw new ConfigRejected(at + ": the literal value is empty");
                    }
                    fixed.add(new SpanTags.Fixed(t.getTag(), v));
                }
                case ENVIRONMENT -> {
                    String name = t.getEnvironment().getName();
                    if (name.isEmpty()) {
                        throw new ConfigRejected(at + ": the environment variable name is empty");
                    }
                    String v = environment.apply(name);
                    v = v == null ? t.getEnvironment().getDefaultValue() : v;
                    if (!v.isEmpty()) {
                        fixed.add(new SpanTags.Fixed(t.getTag(), v));
                    }
                }
                case REQUEST_HEADER -> {
                    String name = t.getRequestHeader().getName();
                    if (name.isEmpty()) {
                        throw new ConfigRejected(at + ": the request header name is empty");
                    }
                    headers.add(new SpanTags.Header(t.getTag(), name.toLowerCase(Locale.ROOT),
                            t.getRequestHeader().getDefaultValue()));
                }
                case METADATA -> throw new ConfigRejected(at + ": metadata tags are not supported (literal,"
                        + " environment and request_header are)");
                default -> throw new ConfigRejected(at + ": no tag kind this gateway knows is set (literal,"
                        + " environment and request_header are supported)");
            }
        }
        return fixed.isEmpty() && headers.isEmpty() ? null : new SpanTags(fixed, headers);
    }
}
