package io.mesh.gateway.proxy;

import io.mesh.gateway.route.RetryPolicy;
import io.mesh.gateway.upstream.Upstream;

/**
 * One request's retries, for both paths ({@link UpstreamCall}, {@link FastExchange}): how many were made against
 * the route's policy, and the slot it holds under its cluster's max-retries breaker from its first retry until it
 * completes. Made at the first failed try that the policy's conditions would retry, so a request that never fails
 * allocates nothing for it. Event-loop confined, as its exchange.
 */
final class RetryState {

    private final RetryPolicy policy;
    private final Upstream upstream;
    private int done;
    private boolean holdsSlot;

    RetryState(RetryPolicy policy, Upstream upstream) {
        this.policy = policy;
        this.upstream = upstream;
    }

    /**
     * Null when one more try may go (the breaker slot is then held), else why not: {@link ResponseFlag#URX} when
     * the policy's retries are used up, {@link ResponseFlag#UO} when the cluster's max-retries breaker is full.
     */
    ResponseFlag refusal() {
        if (done >= policy.numRetries()) {
            return ResponseFlag.URX;
        }
        if (!holdsSlot) {
            if (!upstream.tryAcquireRetry()) {
                return ResponseFlag.UO;
            }
            holdsSlot = true;
        }
        return null;
    }

    /** Counts the retry about to be scheduled; its backoff in milliseconds (exponential, full jitter, capped). */
    long next() {
        done++;
        return policy.backoffMs(done);
    }

    /** Gives the breaker slot back; called once, when the exchange completes. */
    void release() {
        if (holdsSlot) {
            holdsSlot = false;
            upstream.releaseRetry();
        }
    }
}
