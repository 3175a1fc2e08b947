package io.mesh.gateway.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/** Steady background traffic from a JDK HTTP client; counts successes, failures and answers by backend. */
final class Load implements AutoCloseable {

    final AtomicInteger ok = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();
    final AtomicReference<String> lastFailure = new AtomicReference<>();
    /** The first failure and when it happened: later ones are often its consequences. */
    final AtomicReference<String> firstFailure = new AtomicReference<>();
    final Map<String, AtomicInteger> byBackend = new ConcurrentHashMap<>();
    private volatile boolean running = true;
    private final Thread[] threads;

    Load(String url, int threads) {
        this.threads = new Thread[threads];
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        for (int i = 0; i < threads; i++) {
            this.threads[i] = new Thread(() -> {
                while (running) {
                    try {
                        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(url))
                                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200) {
                            ok.incrementAndGet();
                            byBackend.computeIfAbsent(r.headers().firstValue("x-backend").orElse("?"),
                                    k -> new AtomicInteger()).incrementAndGet();
                        } else {
                            failed.incrementAndGet();
                            fail(r.statusCode() + " " + r.headers().map() + " " + r.body());
                        }
                    } catch (Exception e) {
                        if (running) {
                            failed.incrementAndGet();
                            fail(e.toString());
                        }
                    }
                }
            }, "load-" + i);
            this.threads[i].start();
        }
    }

    private void fail(String what) {
        lastFailure.set(what);
        firstFailure.compareAndSet(null, java.time.Instant.now() + " after " + ok.get() + " ok: " + what);
    }

    int count(String backend) {
        AtomicInteger n = byBackend.get(backend);
        return n == null ? 0 : n.get();
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        for (Thread t : threads) {
            t.join(15_000);
        }
    }
}
