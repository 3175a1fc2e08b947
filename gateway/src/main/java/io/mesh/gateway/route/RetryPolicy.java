package io.mesh.gateway.route;

import java.util.Set;

/**
 * Envoy's retry policy, reduced to what the gateway applies. {@code perTryTimeoutMs} 0 means none.
 * Backoff is exponential from {@code baseIntervalMs} with full jitter, capped by {@code maxIntervalMs}.
 */
public record RetryPolicy(int numRetries, Set<String> retryOn, Set<Integer> retriableStatusCodes,
        long perTryTimeoutMs, long baseIntervalMs, long maxIntervalMs) {

    public static final RetryPolicy NONE = new RetryPolicy(0, Set.of(), Set.of(), 0, 25, 250);

    /** The wait before retry number {@code retry} (1, 2...): full jitter under base x 2^(retry-1), capped by the max. */
    public long backoffMs(int retry) {
        long cap = Math.min(maxIntervalMs, baseIntervalMs << Math.min(20, retry - 1));
        return 1 + java.util.concurrent.ThreadLocalRandom.current().nextLong(Math.max(1, cap));
    }

    public boolean retriesStatus(int status) {
        if (retryOn.contains("5xx") && status >= 500) {
            return true;
        }
        if (retryOn.contains("gateway-error") && (status == 502 || status == 503 || status == 504)) {
            return true;
        }
        if (retryOn.contains("retriable-4xx") && status == 409) {
            return true;
        }
        return retryOn.contains("retriable-status-codes") && retriableStatusCodes.contains(status);
    }

    /**
     * A connect failure, a reset or a per-try timeout. {@code reset-before-request} retries only connect failures:
     * the one reset this proxy knows happened before any of the request reached the upstream.
     */
    public boolean retriesFailure(boolean connectFailure, boolean timeout) {
        if (retryOn.contains("5xx") || retryOn.contains("gateway-error")) {
            return true;
        }
        if (connectFailure && (retryOn.contains("connect-failure") || retryOn.contains("reset-before-request"))) {
            return true;
        }
        return !timeout && retryOn.contains("reset");
    }
}
