package io.mesh.pilot.debug;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.mesh.pilot.PilotRuntime;
import io.mesh.pilot.PilotStartup;
import io.mesh.pilot.model.Endpoint;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ServiceModel;
import io.mesh.pilot.registry.ConfigStore;
import io.mesh.pilot.xds.XdsConnection;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * istiod's debug endpoints on the monitoring port: /version, /debug/syncz (proxy-status), /debug/config_dump?proxyID=,
 * /debug/configz (every resource, accepted or rejected with its reason) and /debug/registryz (services and
 * endpoints). Read-only views of the current snapshot and connections; they never change state.
 */
@Singleton
public class DebugRoutes {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final PilotStartup startup;

    public DebugRoutes(PilotStartup startup) {
        this.startup = startup;
    }

    void routes(@Observes Router router) {
        router.get("/debug/syncz").blockingHandler(ctx -> withRuntime(ctx, rt -> json(ctx, syncz(rt))));
        router.get("/debug/configz").blockingHandler(ctx -> withRuntime(ctx, rt -> json(ctx, configz(rt))));
        router.get("/debug/registryz").blockingHandler(ctx -> withRuntime(ctx, rt -> json(ctx, registryz(rt))));
        router.get("/debug/config_dump").blockingHandler(ctx -> withRuntime(ctx, rt -> configDump(ctx, rt)));
        router.get("/version").handler(ctx -> json(ctx, Map.of("version", version())));
    }

    /** This pilot's version (the build's quarkus.application.version), as istiod's /version gives its own. */
    public static String version() {
        return org.eclipse.microprofile.config.ConfigProvider.getConfig()
                .getOptionalValue("quarkus.application.version", String.class).orElse("unknown");
    }

    private void withRuntime(RoutingContext ctx, java.util.function.Consumer<PilotRuntime> body) {
        PilotRuntime rt = startup.runtime();
        if (rt == null) {
            ctx.response().setStatusCode(503).end("pilot is starting\n");
            return;
        }
        body.accept(rt);
    }

    public static List<Map<String, Object>> syncz(PilotRuntime rt) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (XdsConnection c : rt.watcher().connections()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("proxy", c.proxy().id());
            p.put("type", c.proxy().type().name());
            p.put("namespace", c.proxy().namespace());
            p.put("stream", c.streamId());
            p.put("protocol", c.delta() ? "delta" : "sotw");
            p.put("version", c.proxy().version());
            Map<String, Object> types = new LinkedHashMap<>();
            for (XdsConnection.TypeStatus t : c.status()) {
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("status", t.sent() == null ? "NOT SENT" : t.lastNack() != null
                        && Objects.equals(t.lastNack().version(), t.sent()) ? "NACKED"
                        : Objects.equals(t.sent(), t.acked()) ? "SYNCED" : "STALE");
                s.put("sent", t.sent());
                s.put("acked", t.acked());
                s.put("resources", t.resources());
                if (t.lastNack() != null) {
                    s.put("lastNack", Map.of("version", String.valueOf(t.lastNack().version()), "nonce",
                            t.lastNack().nonce(), "error", t.lastNack().message(), "at", t.lastNack().at().toString()));
                }
                types.put(t.type(), s);
            }
            p.put("xds", types);
            out.add(p);
        }
        return out;
    }

    static Map<String, Object> configz(PilotRuntime rt) {
        List<Map<String, Object>> resources = new ArrayList<>();
        for (ConfigStore.Status s : rt.store().status()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("kind", s.key().kind());
            r.put("namespace", s.key().namespace());
            r.put("name", s.key().name());
            r.put("origin", s.origin());
            r.put("status", s.rejectedReason() == null ? "Accepted" : "Rejected");
            r.put("inForce", s.inForce() ? (s.rejectedReason() == null ? "current" : "last good version") : "none");
            if (s.rejectedReason() != null) {
                r.put("reason", s.rejectedReason());
            }
            if (!s.warnings().isEmpty()) {
                r.put("warnings", s.warnings());
            }
            resources.add(r);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("resources", resources);
        out.put("fileErrors", rt.store().sourceErrors());
        out.put("snapshotWarnings", rt.snapshot().warnings());
        return out;
    }

    static Map<String, Object> registryz(PilotRuntime rt) {
        MeshSnapshot s = rt.snapshot();
        List<Map<String, Object>> services = new ArrayList<>();
        for (ServiceModel svc : s.services().values()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("hostname", svc.hostname());
            m.put("namespace", svc.namespace());
            m.put("origin", svc.origin());
            m.put("ports", svc.ports());
            List<Map<String, Object>> eps = new ArrayList<>();
            for (Endpoint e : s.endpointsOf(svc.hostname())) {
                Map<String, Object> em = new LinkedHashMap<>();
                em.put("address", e.address());
                em.put("ports", e.ports());
                em.put("labels", e.labels());
                em.put("locality", e.locality());
                em.put("weight", e.weight());
                em.put("healthy", e.healthy());
                em.put("health", e.effectiveHealth().name());
                eps.add(em);
            }
            m.put("endpoints", eps);
            services.add(m);
        }
        return Map.of("version", s.version(), "services", services);
    }

    private static void configDump(RoutingContext ctx, PilotRuntime rt) {
        String id = ctx.request().getParam("proxyID");
        if (id == null || id.isBlank()) {
            ctx.response().setStatusCode(400).end("proxyID is required: /debug/config_dump?proxyID=<node id>\n");
            return;
        }
        for (XdsConnection c : rt.watcher().connections()) {
            if (c.proxy().id().equals(id)) {
                ctx.response().putHeader("content-type", "application/json").end(ConfigDump.of(c, rt.snapshot()));
                return;
            }
        }
        ctx.response().setStatusCode(404).end("no connected proxy " + id + "; see /debug/syncz\n");
    }

    private static void json(RoutingContext ctx, Object body) {
        try {
            ctx.response().putHeader("content-type", "application/json").end(JSON.writeValueAsString(body));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            ctx.response().setStatusCode(500).end(e.getMessage());
        }
    }
}
