package io.mesh.gateway.upstream;

import java.util.List;

/**
 * A cluster as CDS defines it, immutable. {@code edsName} is non-null when endpoints come from EDS;
 * otherwise {@code staticEndpoints} holds the load assignment.
 */
public record ClusterSpec(String name, LbPolicy lbPolicy, long connectTimeoutMs, long idleTimeoutMs,
        UpstreamProtocol protocol, CircuitBreakers breakers, OutlierPolicy outlier, UpstreamTls tls, String edsName,
        List<Endpoint> staticEndpoints, int ringSize) {

    /** Two specs that differ only in endpoints keep the same connection pools. */
    public boolean sameTransport(ClusterSpec o) {
        return o != null && lbPolicy == o.lbPolicy && connectTimeoutMs == o.connectTimeoutMs
                && idleTimeoutMs == o.idleTimeoutMs && protocol == o.protocol && breakers.equals(o.breakers)
                && java.util.Objects.equals(outlier, o.outlier) && java.util.Objects.equals(tls, o.tls)
                && ringSize == o.ringSize;
    }
}
