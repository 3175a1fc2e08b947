package io.mesh.gateway.route;

/**
 * Envoy's stateful session filter config ({@code envoy.filters.http.stateful_session}): the filter's own in a chain, or
 * a route's {@code StatefulSessionPerRoute} override. {@code state} is the session state extension, null for an empty
 * config (istiod's EmptySessionFilter, which does nothing until a route overrides it); {@code strict}: a request naming
 * an endpoint that may not take it fails with 503 instead of going to the load balancer; {@code disabled}: a route's
 * {@code disabled: true}.
 */
public record StatefulSession(State state, boolean strict, boolean disabled) {
    /** A route's {@code disabled: true}. */
    public static final StatefulSession DISABLED = new StatefulSession(null, false, true);

    /** Where a session is kept: a cookie or a header, carrying the endpoint's address. */
    public sealed interface State {
    }

    /**
     * Envoy's CookieBasedSessionState. {@code path}: the cookie's Path, also the request paths it applies to (empty:
     * every path); {@code ttlSeconds}: its Max-Age and the expiry encoded in its value (0: a session cookie, no expiry).
     */
    public record Cookie(String name, String path, long ttlSeconds) implements State {
    }

    /** Envoy's HeaderBasedSessionState. {@code name} is lower case. */
    public record Header(String name) implements State {
    }

    /**
     * The config a request gets on a route: none when the chain has no stateful session filter ({@code chain} null: a
     * route's override then does nothing, as in Envoy), the route's override when it has one (null when it disables
     * the filter), else the chain's; null too when that has no session state.
     */
    public static StatefulSession effective(StatefulSession chain, StatefulSession route) {
        if (chain == null) {
            return null;
        }
        StatefulSession s = route != null ? route : chain;
        return s.disabled || s.state == null ? null : s;
    }
}
