package io.mesh.pilot.registry;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.mesh.pilot.model.JwksSource;
import io.mesh.pilot.model.Scheduler;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * pilot's JWKS fetcher against a real HTTP server on 127.0.0.1, with a manual clock for its refresh timer: fetch,
 * cache, refresh, a failure keeps the last good JWKS, a URI never fetched gets none (and the snapshot the rejecting
 * JWKS), and a change asks for a push.
 */
class JwksResolverTest {
    static final String JWKS = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k1\",\"n\":\"sXch\"}]}";
    static final String JWKS_2 = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"kid\":\"k2\",\"n\":\"tYdi\"}]}";
    static final Duration TIMEOUT = Duration.ofSeconds(2);

    /** A manual clock whose timers may be set from any thread (the HttpClient's). */
    static final class ManualClock implements Scheduler {
        private record Task(Instant at, Runnable run) {
        }

        private Instant now = Instant.parse("2026-01-01T00:00:00Z");
        private final List<Task> tasks = new ArrayList<>();

        @Override
        public synchronized Instant now() {
            return now;
        }

        @Override
        public synchronized void schedule(Duration delay, Runnable task) {
            tasks.add(new Task(now.plus(delay), task));
        }

        synchronized int pending() {
            return tasks.size();
        }

        /** Moves the clock and runs the timers due (outside the lock: they start fetches). */
        void advance(Duration d) {
            List<Runnable> due = new ArrayList<>();
            synchronized (this) {
                now = now.plus(d);
                tasks.removeIf(t -> {
                    if (!t.at().isAfter(now)) {
                        due.add(t.run());
                        return true;
                    }
                    return false;
                });
            }
            due.forEach(Runnable::run);
        }
    }

    /** What the server answers per path: status and body. */
    record Answer(int status, String body) {
    }

