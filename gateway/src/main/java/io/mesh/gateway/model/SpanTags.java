package io.mesh.gateway.model;

import java.util.List;

/**
 * The custom tags an HttpConnectionManager's {@code tracing.custom_tags} puts on the spans this proxy reports for its
 * requests (pilot writes there what Telemetry {@code tracing[].customTags} resolve to): {@code fixed} tags whose value
 * was known when the config was applied (Envoy's literal tags, and its environment tags, read once from the process
 * environment then), and {@code headers}, read from each request (its default when the header is absent). A tag whose
 * value is empty is not set, as Envoy skips it; so {@code fixed} holds none.
 */
public record SpanTags(List<Fixed> fixed, List<Header> headers) {

    public SpanTags {
        fixed = List.copyOf(fixed);
        headers = List.copyOf(headers);
    }

    /** A tag with its value. */
    public record Fixed(String tag, String value) {
    }

    /** A tag with the value of the request header {@code name} (lower case; {@code :authority}, {@code :path}, ...). */
    public record Header(String tag, String name, String defaultValue) {
    }
}
