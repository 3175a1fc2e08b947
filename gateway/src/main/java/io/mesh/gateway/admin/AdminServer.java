package io.mesh.gateway.admin;

import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.mesh.gateway.identity.WorkloadIdentity;
import io.mesh.gateway.proxy.ActiveConfig;
import io.mesh.gateway.proxy.DataPlane;
import io.mesh.gateway.route.Route;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.route.VirtualHost;
import io.mesh.gateway.upstream.EndpointState;
import io.mesh.gateway.upstream.Upstream;
import io.mesh.gateway.xds.AdsClient;
import io.mesh.gateway.xds.StaticBootstrap;
import io.mesh.gateway.xds.XdsState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Map;

/**
 * The admin port, bound to 127.0.0.1 only (like Envoy's 15000): {@code /config_dump} shows the accepted
 * xDS resources with their versions and the effective routing table; {@code /clusters} shows every
 * cluster's endpoints with their load, failures and ejections; {@code /stats} a few counters in Envoy's text form.
 * Secrets are listed by name only there; {@code /certs} shows their certificates and the proxy's own ({@link CertsView}).
 */
public final class AdminServer {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().usingTypeRegistry(StaticBootstrap.TYPES)
            .omittingInsignificantWhitespace();

    private final Vertx vertx;
    private final DataPlane plane;
    private final AdsClient ads;
    private final XdsState state;
    private final WorkloadIdentity identity;
    private final LogLevels logLevels;
    private HttpServer server;

    /** {@code identity}: the proxy's own citadel identity, or null when it has none. */
    public AdminServer(Vertx vertx, DataPlane plane, AdsClient ads, XdsState state, WorkloadIdentity identity,
            LogLevels logLevels) {
        this.vertx = vertx;
        this.plane = plane;
        this.ads = ads;
        this.state = state;
        this.identity = identity;
        this.logLevels = logLevels;
    }

    public Future<Void> start(int port) {
        server = vertx.createHttpServer().requestHandler(this::handle);
        return server.listen(port, "127.0.0.1").mapEmpty();
    }

    public int port() {
        return server == null ? -1 : server.actualPort();
    }

    public Future<Void> close() {
        return server == null ? Future.succeededFuture() : server.close();
    }

    private void handle(HttpServerRequest req) {
        switch (req.path()) {
            case "/config_dump" -> vertx.executeBlocking(this::configDump, false)
                    .onSuccess(j -> json(req, j)).onFailure(e -> req.response().setStatusCode(500).end(e.getMessage()));
            case "/clusters" -> json(req, clusters(plane.active()));
            case "/ready" -> req.response().setStatusCode(plane.ready() ? 200 : 503).end(plane.ready() ? "LIVE\n" : "PRE_INITIALIZING\n");
            case "/stats" -> req.response().putHeader("content-type", "text/plain; charset=utf-8").end(stats());
            case "/certs" -> vertx.executeBlocking(() -> CertsView.certs(identity,
                            ads != null ? ads.read(this::secrets) : secrets(), Instant.now()), false)
                    .onSuccess(j -> json(req, j)).onFailure(e -> req.response().setStatusCode(500).end(e.getMessage()));
            case "/logging" -> logging(req);
            default -> req.response().setStatusCode(404).end("try /config_dump, /clusters, /certs, /logging or /stats\n");
        }
    }

    /**
     * A few of Envoy's {@code /stats} counters and gauges, one {@code name: value} per line:
     * {@code server.total_connections} (open downstream HTTP connections under the connection cap), and the requests
     * the fast path took ({@code http.fast_path.downstream_rq_total}) and of those, the ones relayed as bytes.
     */
    private String stats() {
        return "server.total_connections: " + plane.openConnections() + "\n"
                + "http.fast_path.downstream_rq_total: " + plane.fastPathRequests() + "\n"
                + "http.fast_path.downstream_rq_raw_relayed: " + plane.rawRelayedRequests() + "\n";
    }

    /**
     * Envoy's {@code /logging}: GET lists the loggers and their levels; POST {@code ?level=L} sets all of them,
     * {@code ?NAME=L} one, {@code ?paths=NAME:L,NAME:L} some, and answers with the new listing. A wrong name or level
     * changes nothing and gets a 400 saying what there is.
     */
    private void logging(HttpServerRequest req) {
        var params = req.params();
        if (req.method() != io.vertx.core.http.HttpMethod.POST || params.isEmpty()) {
            if (!params.isEmpty()) {
                req.response().setStatusCode(405).putHeader("allow", "POST").end("changing log levels needs POST\n");
                return;
            }
            req.response().putHeader("content-type", "text/plain; charset=utf-8").end(logLevels.listing());
            return;
        }
        try {
            StringBuilder paths = new StringBuilder();
            String all = null;
            for (var p : params) {
                if (p.getKey().equals("level")) {
                    all = p.getValue();
                } else if (p.getKey().equals("paths")) {
                    paths.append(paths.length() == 0 ? "" : ",").append(p.getValue());
                } else {
                    paths.append(paths.length() == 0 ? "" : ",").append(p.getKey()).append(':').append(p.getValue());
                }
            }
            if (all == null && paths.length() == 0) {
                throw new LogLevels.Invalid("give level=LEVEL, NAME=LEVEL or paths=NAME:LEVEL,...");
            }
            logLevels.configure(all, paths.toString());
            req.response().putHeader("content-type", "text/plain; charset=utf-8").end(logLevels.listing());
        } catch (LogLevels.Invalid e) {
            req.response().setStatusCode(400).end(e.getMessage() + "\n");
        }
    }

