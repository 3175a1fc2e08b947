package io.mesh.pilot.model;

import java.util.Map;

/**
 * A service's persistent (sticky) sessions, as istiod reads them from its labels (pilot/pkg/networking/util
 * MaybeBuildStatefulSessionFilterConfig): {@code istio.io/persistent-session: NAME} or {@code NAME:PATH} keeps
 * sessions by a cookie (the value cut at its first {@code :}, the path {@code /} when there is none, an empty path
 * when the value ends with {@code :}), else {@code istio.io/persistent-session-header: NAME} by a request header. The
 * cookie label wins when both are set. istiod accepts any value: a malformed one (an empty name, {@code :/path}) is
 * sent as is and left to the proxy to refuse, and so it is here. Pure.
 *
 * @param name the cookie's or the header's name
 * @param path the cookie's path (null for a header)
 */
public record PersistentSession(Kind kind, String name, String path) {
    /** istiod's PILOT_PERSISTENT_SESSION_LABEL default. */
    public static final String COOKIE_LABEL = "istio.io/persistent-session";
    /** istiod's PILOT_PERSISTENT_SESSION_HEADER_LABEL default. */
    public static final String HEADER_LABEL = "istio.io/persistent-session-header";

    public enum Kind {
        COOKIE, HEADER
    }

    /** The sessions the labels ask for, or null (neither label, or both empty). */
    public static PersistentSession fromLabels(Map<String, String> labels) {
        if (labels == null) {
            return null;
        }
        String cookie = labels.get(COOKIE_LABEL);
        if (cookie != null && !cookie.isEmpty()) {
            int colon = cookie.indexOf(':');
            return colon < 0 ? new PersistentSession(Kind.COOKIE, cookie, "/")
                    : new PersistentSession(Kind.COOKIE, cookie.substring(0, colon), cookie.substring(colon + 1));
        }
        String header = labels.get(HEADER_LABEL);
        if (header != null && !header.isEmpty()) {
            return new PersistentSession(Kind.HEADER, header, null);
        }
        return null;
    }

    /**
     * istiod's endpoint builder sends a service's DRAINING endpoints only for the cookie label (its
     * filterIstioEndpoint reads PILOT_PERSISTENT_SESSION_LABEL alone), though either label makes endpoints DRAINING.
     */
    public boolean sendsDrainingEndpoints() {
        return kind == Kind.COOKIE;
    }
}
