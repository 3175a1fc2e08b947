package io.mesh.gateway.proxy;

import io.mesh.gateway.route.MirrorPolicy;
import io.mesh.gateway.upstream.Upstream;
import io.netty.channel.ChannelOption;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.impl.ConnectionBase;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The copies of one request that its route's mirrors get (Envoy's {@code request_mirror_policies}, shadows that
 * stream): each mirror's request has the upstream request's head, the authority suffixed {@code -shadow}, and the
 * body chunk by chunk as the upstream is sent it ({@link #tap}), or whole ({@link #send}). Mirror answers are read
 * and dropped.
 *
 * <p>It must never affect the original request or its response: the body's pace is the upstream's alone (a mirror
 * never pauses it), a mirror's failure is swallowed, and a mirror that falls behind by more than
 * {@code limits.mirror-buffer-bytes} (bytes queued while it connects, or written but not yet taken by its socket) is
 * aborted, never waited for: its connection is reset and the abort {@link DataPlane#countMirrorAborted() counted}.
 * A mirror whose body cannot end (the request failed, or the exchange finished first) is aborted too
 * ({@link #abandon}), never left with half a body that looks whole. Runs on the request's event loop only.
 */
final class MirrorTee {

    /** How long a mirror may take to answer once its body is sent (no answer bytes for this long: reset). */
    private static final long ANSWER_TIMEOUT_MS = 10_000;

    private final ProxyExchange ex;
    private final MultiMap head;
    private final String uri;
    private final HostAndPort shadowAuthority;
    private final long limit;
    private final List<Shadow> shadows = new ArrayList<>();
    private final List<MirrorPolicy> policies;
    private boolean opened;
    private boolean tapped;

    /** {@code head}: the upstream request's headers, taken before a try adds its own (x-envoy-attempt-count). */
    MirrorTee(ProxyExchange ex, List<MirrorPolicy> policies, MultiMap head, String uri, String authority) {
        this.ex = ex;
        this.policies = policies;
        this.head = head;
        this.uri = uri;
        this.shadowAuthority = HostAndPort.parseAuthority(shadowHost(authority), -1);
        this.limit = Math.max(1, ex.plane.mirrorBufferBytes());
    }

    /** Envoy's shadow host: {@code -shadow} after the host name, before any port. */
    static String shadowHost(String authority) {
        int colon = authority.lastIndexOf(':');
        return colon > 0 && authority.indexOf(']') < colon
                ? authority.substring(0, colon) + "-shadow" + authority.substring(colon) : authority + "-shadow";
    }

    /** Sends each mirror the request with this whole body (null: none). */
    void send(Buffer body) {
        open();
        tapped = true;
        each(s -> {
            if (body != null) {
                s.write(body);
            }
            s.end();
        });
    }

    /**
     * The body as the upstream reads it: a stream over {@code src} that hands each chunk to every mirror as it passes
     * to the reader, ends the mirrors' bodies with it, and aborts them if it fails. Pausing it pauses {@code src}: only
     * the reader (the upstream's request) sets the pace. Taps once; a second call returns {@code src} itself.
     */
    ReadStream<Buffer> tap(ReadStream<Buffer> src) {
        if (tapped) {
            return src;
        }
        open();
        tapped = true;
        return new Tap(src);
    }

    /** The exchange is over: a mirror whose body has not ended never will, so it is aborted. */
    void abandon() {
        each(s -> {
            if (!s.ended) {
                s.abort(false);
            }
        });
    }

    /**
     * Starts each mirror's request (once): called when the upstream's is, so that a mirror is connecting while the
     * upstream does, not left behind by a body that arrives as soon as the upstream is ready.
     */
    void open() {
        if (opened) {
            return;
        }
        opened = true;
        for (MirrorPolicy m : policies) {
            Upstream u = ex.config.upstreams().get(m.cluster());
            var ep = u == null ? null : u.pick(Long.MIN_VALUE, null);
            if (ep != null) {
                Shadow s = new Shadow();
                shadows.add(s);
                RequestOptions o = new RequestOptions().setMethod(ex.request.method()).setURI(uri)
                        .setHeaders(HttpHeaders.headers().addAll(head))
                        .setServer(SocketAddress.inetSocketAddress(ep.endpoint().port(), ep.endpoint().host()));
                var tls = u.tls(ep);
                String sni = tls == null ? null : tls.sniFor(shadowAuthority.host());
                if (sni != null) {
                    // As a try: the peer host is the SNI sent, the connection still goes to the endpoint.
                    o.setHost(sni).setPort(ep.endpoint().port());
                }
                try {
                    u.client(false, ep).request(o).onComplete(ar -> {
                        if (ar.succeeded()) {
                            s.connected(ar.result());
                        } else {
                            s.abort(false);
                        }
                    });
                } catch (RuntimeException e) {   // a client closed by a config swap, say: this mirror is lost
                    s.abort(false);
                }
            }
        }
    }

    /** Does {@code step} for each mirror; whatever a mirror throws stays its own (it is aborted). */
    private void each(java.util.function.Consumer<Shadow> step) {
        for (int i = 0; i < shadows.size(); i++) {
            Shadow s = shadows.get(i);
            try {
                step.accept(s);
            } catch (RuntimeException e) {
                s.abort(false);
            }
        }
    }

    /** One mirror's request: its body chunks wait in {@code queued} until it has a connection. */
    private final class Shadow {
        private HttpClientRequest request;
        private ArrayDeque<Buffer> queued = new ArrayDeque<>();
        /** Bytes handed to this mirror that its socket has not taken yet (queued, or written and unflushed). */
        private long pending;
        /** Whether any of the request (its head, body bytes) went out on the connection. */
        private boolean written;
        private boolean ended;
        /** Whether its answer has ended (read and dropped). */
        private boolean answered;
        private boolean dead;

        void connected(HttpClientRequest r) {
            if (dead) {
                r.exceptionHandler(e -> { });
                r.reset();   // nothing written on it: the connection is clean and goes back to the pool
                return;
            }
            request = r;
            r.exceptionHandler(e -> abort(false));
            if (shadowAuthority != null) {
                r.authority(shadowAuthority);
            }
            if (!r.headers().contains(HttpHeaders.CONTENT_LENGTH) && !(ended && queued.isEmpty())) {
                r.setChunked(true);
            }
            r.response().onComplete(resp -> {
                if (resp.succeeded()) {
                    // Read and dropped. Once both the answer and the request have ended the exchange is over, and
                    // nothing may abort it any more (its connection may be serving another request by then). An early
                    // answer does not stop the body: the mirror may still be reading it.
                    resp.result().exceptionHandler(e -> abort(false)).handler(b -> { }).endHandler(v -> {
                        answered = true;
                        if (ended) {
                            dead = true;
                        }
                    });
                } else {
                    abort(false);
                }
            });
            ArrayDeque<Buffer> q = queued;
            queued = null;
            for (Buffer b; !dead && (b = q.poll()) != null; ) {
                pending -= b.length();
                write(b);
            }
            if (ended && !dead) {
                finish();
            }
        }

        void write(Buffer chunk) {
            if (dead) {
                return;
            }
            int n = chunk.length();
            pending += n;
            if (pending > limit) {
                abort(true);
                return;
            }
            if (request == null) {
                queued.add(chunk);
                return;
            }
            written = true;
            try {
                request.write(chunk).onComplete(ar -> {
                    pending -= n;
                    if (ar.failed()) {
                        abort(false);
                    }
                });
            } catch (RuntimeException e) {   // a request the connection already gave up on: the mirror's loss only
                abort(false);
            }
        }

        void end() {
            if (ended) {
                return;
            }
            ended = true;
            if (request != null && !dead) {
                finish();
            }
        }

        private void finish() {
            written = true;
            try {
                request.end();
                if (answered) {
                    dead = true;
                } else {
                    request.idleTimeout(ANSWER_TIMEOUT_MS);
                }
            } catch (RuntimeException e) {
                abort(false);
            }
        }

        /** {@code behind}: the mirror could not keep up (counted); otherwise it failed or the exchange ended. */
        void abort(boolean behind) {
            if (dead) {
                return;
            }
            dead = true;
            ended = true;
            queued = null;
            if (behind) {
                ex.plane.countMirrorAborted();
            }
            if (request != null && written) {
                resetConnection(request);
            } else if (request != null) {
                request.reset();   // nothing went out on it: the connection is clean and goes back to the pool
            }
        }
    }

    /**
     * Aborts a mirror's request and resets its connection (RST, its unsent bytes dropped): Vert.x would close an
     * HTTP/1.1 connection only after its queued writes, which a stalled mirror never takes, so the connection (and the
     * bytes queued on it) would stay for ever.
     */
    private static void resetConnection(HttpClientRequest r) {
        try {
            if (r.connection() instanceof ConnectionBase c) {
                c.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                c.channel().close();
            }
            r.reset();
        } catch (RuntimeException e) {   // already gone: nothing left to abort
        }
    }

    /** The request body as the upstream reads it, every chunk handed to the mirrors on its way. */
    private final class Tap implements ReadStream<Buffer> {
        private final ReadStream<Buffer> src;

        Tap(ReadStream<Buffer> src) {
            this.src = src;
        }

        @Override
        public ReadStream<Buffer> handler(Handler<Buffer> h) {
            src.handler(h == null ? null : chunk -> {
                each(s -> s.write(chunk));
                h.handle(chunk);
            });
            return this;
        }

        @Override
        public ReadStream<Buffer> endHandler(Handler<Void> h) {
            src.endHandler(h == null ? null : v -> {
                each(Shadow::end);
                h.handle(v);
            });
            return this;
        }

        @Override
        public ReadStream<Buffer> exceptionHandler(Handler<Throwable> h) {
            src.exceptionHandler(h == null ? null : e -> {
                each(s -> s.abort(false));
                h.handle(e);
            });
            return this;
        }

        @Override
        public ReadStream<Buffer> pause() {
            src.pause();
            return this;
        }

        @Override
        public ReadStream<Buffer> resume() {
            src.resume();
            return this;
        }

        @Override
        public ReadStream<Buffer> fetch(long amount) {
            src.fetch(amount);
            return this;
        }
    }
}
