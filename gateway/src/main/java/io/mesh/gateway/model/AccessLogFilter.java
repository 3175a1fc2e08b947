package io.mesh.gateway.model;

import io.mesh.config.AttributeExpression;
import java.util.List;

/**
 * The filter of one of a chain's access logs (Envoy's CEL ExtensionFilter, which istiod writes for Telemetry's
 * {@code accessLogging[].filter}), compiled once when the listener is translated: {@link #test} is true when its
 * expression is true, as Envoy's CEL filter decides (an absent attribute or a value that is not a bool: false). An
 * access log without a filter has none (null): every request is logged. Immutable.
 */
public final class AccessLogFilter {
    private final AttributeExpression[] any;
    private final String[] headerNames;
    private final boolean readsResponse;

    public AccessLogFilter(List<AttributeExpression> any) {
        if (any.isEmpty()) {
            throw new IllegalArgumentException("an access log filter needs an expression");
        }
        this.any = any.toArray(AttributeExpression[]::new);
        this.headerNames = any.stream().flatMap(e -> e.headerNames().stream()).distinct().sorted()
                .toArray(String[]::new);
        this.readsResponse = any.stream().anyMatch(e -> !e.responseHeaderNames().isEmpty());
    }

    /** Whether the request or connection whose attributes {@code a} gives is logged. */
    public boolean test(AttributeExpression.Activation a) {
        for (AttributeExpression e : any) {
            if (e.test(a)) {
                return true;
            }
        }
        return false;
    }

    /** The request headers the expressions read (lower case), which the fast path keeps of a request; may be empty. */
    public String[] headerNames() {
        return headerNames;
    }

    /** Whether an expression reads a response header or trailer (the fast path then keeps the decoded response). */
    public boolean readsResponse() {
        return readsResponse;
    }

    /** Equal when the expressions' sources are: a push that resends the same filter changes nothing. */
    @Override
    public boolean equals(Object o) {
        return o instanceof AccessLogFilter f && sources().equals(f.sources());
    }

    @Override
    public int hashCode() {
        return sources().hashCode();
    }

    private List<String> sources() {
        return java.util.Arrays.stream(any).map(AttributeExpression::source).toList();
    }

    @Override
    public String toString() {
        return java.util.Arrays.stream(any).map(AttributeExpression::source).toList().toString();
    }
}
