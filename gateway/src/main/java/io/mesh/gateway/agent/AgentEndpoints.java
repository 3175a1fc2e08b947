package io.mesh.gateway.agent;

import io.mesh.gateway.GatewayConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Istio's pilot-agent endpoints on the monitoring port (Quarkus HTTP, 15020), which the injector points the pod at:
 * <ul>
 * <li>{@code /stats/prometheus}: the proxy's own metrics (the Prometheus registry behind {@code /q/metrics}, text
 * 0.0.4), then the app's scrape ({@code ISTIO_PROMETHEUS_ANNOTATIONS}). An app that fails to answer costs only its
 * part, counted in {@code istio_agent_scrape_failures_total{type="application"}}.</li>
 * <li>{@code /app-health/<container>/livez|readyz|startupz}: the app's probes ({@code ISTIO_KUBE_APP_PROBERS}), run
 * from inside the pod.</li>
 * <li>{@code POST /quitquitquit} (from the pod only): the proxy exits ({@link QuitRequest}).</li>
 * <li>{@code POST /drain} (from the pod only): the proxy starts draining and keeps running ({@link DrainRequest}).</li>
 * </ul>
 * Settings are read once at startup; a malformed one stops the start with an error naming it. Handlers run on the
 * event loop and never block it: the app is reached with Vert.x clients and gRPC's own threads, each bounded by a
 * timeout, and the registry is rendered on a worker thread.
 */
@Singleton
public class AgentEndpoints {

    private static final Logger LOG = Logger.getLogger(AgentEndpoints.class);

    private final Set<String> warnedClashes = ConcurrentHashMap.newKeySet();

    void routes(@Observes Router router, GatewayConfig config, Vertx vertx, PrometheusMeterRegistry registry, QuitRequest quit,
            DrainRequest drain) {
        GatewayConfig.Agent agent = config.agent();
        Optional<ScrapeTarget> target = ScrapeTarget.parse(agent.prometheusAnnotations().orElse(""), config.monitoringPort());
        Map<String, AppProber> probers = AppProber.parseAll(agent.appProbers().orElse(""));
        Counter scrapes = Counter.builder("istio_agent_scrapes").description("The total number of scrapes.").register(registry);
        Counter appFailures = Counter.builder("istio_agent_scrape_failures").description("The total number of failed scrapes.")
                .tag("type", "application").register(registry);
        AppScraper scraper = target.map(t -> new AppScraper(vertx, agent.appAddress(), t, agent.scrapeTimeout(),
                agent.scrapeMaxBytes())).orElse(null);
        AppProbes appProbes = new AppProbes(vertx, agent.appAddress(), probers);

        router.get("/stats/prometheus").handler(rc -> stats(rc, vertx, registry, scrapes, appFailures, scraper));
        router.route("/app-health/*").handler(appProbes::handle);
        router.route("/app-lifecycle/*").handler(appProbes::handle);
        router.route("/quitquitquit").handler(rc -> quit(rc, quit));
        router.route("/drain").handler(rc -> drain(rc, drain));
        LOG.infof("agent endpoints: /stats/prometheus merges %s; app probes %s",
                target.map(t -> "http://" + agent.appAddress() + ":" + t.port() + t.path()).orElse("nothing (no app scrape)"),
                probers.isEmpty() ? "none" : probers.keySet());
    }

    /**
     * istio-agent's {@code handleQuit}: only from a loopback address (403), only POST (405); 200 {@code OK}, then the
     * process stops as on SIGTERM and exits 0 ({@link QuitRequest}).
     */
    private static void quit(RoutingContext rc, QuitRequest quit) {
        if (localPost(rc)) {
            LOG.infof("handling /quitquitquit from %s, exiting", rc.request().remoteAddress().hostAddress());
            rc.response().setStatusCode(200).end("OK").onComplete(x -> quit.request());
        }
    }

    /**
     * istio-agent's {@code handleDrain}: the same checks as {@code /quitquitquit} (loopback only, 403; POST only, 405);
     * 200 {@code OK}, then the drain starts and the process keeps running ({@link DrainRequest}).
     */
    private static void drain(RoutingContext rc, DrainRequest drain) {
        if (localPost(rc)) {
            LOG.infof("handling /drain from %s, starting drain", rc.request().remoteAddress().hostAddress());
            rc.response().setStatusCode(200).end("OK").onComplete(x -> drain.request());
        }
    }

    /** True for a POST from a loopback address; otherwise answers 403 (not loopback) or 405 (not POST), as the agent. */
    private static boolean localPost(RoutingContext rc) {
        var remote = rc.request().remoteAddress();
        if (remote == null || !isLoopback(remote.hostAddress())) {
            rc.response().setStatusCode(403).putHeader("Content-Type", "text/plain; charset=utf-8")
                    .end("Only requests from localhost are allowed\n");
            return false;
        }
        if (rc.request().method() != io.vertx.core.http.HttpMethod.POST) {
            rc.response().setStatusCode(405).putHeader("Content-Type", "text/plain; charset=utf-8").end("Method Not Allowed\n");
            return false;
        }
        return true;
    }

    /** A literal loopback address (127.0.0.0/8, ::1, or an IPv4-mapped one); parsed, never looked up. */
    static boolean isLoopback(String host) {
        if (host == null || host.isEmpty() || !host.matches("[0-9a-fA-F:.%]+")) {
            return false;
        }
        try {
            return java.net.InetAddress.getByName(host.contains("%") ? host.substring(0, host.indexOf('%')) : host)
                    .isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private void stats(RoutingContext rc, Vertx vertx, PrometheusMeterRegistry registry, Counter scrapes, Counter appFailures,
            AppScraper scraper) {
        scrapes.increment();
        var app = scraper == null ? io.vertx.core.Future.<String>succeededFuture(null)
                : scraper.scrape(rc.request().headers()).recover(e -> {
                    appFailures.increment();
                    LOG.warnf("failed scraping application metrics: %s", e.getMessage());
                    return io.vertx.core.Future.succeededFuture(null);
                });
        app.compose(appText -> vertx.executeBlocking(() -> {
            String proxy = registry.scrape(TextFormat.CONTENT_TYPE_004);
            if (appText == null || appText.isEmpty()) {
                return proxy;
            }
            List<String> dropped = new ArrayList<>();
            String kept = Exposition.withoutFamiliesOf(proxy, appText, dropped);
            for (String name : dropped) {
                if (warnedClashes.add(name)) {
                    LOG.warnf("the app's metric family %s has a name the proxy exposes too; it is left out of /stats/prometheus", name);
                }
            }
            return proxy.endsWith("\n") || proxy.isEmpty() ? proxy + kept : proxy + "\n" + kept;
        }, false)).onComplete(ar -> {
            if (ar.succeeded()) {
                rc.response().putHeader("Content-Type", TextFormat.CONTENT_TYPE_004).end(ar.result());
            } else {
                LOG.errorf(ar.cause(), "failed rendering the proxy's metrics");
                rc.response().setStatusCode(500).end("failed rendering the proxy's metrics: " + ar.cause().getMessage() + "\n");
            }
        });
    }
}
