package io.mesh.gateway.route;

/** One destination of a route with its weight and its own header changes. */
public record WeightedCluster(String cluster, int weight, HeaderMutation requestHeaders, HeaderMutation responseHeaders) {
}
