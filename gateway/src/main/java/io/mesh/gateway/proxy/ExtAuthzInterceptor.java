package io.mesh.gateway.proxy;

import io.mesh.gateway.rbac.ExtAuthz;
import io.vertx.core.MultiMap;
import java.util.Locale;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The chain's {@code envoy.filters.http.ext_authz} filter (AuthorizationPolicy CUSTOM), as Envoy's: for a request its
 * {@code filter_enabled_metadata} matches, the authorization server is asked ({@link ExtAuthzCheck}) while the request
 * (and its body) waits, paused (with_request_body: read first, then held); the event loop is never blocked. OK: the answer's allowed upstream headers are set or
 * appended on the request, the headers it names in {@code x-envoy-auth-headers-to-remove} removed, and its allowed
 * client headers added to the response. Denied: the client gets the answer's status, body and allowed headers, flag
 * UAEX, details {@code ext_authz_denied}. Error: {@code status_on_error} with flag UAEX, details
 * {@code ext_authz_error}, or, with {@code failure_mode_allow}, the request goes on.
 */
final class ExtAuthzInterceptor implements ProxyInterceptor {

    private static final Logger LOG = Logger.getLogger(ExtAuthzInterceptor.class);

    private final boolean beforeJwt;

    /** {@code beforeJwt}: this one runs a filter placed before jwt_authn (istiod's place for CUSTOM), else one after. */
    ExtAuthzInterceptor(boolean beforeJwt) {
        this.beforeJwt = beforeJwt;
    }

    @Override
    public void onRequest(ProxyExchange ex) {
        ExtAuthz authz = ex.chain == null ? null : ex.chain.extAuthz();
        if (authz == null || authz.beforeJwt() != beforeJwt || !authz.appliesTo(ex)) {
            ex.next();
            return;
        }
        if (authz.maxRequestBytes() > 0 && ex.mayHaveBody && ex.bufferedBody == null) {
            readBody(ex, authz);
            return;
        }
        check(ex, authz, null);
    }

    /**
     * with_request_body: the body is read whole (it then goes upstream from the buffer), and the check gets it, or its
     * first max_request_bytes with allow_partial_message; a longer one without that gets 413, as Envoy's buffer limit
     * answers. Envoy's {@code x-envoy-auth-partial-body} tells which on the request. Bodies stay within
     * {@code limits.max-body-bytes} (413 past it).
     */
    private void readBody(ProxyExchange ex, ExtAuthz authz) {
        long max = authz.maxRequestBytes();
        long limit = ex.plane.maxBodyBytes();
        io.vertx.core.buffer.Buffer body = io.vertx.core.buffer.Buffer.buffer();
        boolean[] refused = {false};
        ex.request.handler(chunk -> {
            if (refused[0]) {
                return;
            }
            body.appendBuffer(chunk);
            if ((body.length() > max && !authz.allowPartialMessage()) || (limit > 0 && body.length() > limit)) {
                refused[0] = true;
                ex.request.handler(null);
                ex.sendLocal(413, null, "Payload Too Large");
            }
        });
        ex.request.exceptionHandler(e -> refused[0] = true);
        ex.request.endHandler(v -> {
            if (refused[0] || ex.finished()) {
                return;
            }
            ex.bufferedBody = body;
            boolean partial = body.length() > max;
            ex.request.headers().set(ExtAuthz.PARTIAL_BODY, Boolean.toString(partial));
            check(ex, authz, partial ? body.getBuffer(0, (int) max) : body);
        });
        ex.request.resume();
    }

    private void check(ProxyExchange ex, ExtAuthz authz, io.vertx.core.buffer.Buffer body) {
        ExtAuthzCheck.run(ex, authz, body, o -> {
            if (ex.finished()) {
                return;   // the client went away meanwhile
            }
            switch (o.status()) {
                case OK -> allow(ex, authz, o.headers());
                case DENIED -> {
                    LOG.debugf("ext_authz denied %s %s: %d", ex.request.method(), ex.path(), o.code());
                    MultiMap toClient = io.vertx.core.http.HttpHeaders.headers();
                    for (Map.Entry<String, String> e : o.headers()) {
                        String name = e.getKey().toLowerCase(Locale.ROOT);
                        if (authz.clientHeaders().test(name) && !name.equals("content-length")
                                && !name.equals(ExtAuthz.HEADERS_TO_REMOVE)
                                && !name.equals("transfer-encoding") && !HopByHop.isHop(name)) {
                            toClient.add(name, e.getValue());
                        }
                    }
                    ex.codeDetails = "ext_authz_denied";
                    ex.sendLocal(o.code() < 100 || o.code() > 599 ? 403 : o.code(), ResponseFlag.UAEX,
                            o.body() == null ? "" : o.body().toString(), toClient);
                }
                case ERROR -> {
                    if (authz.failureModeAllow()) {
                        if (authz.failureModeAllowHeaderAdd()) {
                            ex.request.headers().set(ExtAuthz.FAILURE_MODE_ALLOWED, "true");
                        }
                        ex.next();
                        return;
                    }
                    LOG.debugf("ext_authz check failed for %s %s", ex.request.method(), ex.path());
                    ex.codeDetails = "ext_authz_error";
                    ex.sendLocal(authz.statusOnError(), ResponseFlag.UAEX, null);
                }
            }
        });
    }

    private static void allow(ProxyExchange ex, ExtAuthz authz, MultiMap answer) {
        MultiMap request = ex.request.headers();
        java.util.List<String> toRemove = answer.getAll(ExtAuthz.HEADERS_TO_REMOVE);
        answer.remove(ExtAuthz.HEADERS_TO_REMOVE);   // Envoy's storage header, not one of the answer's to copy
        for (Map.Entry<String, String> e : answer) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (authz.upstreamHeaders().test(name)) {
                request.set(name, e.getValue());
            }
        }
        for (Map.Entry<String, String> e : answer) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (authz.upstreamHeadersToAppend().test(name)) {
                request.add(name, e.getValue());
            }
            if (authz.clientHeadersOnSuccess().test(name)) {
                if (ex.authzResponseHeaders == null) {
                    ex.authzResponseHeaders = io.vertx.core.http.HttpHeaders.headers();
                }
                ex.authzResponseHeaders.add(name, e.getValue());
            }
        }
        for (String list : toRemove) {
            for (String name : list.split(",")) {
                String n = name.strip().toLowerCase(Locale.ROOT);
                if (!n.isEmpty() && !n.equals("host") && n.charAt(0) != ':') {   // Envoy never removes these
                    request.remove(n);
                }
            }
        }
        ex.next();
    }

    /** The answer's allowed client headers on success, appended to the response (Envoy adds them, never replaces). */
    @Override
    public void onResponseHeaders(ProxyExchange ex, MultiMap headers) {
        ExtAuthz authz = ex.chain == null ? null : ex.chain.extAuthz();
        if (ex.authzResponseHeaders != null && authz != null && authz.beforeJwt() == beforeJwt) {
            headers.addAll(ex.authzResponseHeaders);
        }
    }
}
