package io.mesh.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A steady, bounded load of HTTP/1.1 GETs to one port on 127.0.0.1, as users keep sending while something happens
 * behind a gateway. Half of the loops keep one connection alive (the JDK's HttpClient), half open a new connection for
 * every request ({@code Connection: close}, as new users do), so both a lost route and a closed listener show. Each
 * loop sends at a fixed pace and stops at {@link #close} or at its deadline, whichever comes first.
 *
 * <p>Every answer is counted by its status and every error by its kind ({@code refused}, {@code reset},
 * {@code timeout}, ...); the first failures are kept with the time they happened, for the failure message.
 */
final class SteadyLoad implements AutoCloseable {

    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    private static final int KEPT_FAILURES = 20;

    private final int port;
    private final long intervalNanos;
    private final long deadlineNanos;
    private final long startNanos = System.nanoTime();
    private final Map<String, AtomicLong> outcomes = new ConcurrentHashMap<>();
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final List<String> firstFailures = new CopyOnWriteArrayList<>();
    private final List<Thread> loops = new ArrayList<>();
    private volatile boolean stopped;

    /**
     * Starts {@code loops} loops (half keep-alive, half a connection per request), each sending one GET to
     * {@code http://127.0.0.1:port/load} every {@code interval}, for at most {@code limit}.
     */
    SteadyLoad(int port, int loops, Duration interval, Duration limit) {
        this.port = port;
        this.intervalNanos = interval.toNanos();
        this.deadlineNanos = startNanos + limit.toNanos();
        for (int i = 0; i < loops; i++) {
            boolean keepAlive = i % 2 == 0;
            String name = (keepAlive ? "keep-alive-" : "new-connection-") + i;
            Thread loop = new Thread(() -> run(name, keepAlive), "load-" + name);
            loop.setDaemon(true);
            this.loops.add(loop);
        }
        this.loops.forEach(Thread::start);
    }

    /** Requests answered 200. */
    long ok() {
        return ok.get();
    }

    /** Requests answered otherwise, or not answered at all. */
    long failed() {
        return failed.get();
    }

    /** Every outcome and how often: "200", "404", "refused", ... */
    Map<String, Long> outcomes() {
        Map<String, Long> out = new TreeMap<>();
        outcomes.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** What the load saw, for assertion messages: the outcomes and the first failures, with their times. */
    String report() {
        return "outcomes " + outcomes() + (firstFailures.isEmpty() ? "" : "; first failures: " + firstFailures);
    }

    /** Stops the loops and waits for their requests in flight (each ends within its timeout). */
    @Override
    public void close() throws InterruptedException {
        stopped = true;
        for (Thread loop : loops) {
            loop.join(REQUEST_TIMEOUT.toMillis() + 2_000);
        }
    }

    private void run(String name, boolean keepAlive) {
        HttpClient client = keepAlive ? HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(REQUEST_TIMEOUT).build() : null;
        long next = System.nanoTime();
        while (!stopped && System.nanoTime() < deadlineNanos) {
            String outcome = keepAlive ? keepAliveRequest(client) : newConnectionRequest();
            record(name, outcome);
            next += intervalNanos;
            long wait = next - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            } else if (-wait > intervalNanos) {
                next = System.nanoTime();   // fell behind (a slow answer): no burst to catch up
            }
        }
    }

    private void record(String loop, String outcome) {
        outcomes.computeIfAbsent(outcome, k -> new AtomicLong()).incrementAndGet();
        if ("200".equals(outcome)) {
            ok.incrementAndGet();
            return;
        }
        failed.incrementAndGet();
        if (firstFailures.size() < KEPT_FAILURES) {
            firstFailures.add(String.format("%.3fs %s %s", (System.nanoTime() - startNanos) / 1e9, loop, outcome));
        }
    }

    private String keepAliveRequest(HttpClient client) {
        try {
            HttpResponse<Void> response = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/load")).timeout(REQUEST_TIMEOUT).build(), HttpResponse.BodyHandlers.discarding());
            return Integer.toString(response.statusCode());
        } catch (java.net.http.HttpTimeoutException e) {
            return "timeout";
        } catch (ConnectException e) {
            return "refused";
        } catch (IOException e) {
            return "io error (" + e.getClass().getSimpleName() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopped = true;
            return "interrupted";
        }
    }

    /** One GET on a connection of its own, closed after the answer: the status, or what went wrong. */
    private String newConnectionRequest() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), (int) REQUEST_TIMEOUT.toMillis());
            s.setSoTimeout((int) REQUEST_TIMEOUT.toMillis());
            OutputStream out = s.getOutputStream();
            out.write(("GET /load HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            if (!answer.startsWith("HTTP/1.1 ") || answer.length() < 12) {
                return answer.isEmpty() ? "closed without an answer" : "bad answer";
            }
            return answer.substring(9, 12);
        } catch (ConnectException e) {
            return "refused";
        } catch (SocketTimeoutException e) {
            return "timeout";
        } catch (java.net.SocketException e) {
            return "reset";
        } catch (IOException e) {
            return "io error (" + e.getClass().getSimpleName() + ")";
        }
    }
}
