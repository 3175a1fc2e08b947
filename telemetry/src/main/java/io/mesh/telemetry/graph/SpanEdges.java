package io.mesh.telemetry.graph;

import io.mesh.telemetry.traces.StoredSpan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds calls between services in spans: a span whose parent belongs to another service is one call from the
 * parent's service to the span's, with the child's duration and error. Parents and children arrive in any
 * order (a client span ends after its server span), so both recent spans and children waiting for their parent
 * are remembered, each in a bounded map that forgets the oldest first.
 *
 * <p>Thread-safety: {@link #observe} takes the monitor.
 */
public final class SpanEdges {

    private static final int MAX_WAITING_CHILDREN = 64;

    private final ServiceGraph graph;
    private final Map<String, String> recentServices;
    private final Map<String, List<Child>> waitingForParent;

    public SpanEdges(ServiceGraph graph, int capacity) {
        this.graph = graph;
        this.recentServices = bounded(capacity);
        this.waitingForParent = bounded(capacity);
    }

    public void observe(List<StoredSpan> spans) {
        List<Call> calls = new ArrayList<>();
        synchronized (this) {
            for (StoredSpan span : spans) {
                recentServices.put(span.traceId() + span.spanId(), span.service());
                if (!span.isRoot()) {
                    String parentKey = span.traceId() + span.parentSpanId();
                    String parentService = recentServices.get(parentKey);
                    if (parentService != null) {
                        calls.add(new Call(parentService, Child.of(span)));
                    } else {
                        List<Child> siblings = waitingForParent.computeIfAbsent(parentKey, k -> new ArrayList<>(1));
                        if (siblings.size() < MAX_WAITING_CHILDREN) {
                            siblings.add(Child.of(span));
                        }
                    }
                }
                List<Child> children = waitingForParent.remove(span.traceId() + span.spanId());
                if (children != null) {
                    children.forEach(child -> calls.add(new Call(span.service(), child)));
                }
            }
        }
        for (Call call : calls) {
            if (!call.source.equals(call.child.service())) {
                graph.spanCall(call.source, call.child.service(), call.child.durationNanos(), call.child.error());
            }
        }
    }

    private record Call(String source, Child child) {
    }

    /** What a call needs of the child span: a few fields, so waiting children do not hold whole spans. */
    private record Child(String service, long durationNanos, boolean error) {
        static Child of(StoredSpan span) {
            return new Child(span.service(), span.durationNanos(), span.error());
        }
    }

    private static <V> Map<String, V> bounded(int capacity) {
        return new LinkedHashMap<>(1024) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
                return size() > capacity;
            }
        };
    }
}
