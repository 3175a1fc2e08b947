package io.mesh.pilot.model;

import io.mesh.config.KubernetesHttpRoute;

/**
 * A Gateway API route of any kind seen as an HTTPRoute for what every kind shares: its parents, hostnames and each
 * rule's backends (and mirror and header filters), without matches. It lets GRPCRoutes, TLSRoutes and TCPRoutes go
 * through the HTTPRoute's own checks: listener admission ({@link GatewayApiRoutes#parents}), backend resolution
 * ({@link GatewayApiRules}) and status ({@link GatewayApiStatus}).
 *
 * @param kind the route's kind: HTTPRoute, GRPCRoute, TLSRoute or TCPRoute
 */
record GatewayApiRouteView(String kind, KubernetesHttpRoute route) {
    /** How warnings name the route: "KIND NS/NAME". */
    String who() {
        return kind + " " + route.namespace() + "/" + route.name();
    }
}
