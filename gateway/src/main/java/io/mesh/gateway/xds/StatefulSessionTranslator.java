package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute;
import io.envoyproxy.envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState;
import io.envoyproxy.envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState;
import io.mesh.gateway.route.StatefulSession;
import java.util.Locale;

/**
 * Envoy's stateful session filter ({@code envoy.filters.http.stateful_session}) and its per-route config → {@link
 * StatefulSession}, checked as Envoy's proto validation and the session state factories check them: a cookie or a
 * header state (envoy.http.stateful_session.cookie / .header), a cookie that is set with a non-empty name and a TTL that
 * is not negative, a non-empty header name; a per-route config that disables (only as {@code true}) or overrides.
 * Names that cannot be a cookie or header name (not an HTTP token) are refused too: Envoy would accept them and write
 * broken headers. Pure.
 */
final class StatefulSessionTranslator {
    static final String FILTER = "envoy.filters.http.stateful_session";
    static final String TYPE = "type.googleapis.com/"
            + io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.getDescriptor().getFullName();
    static final String PER_ROUTE_TYPE = "type.googleapis.com/" + StatefulSessionPerRoute.getDescriptor().getFullName();
    private static final String COOKIE_TYPE = "type.googleapis.com/" + CookieBasedSessionState.getDescriptor().getFullName();
    private static final String HEADER_TYPE = "type.googleapis.com/" + HeaderBasedSessionState.getDescriptor().getFullName();

    private StatefulSessionTranslator() {
    }

    /** The filter's config in an HttpConnectionManager. */
    static StatefulSession filter(Any typed, String where) throws ConfigRejected {
        if (!typed.getTypeUrl().equals(TYPE)) {
            throw new ConfigRejected(where + ": typed_config must be " + TYPE + ", not " + typed.getTypeUrl());
        }
        return session(unpack(typed, io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession.class,
                where), where);
    }

    /** A virtual host's or route's {@code typed_per_filter_config} entry for the filter. */
    static StatefulSession perRoute(Any typed, String where) throws ConfigRejected {
        String at = where + " typed_per_filter_config " + FILTER;
        if (!typed.getTypeUrl().equals(PER_ROUTE_TYPE)) {
            throw new ConfigRejected(at + ": must be " + PER_ROUTE_TYPE + ", not " + typed.getTypeUrl());
        }
        StatefulSessionPerRoute p = unpack(typed, StatefulSessionPerRoute.class, at);
        return switch (p.getOverrideCase()) {
            case DISABLED -> {
                if (!p.getDisabled()) {
                    throw new ConfigRejected(at + ": disabled must be true when set");
                }
                yield StatefulSession.DISABLED;
            }
            case STATEFUL_SESSION -> session(p.getStatefulSession(), at + " stateful_session");
            default -> throw new ConfigRejected(at + ": needs disabled or stateful_session");
        };
    }

    private static StatefulSession session(
            io.envoyproxy.envoy.extensions.filters.http.stateful_session.v3.StatefulSession s, String where)
            throws ConfigRejected {
        if (!s.hasSessionState()) {
            return new StatefulSession(null, s.getStrict(), false);
        }
        var ext = s.getSessionState();
        String at = where + ": session_state " + ext.getName();
        Any typed = ext.getTypedConfig();
        StatefulSession.State state;
        if (typed.getTypeUrl().equals(COOKIE_TYPE)) {
            CookieBasedSessionState c = unpack(typed, CookieBasedSessionState.class, at);
            if (!c.hasCookie()) {
                throw new ConfigRejected(at + ": cookie is required");
            }
            String name = c.getCookie().getName();
            if (name.isEmpty()) {
                throw new ConfigRejected(at + ": cookie.name must not be empty");
            }
            checkToken(name, at + ": cookie.name");
            var ttl = c.getCookie().getTtl();
            if (ttl.getSeconds() < 0 || ttl.getNanos() < 0) {
                throw new ConfigRejected(at + ": cookie.ttl must not be negative");
            }
            String path = c.getCookie().getPath();
            for (int i = 0; i < path.length(); i++) {
                char ch = path.charAt(i);
                if (ch < 0x20 || ch == 0x7f || ch == ';') {
                    throw new ConfigRejected(at + ": cookie.path " + path + " has a character a Set-Cookie path cannot");
                }
            }
            state = new StatefulSession.Cookie(name, path, ttl.getSeconds());
        } else if (typed.getTypeUrl().equals(HEADER_TYPE)) {
            String name = unpack(typed, HeaderBasedSessionState.class, at).getName();
            if (name.isEmpty()) {
                throw new ConfigRejected(at + ": name must not be empty");
            }
            checkToken(name, at + ": name");
            state = new StatefulSession.Header(name.toLowerCase(Locale.ROOT));
        } else {
            throw new ConfigRejected(at + ": unsupported session state " + typed.getTypeUrl() + " (served: "
                    + COOKIE_TYPE + ", " + HEADER_TYPE + ")");
        }
        return new StatefulSession(state, s.getStrict(), false);
    }

    /** RFC 9110's token: what a header name and a cookie name must be. */
    private static void checkToken(String name, String what) throws ConfigRejected {
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = c > 0x20 && c < 0x7f && "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0;
            if (!ok) {
                throw new ConfigRejected(what + " \"" + name + "\" is not an HTTP token");
            }
        }
    }

    private static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type, String where)
            throws ConfigRejected {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigRejected(where + ": cannot decode " + any.getTypeUrl() + ": " + e.getMessage());
        }
    }
}