    /** The SDS secrets accepted, copied (the map is the xDS state's). */
    private Map<String, Message> secrets() {
        return Map.copyOf(state.raw().getOrDefault(XdsState.SDS, Map.of()));
    }

    private static void json(HttpServerRequest req, JsonObject j) {
        req.response().putHeader("content-type", "application/json").end(j.encodePrettily());
    }

    private JsonObject configDump() throws Exception {
        JsonObject out = new JsonObject();
        out.put("ready", plane.ready());
        if (ads != null) {
            out.put("xds", new JsonObject().put("connected", ads.connected()).put("reconnects", ads.reconnects())
                    .put("last_nack", ads.lastNack()));
        }
        Map<String, String> versions = ads != null ? ads.read(state::versions) : state.versions();
        Map<String, Map<String, Message>> raw = ads != null ? ads.read(state::raw) : state.raw();
        out.put("versions", new JsonObject(Map.copyOf(versions)));
        JsonObject resources = new JsonObject();
        for (var e : raw.entrySet()) {
            JsonArray arr = new JsonArray();
            for (var r : e.getValue().entrySet()) {
                if (e.getKey().equals(XdsState.SDS)) {
                    arr.add(new JsonObject().put("name", r.getKey()));
                } else {
                    arr.add(new JsonObject(PRINTER.print(r.getValue())));
                }
            }
            resources.put(e.getKey().substring(e.getKey().lastIndexOf('.') + 1), arr);
        }
        out.put("dynamic_resources", resources);
        out.put("routing_table", routing(plane.active()));
        out.put("listeners", new JsonObject(Map.copyOf(plane.boundPorts())));
        return out;
    }

    private static JsonObject routing(ActiveConfig cfg) {
        JsonObject tables = new JsonObject();
        for (Map.Entry<String, RouteTable> e : cfg.snapshot().routes().entrySet()) {
            JsonArray hosts = new JsonArray();
            for (VirtualHost vh : e.getValue().virtualHosts()) {
                JsonArray routes = new JsonArray();
                for (Route r : vh.routes()) {
                    routes.add(new JsonObject().put("name", r.name()).put("match", r.path().kind() + " " + r.path().value())
                            .put("headers", r.headers().size()).put("action", r.action().toString()));
                }
                hosts.add(new JsonObject().put("name", vh.name()).put("domains", new JsonArray(vh.domains()))
                        .put("require_tls", vh.requireTls()).put("routes", routes));
            }
            tables.put(e.getKey(), hosts);
        }
        return tables;
    }

    private static JsonObject clusters(ActiveConfig cfg) {
        JsonObject out = new JsonObject();
        long now = System.nanoTime();
        for (Map.Entry<String, Upstream> e : cfg.upstreams().entrySet()) {
            Upstream u = e.getValue();
            JsonArray eps = new JsonArray();
            for (EndpointState s : u.endpoints()) {
                eps.add(new JsonObject().put("address", s.endpoint().address()).put("weight", s.endpoint().weight())
                        .put("active_requests", s.active()).put("requests", s.requests()).put("failures", s.failures())
                        .put("ejected", s.ejected(now)).put("ejections", s.ejections())
                        .put("health", s.healthName(now))
                        // Which transport its connections use: the cluster's transport_socket or a match's name.
                        .put("transport_socket", u.spec().transportName(s.transport()))
                        .put("tls", u.tls(s) != null));
            }
            out.put(e.getKey(), new JsonObject().put("lb_policy", u.spec().lbPolicy().name())
                    .put("protocol", u.spec().protocol().name()).put("active_requests", u.activeRequests())
                    .put("active_retries", u.activeRetries())
                    .put("circuit_breakers", new JsonObject().put("max_connections", u.spec().breakers().maxConnections())
                            .put("max_pending_requests", u.spec().breakers().maxPendingRequests())
                            .put("max_requests", u.spec().breakers().maxRequests())
                            .put("max_retries", u.spec().breakers().maxRetries()))
                    .put("endpoints", eps));
        }
        return out;
    }
}
