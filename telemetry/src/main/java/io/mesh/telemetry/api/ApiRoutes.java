package io.mesh.telemetry.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mesh.telemetry.graph.ServiceGraph;
import io.mesh.telemetry.traces.StoredSpan;
import io.mesh.telemetry.traces.TraceQuery;
import io.mesh.telemetry.traces.TraceStore;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The query API on the monitoring port. Read-only; every parameter is checked and a bad one gets a 400 naming it.
 * <ul>
 *   <li>{@code GET /api/traces?service=&minDurationMs=&errorsOnly=&limit=}: trace summaries, newest first.</li>
 *   <li>{@code GET /api/traces/{traceId}}: one trace's spans (404 when unknown or evicted).</li>
 *   <li>{@code GET /api/services}: services with spans in the store.</li>
 *   <li>{@code GET /api/graph}: the live service graph.</li>
 * </ul>
 */
@Singleton
public class ApiRoutes {

    private static final Pattern TRACE_ID = Pattern.compile("[0-9a-f]{32}");

    @Inject
    TraceStore store;
    @Inject
    ServiceGraph graph;
    @Inject
    ObjectMapper mapper;

    void routes(@Observes Router router) {
        router.get("/api/traces").blockingHandler(this::findTraces, false);
        router.get("/api/traces/:traceId").blockingHandler(this::trace, false);
        router.get("/api/services").blockingHandler(ctx -> json(ctx, 200, Map.of("services", store.services())),
                false);
        router.get("/api/graph").handler(ctx -> json(ctx, 200, graph.view()));
        // Vert.x matches "/graph" for "/graph/" too: only the bare path is redirected to the page.
        router.get("/graph").handler(ctx -> {
            if (ctx.request().path().equals("/graph")) {
                ctx.redirect("/graph/");
            } else {
                ctx.next();
            }
        });
    }

    private void findTraces(RoutingContext ctx) {
        TraceQuery query;
        try {
            Optional<String> service = Optional.ofNullable(ctx.request().getParam("service")).filter(s -> !s.isBlank());
            double minDurationMs = Double.parseDouble(param(ctx, "minDurationMs", "0"));
            boolean errorsOnly = parseBoolean(param(ctx, "errorsOnly", "false"));
            int limit = Integer.parseInt(param(ctx, "limit", "20"));
            if (!(minDurationMs >= 0) || Double.isInfinite(minDurationMs)) {
                throw new IllegalArgumentException("minDurationMs must be a non-negative number");
            }
            query = new TraceQuery(service, (long) (minDurationMs * 1_000_000), errorsOnly, limit);
        } catch (IllegalArgumentException e) {
            json(ctx, 400, Map.of("error", e.getMessage()));
            return;
        }
        json(ctx, 200, Map.of("traces", store.find(query)));
    }

    private void trace(RoutingContext ctx) {
        String traceId = ctx.pathParam("traceId").toLowerCase();
        if (!TRACE_ID.matcher(traceId).matches()) {
            json(ctx, 400, Map.of("error", "a trace id is 32 hex digits"));
            return;
        }
        List<StoredSpan> spans = store.trace(traceId);
        if (spans.isEmpty()) {
            json(ctx, 404, Map.of("error", "trace " + traceId + " is not in the store"));
            return;
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("traceId", traceId);
        body.put("spans", spans.stream().map(ApiRoutes::span).toList());
        json(ctx, 200, body);
    }

    private static Map<String, Object> span(StoredSpan span) {
        Map<String, Object> view = new LinkedHashMap<>();
        view.put("traceId", span.traceId());
        view.put("spanId", span.spanId());
        view.put("parentSpanId", span.parentSpanId());
        view.put("service", span.service());
        view.put("name", span.name());
        view.put("kind", span.kind());
        view.put("startNanos", span.startNanos());
        view.put("durationMs", span.durationNanos() / 1e6);
        view.put("error", span.error());
        view.put("statusMessage", span.statusMessage());
        view.put("attributes", span.attributes());
        return view;
    }

    private static String param(RoutingContext ctx, String name, String fallback) {
        String value = ctx.request().getParam(name);
        return value == null || value.isBlank() ? fallback : value.strip();
    }

    private static boolean parseBoolean(String value) {
        return switch (value.toLowerCase()) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new IllegalArgumentException("errorsOnly must be true or false");
        };
    }

    private void json(RoutingContext ctx, int status, Object body) {
        try {
            ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
                    .putHeader("Cache-Control", "no-store").end(mapper.writeValueAsString(body));
        } catch (JsonProcessingException e) {
            ctx.fail(e);
        }
    }
}
