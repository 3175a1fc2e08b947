package io.mesh.pilot.registry;

import io.mesh.config.RequestAuthentication;
import io.mesh.pilot.model.JwksSource;
import io.mesh.pilot.model.Scheduler;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * pilot's fetcher of RequestAuthentications' {@code jwksUri} (or, for a rule with neither {@code jwks} nor
 * {@code jwksUri}, of the {@code jwks_uri} its issuer's OpenID configuration names), as istiod's JwksResolver with its default
 * PILOT_JWT_ENABLE_REMOTE_JWKS=false: proxies get the keys inlined, never fetch them. A URI is fetched the first
 * time a snapshot asks for it, then every {@code refresh} (istiod: 20 minutes); while none has ever been fetched it
 * is retried every {@code retry}. A failed fetch keeps the last good JWKS. A fetched JWKS that differs from the one
 * held calls {@code changed} (a push). A URI no snapshot has asked for during {@code evictAfter} is forgotten.
 *
 * <p>Thread-safety: {@link #keys} is called from push threads and never blocks (fetches are asynchronous, on the
 * HttpClient's threads); entries are replaced atomically in a concurrent map.
 */
public final class JwksResolver implements JwksSource, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(JwksResolver.class);
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** How often a URI is fetched again once it has been (istiod's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL). */
    public static final Duration DEFAULT_REFRESH = Duration.ofMinutes(20);

    /** One URI's state: the last good JWKS (null while none), the last failure, when a snapshot last asked. */
    private record Entry(String jwks, String problem, Duration timeout, Instant lastAsked) {
    }

    private final HttpClient http;
    private final Scheduler scheduler;
    private final Duration refresh;
    private final Duration retry;
    private final Duration evictAfter;
    private final Runnable changed;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    /** URIs whose first fetch has not ended yet, completed when it does (success or failure). */
    private final Map<String, java.util.concurrent.CompletableFuture<Void>> firstAnswers = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public JwksResolver(Scheduler scheduler, Duration refresh, Duration retry, Duration evictAfter, Runnable changed) {
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(DEFAULT_TIMEOUT).build();
        this.scheduler = scheduler;
        this.refresh = refresh;
        this.retry = retry;
        this.evictAfter = evictAfter;
        this.changed = changed;
    }

    @Override
    public Keys keys(String uri, Duration timeout) {
        Instant now = scheduler.now();
        boolean[] first = {false};
        Entry e = entries.compute(uri, (u, old) -> {
            if (old == null) {
                first[0] = true;
                return new Entry(null, null, timeout, now);
            }
            return new Entry(old.jwks, old.problem, timeout, now);
        });
        if (first[0]) {
            firstAnswers.put(uri, new java.util.concurrent.CompletableFuture<>());
            fetch(uri);
        }
        return new Keys(e.jwks, e.problem);
    }

    /**
     * Fetches these URIs now (each with its rule's timeout) and waits for their first answers, at most twice the
     * longest timeout (an OpenID configuration, then its JWKS). istiod fetches a JWKS it does not hold on its main path
     * before it pushes; this is that for pilot's start, so the first snapshot after a restart carries the issuers'
     * keys and not the rejecting ones that would turn every valid token away until the fetch ended.
     */
    public void prefetch(Map<String, Duration> uris) {
        List<java.util.concurrent.CompletableFuture<Void>> pending = new ArrayList<>();
        Duration longest = Duration.ZERO;
        for (Map.Entry<String, Duration> u : uris.entrySet()) {
            keys(u.getKey(), u.getValue());
            java.util.concurrent.CompletableFuture<Void> answer = firstAnswers.get(u.getKey());
            if (answer != null) {
                pending.add(answer);
            }
            longest = u.getValue().compareTo(longest) > 0 ? u.getValue() : longest;
        }
        if (pending.isEmpty()) {
            return;
        }
        try {
            java.util.concurrent.CompletableFuture.allOf(pending.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(longest.multipliedBy(2).toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warnf("%d of %d JWKS fetches had no answer within %s; their issuers' tokens are rejected until they "
                    + "do", pending.stream().filter(f -> !f.isDone()).count(), pending.size(), longest.multipliedBy(2));
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());   // the futures only ever complete normally
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The URIs held, with their last good JWKS (null while none): for /debug and tests. */
    public Map<String, String> held() {
        Map<String, String> out = new java.util.TreeMap<>();
        entries.forEach((u, e) -> out.put(u, e.jwks == null ? "" : e.jwks));
        return out;
    }

    private void fetch(String uri) {
        Entry e = entries.get(uri);
        if (e == null || closed) {
            return;
        }
        if (uri.endsWith(RequestAuthentication.OPENID_CONFIGURATION)) {
            get(uri, uri, e.timeout, configuration -> discovered(uri, configuration, e.timeout));
        } else {
            get(uri, uri, e.timeout, body -> jwks(uri, uri, body));
        }
    }

    /**
     * An issuer's OpenID configuration (fetched because its rule has neither jwks nor jwksUri, as istiod does): then
     * the JWKS its {@code jwks_uri} names, kept under {@code uri}.
     */
    private void discovered(String uri, String configuration, Duration timeout) {
        String jwksUri;
        try {
            com.fasterxml.jackson.databind.JsonNode doc = JSON.readTree(configuration);
            jwksUri = doc == null ? null : doc.path("jwks_uri").asText(null);
        } catch (java.io.IOException ex) {
            done(uri, null, "the OpenID configuration is not JSON: " + ex.getMessage());
            return;
        }
        if (jwksUri == null || !(jwksUri.startsWith("https://") || jwksUri.startsWith("http://"))) {
            done(uri, null, "the OpenID configuration has no http(s) jwks_uri");
            return;
        }
        get(uri, jwksUri, timeout, body -> jwks(uri, jwksUri, body));
    }

    /** A JWKS fetched from {@code from} for {@code uri}: kept if it is one. */
    private void jwks(String uri, String from, String body) {
        String problem = RequestAuthentication.jwksProblem(body);
        done(uri, problem == null ? body : null, problem == null ? null
                : "not a JWKS" + (from.equals(uri) ? "" : " at " + from) + ": " + problem);
    }

    /** GETs {@code target} for {@code uri}'s fetch: a 200's body goes to {@code then}, anything else ends the fetch. */
    private void get(String uri, String target, Duration timeout, java.util.function.Consumer<String> then) {
        String where = target.equals(uri) ? "" : " from " + target;
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(URI.create(target)).timeout(timeout).header("Accept", "application/json")
                    .GET().build();
        } catch (IllegalArgumentException ex) {
            done(uri, null, "invalid URI" + where + ": " + ex.getMessage());
            return;
        }
        http.sendAsync(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)).whenComplete((resp, err) -> {
            if (err != null) {
                Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                        ? err.getCause() : err;
                done(uri, null, cause.getClass().getSimpleName() + where
                        + (cause.getMessage() == null ? "" : ": " + cause.getMessage()));
            } else if (resp.statusCode() != 200) {
                done(uri, null, "HTTP " + resp.statusCode() + where);
            } else {
                then.accept(resp.body());
            }
        });
    }

    /** A fetch ended: keep a good JWKS (asking for a push when it changed), or keep the last one and the problem. */
    private void done(String uri, String jwks, String problem) {
        java.util.concurrent.CompletableFuture<Void> first = firstAnswers.remove(uri);
        boolean[] different = {false};
        Entry e = entries.computeIfPresent(uri, (u, old) -> {
            if (jwks == null) {
                return new Entry(old.jwks, problem, old.timeout, old.lastAsked);
            }
            different[0] = !jwks.equals(old.jwks);
            return new Entry(jwks, null, old.timeout, old.lastAsked);
        });
        if (first != null) {
            first.complete(null);
        }
        if (e == null || closed) {
            return;
        }
        if (problem != null) {
            LOG.warnf("fetching the JWKS from %s failed (%s); %s", uri, problem, e.jwks == null
                    ? "tokens of its issuer are rejected until a fetch succeeds"
                    : "the last one fetched stays in use");
        }
        if (different[0]) {
            LOG.infof("JWKS from %s fetched (changed): pushing", uri);
            changed.run();
        }
        scheduler.schedule(e.jwks == null ? retry : refresh, () -> again(uri));
    }

    /** The next fetch of a URI, unless no snapshot has asked for it lately. */
    private void again(String uri) {
        Entry e = entries.get(uri);
        if (e == null || closed) {
            return;
        }
        if (Duration.between(e.lastAsked, scheduler.now()).compareTo(evictAfter) > 0) {
            entries.remove(uri, e);
            LOG.debugf("JWKS of %s evicted: no RequestAuthentication used it for %s", uri, evictAfter);
            return;
        }
        entries.computeIfPresent(uri, (u, old) -> new Entry(old.jwks, old.problem, old.timeout, old.lastAsked));
        fetch(uri);
    }

    @Override
    public void close() {
        closed = true;
        entries.clear();
    }
}
