package io.mesh.gateway.proxy;

import io.vertx.core.MultiMap;

/**
 * One step of the proxy path, after vertx-http-proxy's interceptor chain: the request walks the chain
 * forward and the response headers walk it back. An interceptor either calls {@link ProxyExchange#next()}
 * (now or later, e.g. after a fault delay) or answers the request itself with
 * {@link ProxyExchange#sendLocal}. Interceptors are stateless and shared by all event loops; per-request state
 * lives in the exchange, so the chain allocates nothing per request.
 */
public interface ProxyInterceptor {

    void onRequest(ProxyExchange exchange);

    /** Called in reverse order before the upstream response is sent downstream. */
    default void onResponseHeaders(ProxyExchange exchange, MultiMap headers) {
    }
}
