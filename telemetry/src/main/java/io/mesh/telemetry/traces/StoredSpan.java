package io.mesh.telemetry.traces;

import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One span as the store keeps it: ids in hex, the service it came from, timing, error flag and a capped copy of
 * its attributes. Immutable. {@link #estimatedBytes()} is what the store's byte bound counts.
 */
public record StoredSpan(String traceId, String spanId, String parentSpanId, String service, String name,
        String kind, long startNanos, long endNanos, boolean error, String statusMessage,
        Map<String, String> attributes) {

    static final int MAX_ATTRIBUTES = 32;
    static final int MAX_VALUE_CHARS = 256;
    private static final HexFormat HEX = HexFormat.of();

    public static StoredSpan of(String service, Span span) {
        Map<String, String> attributes = new LinkedHashMap<>();
        for (KeyValue kv : span.getAttributesList()) {
            if (attributes.size() == MAX_ATTRIBUTES) {
                break;
            }
            attributes.put(truncate(kv.getKey()), truncate(text(kv.getValue())));
        }
        boolean error = span.getStatus().getCode() == Status.StatusCode.STATUS_CODE_ERROR;
        String kind = switch (span.getKind()) {
            case SPAN_KIND_SERVER -> "server";
            case SPAN_KIND_CLIENT -> "client";
            case SPAN_KIND_PRODUCER -> "producer";
            case SPAN_KIND_CONSUMER -> "consumer";
            case SPAN_KIND_INTERNAL -> "internal";
            default -> "unspecified";
        };
        return new StoredSpan(HEX.formatHex(span.getTraceId().toByteArray()),
                HEX.formatHex(span.getSpanId().toByteArray()), HEX.formatHex(span.getParentSpanId().toByteArray()),
                truncate(service), truncate(span.getName()), kind, span.getStartTimeUnixNano(),
                Math.max(span.getEndTimeUnixNano(), span.getStartTimeUnixNano()), error,
                truncate(span.getStatus().getMessage()), Map.copyOf(attributes));
    }

    public long durationNanos() {
        return endNanos - startNanos;
    }

    public boolean isRoot() {
        return parentSpanId.isEmpty();
    }

    /**
     * A deliberate over-estimate of the heap this span retains, the store's indexes included: each string as
     * its header plus two bytes a character, the record, its attribute map, and a per-trace index entry (most
     * traces in a busy store have one or two spans).
     */
    public long estimatedBytes() {
        long bytes = SPAN_OVERHEAD_BYTES + 2L * (traceId.length() + spanId.length() + parentSpanId.length()
                + service.length() + name.length() + statusMessage.length());
        for (Map.Entry<String, String> e : attributes.entrySet()) {
            bytes += ATTRIBUTE_OVERHEAD_BYTES + 2L * (e.getKey().length() + e.getValue().length());
        }
        return bytes;
    }

    /** Record, six string headers, the attribute map, the arrival deque slot and the per-trace index entry. */
    private static final int SPAN_OVERHEAD_BYTES = 480;
    /** Two string headers and the map's slots. */
    private static final int ATTRIBUTE_OVERHEAD_BYTES = 96;

    /** The text of an OTLP attribute value, as a query API shows it. */
    public static String text(AnyValue value) {
        return switch (value.getValueCase()) {
            case STRING_VALUE -> value.getStringValue();
            case BOOL_VALUE -> Boolean.toString(value.getBoolValue());
            case INT_VALUE -> Long.toString(value.getIntValue());
            case DOUBLE_VALUE -> Double.toString(value.getDoubleValue());
            case BYTES_VALUE -> HEX.formatHex(value.getBytesValue().toByteArray());
            case ARRAY_VALUE -> join(value.getArrayValue().getValuesList());
            case KVLIST_VALUE -> value.getKvlistValue().getValuesList().stream()
                    .map(kv -> kv.getKey() + "=" + text(kv.getValue())).toList().toString();
            default -> "";
        };
    }

    private static String join(List<AnyValue> values) {
        return values.stream().map(StoredSpan::text).toList().toString();
    }

    private static String truncate(String s) {
        return s.length() <= MAX_VALUE_CHARS ? s : s.substring(0, MAX_VALUE_CHARS);
    }
}