    final Map<String, Answer> answers = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();
    final AtomicInteger pushes = new AtomicInteger();
    final ManualClock clock = new ManualClock();
    HttpServer server;
    JwksResolver resolver;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            requests.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            Answer a = answers.getOrDefault(path, new Answer(404, "not found"));
            byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(a.status(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        resolver = new JwksResolver(clock, Duration.ofMinutes(20), Duration.ofMinutes(1), Duration.ofHours(24),
                pushes::incrementAndGet);
    }

    @AfterEach
    void stop() {
        resolver.close();
        server.stop(0);
    }

    String uri(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    int requests(String path) {
        return requests.getOrDefault(path, new AtomicInteger()).get();
    }

    /** Waits until a fetch has ended (it sets the next timer) and returns what a snapshot would get. */
    JwksSource.Keys settled(String uri) {
        await().pollInterval(Duration.ofMillis(10)).atMost(Duration.ofSeconds(10)).until(() -> clock.pending() == 1);
        return resolver.keys(uri, TIMEOUT);
    }

    @Test
    void fetchesOnFirstAskCachesRefreshesAndAsksForAPushOnlyWhenTheJwksChanges() {
        answers.put("/jwks", new Answer(200, JWKS));
        assertEquals(new JwksSource.Keys(null, null), resolver.keys(uri("/jwks"), TIMEOUT), "the first ask never waits");
        assertEquals(new JwksSource.Keys(JWKS, null), settled(uri("/jwks")));
        assertEquals(1, pushes.get(), "a new JWKS: push");
        resolver.keys(uri("/jwks"), TIMEOUT);
        assertEquals(1, requests("/jwks"), "cached: asking again fetches nothing");

        answers.put("/jwks", new Answer(200, JWKS_2));
        clock.advance(Duration.ofMinutes(19));
        assertEquals(1, requests("/jwks"), "not before the refresh interval");
        clock.advance(Duration.ofMinutes(1));
        assertEquals(new JwksSource.Keys(JWKS_2, null), settled(uri("/jwks")));
        assertEquals(2, requests("/jwks"));
        assertEquals(2, pushes.get(), "the JWKS changed: push");

        clock.advance(Duration.ofMinutes(20));
        assertEquals(new JwksSource.Keys(JWKS_2, null), settled(uri("/jwks")));
        assertEquals(3, requests("/jwks"));
        assertEquals(2, pushes.get(), "the same JWKS: no push");
    }

    @Test
    void aFailedRefreshKeepsTheLastGoodJwks() {
        answers.put("/jwks", new Answer(200, JWKS));
        resolver.keys(uri("/jwks"), TIMEOUT);
        assertEquals(JWKS, settled(uri("/jwks")).jwks());

        answers.put("/jwks", new Answer(500, "oops"));
        clock.advance(Duration.ofMinutes(20));
        assertEquals(new JwksSource.Keys(JWKS, "HTTP 500"), settled(uri("/jwks")));
        answers.put("/jwks", new Answer(200, "<html>not json</html>"));
        clock.advance(Duration.ofMinutes(20));
        JwksSource.Keys k = settled(uri("/jwks"));
        assertEquals(JWKS, k.jwks());
        assertTrue(k.problem().startsWith("not a JWKS: not JSON"), k.problem());
        assertEquals(1, pushes.get(), "failures push nothing");

        server.stop(0);
        clock.advance(Duration.ofMinutes(20));
        k = settled(uri("/jwks"));
        assertEquals(JWKS, k.jwks(), "server gone: still the last good one");
        assertTrue(k.problem().contains("ConnectException"), k.problem());
    }

    @Test
    void aUriNeverFetchedHasNoJwksIsRetriedSoonerAndPushesOnceItIs() {
        answers.put("/late", new Answer(503, "starting"));
        resolver.keys(uri("/late"), TIMEOUT);
        JwksSource.Keys k = settled(uri("/late"));
        assertNull(k.jwks());
        assertEquals("HTTP 503", k.problem());
        assertEquals(0, pushes.get());

        answers.put("/late", new Answer(200, JWKS));
        clock.advance(Duration.ofMinutes(1));   // the retry interval, not the 20-minute refresh
        assertEquals(new JwksSource.Keys(JWKS, null), settled(uri("/late")));
        assertEquals(1, pushes.get());
    }

    @Test
    void aUriNoSnapshotAsksForIsForgottenAfterTheEvictionPeriod() {
        answers.put("/jwks", new Answer(200, JWKS));
        resolver.keys(uri("/jwks"), TIMEOUT);
        settled(uri("/jwks"));
        for (int i = 0; i < 75; i++) {   // 25 hours of refreshes without a snapshot asking
            clock.advance(Duration.ofMinutes(20));
            if (clock.pending() == 0 && resolver.held().isEmpty()) {
                break;
            }
            await().pollInterval(Duration.ofMillis(10)).atMost(Duration.ofSeconds(10)).until(() -> clock.pending() == 1 || resolver.held().isEmpty());
        }
        assertEquals(Map.of(), resolver.held());
    }

    @Test
    void withoutAJwksUriTheKeysAreFoundThroughTheIssuersOpenIdConfiguration() {
        String issuer = uri("/tenant/");
        String discovery = io.mesh.config.RequestAuthentication.openIdConfiguration(issuer);
        assertEquals(uri("/tenant/.well-known/openid-configuration"), discovery, "the trailing slash is dropped");
        answers.put("/tenant/.well-known/openid-configuration", new Answer(200,
                "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + uri("/tenant/keys") + "\"}"));
        answers.put("/tenant/keys", new Answer(200, JWKS));
        resolver.keys(discovery, TIMEOUT);
        assertEquals(new JwksSource.Keys(JWKS, null), settled(discovery));
        assertEquals(1, requests("/tenant/keys"));
        assertEquals(1, pushes.get());
        // A refresh reads the configuration again, so a moved jwks_uri is followed.
        answers.put("/tenant/.well-known/openid-configuration", new Answer(200,
                "{\"jwks_uri\":\"" + uri("/tenant/keys-2") + "\"}"));
        answers.put("/tenant/keys-2", new Answer(200, JWKS_2));
        clock.advance(Duration.ofMinutes(20));
        assertEquals(new JwksSource.Keys(JWKS_2, null), settled(discovery));
        assertEquals(2, requests("/tenant/.well-known/openid-configuration"));
        // A configuration without jwks_uri, or one whose JWKS is gone: the last good keys stay, with the reason.
        answers.put("/tenant/.well-known/openid-configuration", new Answer(200, "{\"issuer\":\"x\"}"));
        clock.advance(Duration.ofMinutes(20));
        assertEquals(new JwksSource.Keys(JWKS_2, "the OpenID configuration has no http(s) jwks_uri"), settled(discovery));
        answers.put("/tenant/.well-known/openid-configuration", new Answer(200,
                "{\"jwks_uri\":\"" + uri("/tenant/gone") + "\"}"));
        clock.advance(Duration.ofMinutes(20));
        assertEquals(new JwksSource.Keys(JWKS_2, "HTTP 404 from " + uri("/tenant/gone")), settled(discovery));
    }
}
