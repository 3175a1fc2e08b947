package io.mesh.gateway.proxy;

import io.mesh.gateway.rbac.ExtAuthz;
import io.mesh.gateway.upstream.EndpointState;
import io.mesh.gateway.upstream.Upstream;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import java.util.Locale;
import java.util.Map;

/**
 * One ext_authz check over HTTP, as Envoy's raw HTTP client makes it: a request to the filter's cluster through the
 * gateway's own upstream machinery (its load balancer, circuit breakers, endpoint accounting and TLS origination) with
 * the client request's method, its path (as jwt_authn left it) after {@code path_prefix}, the client headers the filter
 * allows,
 * {@code content-length} of the body it carries (with_request_body; else none: 0) and the filter's
 * {@code headers_to_add}. The answer: 200 is OK, a 5xx (like a timeout,
 * a connection failure, or no such cluster or endpoint) is an error, anything else a denial. Asynchronous; runs on the
 * request's event loop, and calls {@code done} exactly once.
 */
final class ExtAuthzCheck {

    /** How a check ended: OK or DENIED with the answer's status, headers and (denied) body; or ERROR. */
    enum Status { OK, DENIED, ERROR }

    record Outcome(Status status, int code, MultiMap headers, Buffer body) {
        static final Outcome ERROR = new Outcome(Status.ERROR, 0, HttpHeaders.headers(), null);
    }

    private final ProxyExchange ex;
    private final ExtAuthz config;
    private final Handler<Outcome> done;
    private final Buffer body;
    private Upstream upstream;
    private EndpointState endpoint;
    private HttpClientRequest request;
    private long timer = -1;
    private boolean finished;

    private ExtAuthzCheck(ProxyExchange ex, ExtAuthz config, Buffer body, Handler<Outcome> done) {
        this.ex = ex;
        this.config = config;
        this.body = body;
        this.done = done;
    }

    /** {@code body}: what with_request_body sends (null: none, content-length 0). */
    static void run(ProxyExchange ex, ExtAuthz config, Buffer body, Handler<Outcome> done) {
        new ExtAuthzCheck(ex, config, body, done).start();
    }

    private void start() {
        Upstream u = ex.config.upstreams().get(config.cluster());
        if (u == null) {   // as Envoy: a cluster that does not exist (any more) is an error
            finish(Outcome.ERROR);
            return;
        }
        EndpointState ep = u.pick(Long.MIN_VALUE, null);
        var tls = ep == null ? null : u.tls(ep);
        if (ep == null || (tls != null && tls.unavailable()) || !u.tryAcquireRequest()) {
            finish(Outcome.ERROR);
            return;
        }
        upstream = u;
        endpoint = ep;
        u.onRequestStart(ep);
        if (config.timeoutMs() > 0) {
            timer = ex.vertx().setTimer(config.timeoutMs(), t -> {
                timer = -1;
                if (request != null) {
                    request.reset();
                }
                finish(Outcome.ERROR);
            });
        }
        RequestOptions o = new RequestOptions().setMethod(ex.request.method())
                .setURI(config.pathPrefix() + ex.forwardUri()).setHeaders(checkHeaders())
                .setServer(ep.address());
        String sni = tls == null ? null : tls.sniFor(hostOf(ex.authority()));
        if (sni != null) {
            o.setHost(sni).setPort(ep.endpoint().port());   // as a try: the SNI is the peer host, the address the endpoint's
        }
        try {
            u.client(u.http2(false), ep).request(o).onComplete(ar -> {
                if (finished) {
                    if (ar.succeeded()) {
                        ar.result().reset();
                    }
                    return;
                }
                if (ar.failed()) {
                    finish(Outcome.ERROR);
                    return;
                }
                request = ar.result();
                HostAndPort authority = HostAndPort.parseAuthority(ex.authority(), -1);
                if (authority != null) {
                    request.authority(authority);
                }
                (body == null ? request.send() : request.send(body)).compose(resp -> resp.body().map(body -> answer(resp, body)))
                        .onComplete(r -> finish(r.succeeded() ? r.result() : Outcome.ERROR));
            });
        } catch (RuntimeException e) {   // a client closed by a config swap: the check could not be made
            finish(Outcome.ERROR);
        }
    }

    /**
     * The client headers the filter sends (the method, path and authority go in the request line and Host, not as
     * HTTP/2 pseudo-headers), content-length 0, headers_to_add.
     */
    private MultiMap checkHeaders() {
        MultiMap h = HttpHeaders.headers();
        for (Map.Entry<String, String> e : ex.request.headers()) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (!name.isEmpty() && name.charAt(0) != ':' && !name.equals("content-length") && !name.equals("host")
                    && !HopByHop.isHop(name)
                    && config.requestHeaders().test(name)) {
                h.add(name, e.getValue());
            }
        }
        h.set("content-length", Integer.toString(body == null ? 0 : body.length()));
        for (Map.Entry<String, String> e : config.headersToAdd()) {
            h.set(e.getKey(), e.getValue());
        }
        return h;
    }

    private static String hostOf(String authority) {
        HostAndPort hp = HostAndPort.parseAuthority(authority, -1);
        return hp == null ? authority : hp.host();
    }

    private static Outcome answer(HttpClientResponse resp, Buffer body) {
        int code = resp.statusCode();
        if (code >= 500 && code <= 599) {
            return new Outcome(Status.ERROR, code, HttpHeaders.headers(), null);
        }
        MultiMap headers = HttpHeaders.headers().addAll(resp.headers());
        return code == 200 ? new Outcome(Status.OK, code, headers, null) : new Outcome(Status.DENIED, code, headers, body);
    }

    private void finish(Outcome o) {
        if (finished) {
            return;
        }
        finished = true;
        if (timer >= 0) {
            ex.vertx().cancelTimer(timer);
        }
        if (upstream != null) {
            upstream.onRequestEnd(endpoint, o.status() == Status.ERROR ? 0 : o.code());
            upstream.releaseRequest();
        }
        done.handle(o);
    }
}
