package io.mesh.gateway.model;

/**
 * One access log of a chain, as Envoy keeps each {@code access_log} entry of an HCM or a tcp_proxy: its filter (Envoy's
 * CEL filter; null: every request or connection) and its format, each compiled once when the listener is translated.
 * Each entry writes its own line. Immutable.
 */
public record AccessLogEntry(AccessLogFilter filter, AccessLogFormat format) {
    public AccessLogEntry {
        if (format == null) {
            throw new IllegalArgumentException("an access log needs a format");
        }
    }
}
