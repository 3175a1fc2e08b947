package io.mesh.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A validated DestinationRule: traffic policy for one host and its subsets.
 *
 * @param exportTo the namespaces whose proxies apply it ({@link ExportTo}); empty: all
 */
public record DestinationRule(String namespace, String name, String host, TrafficPolicy trafficPolicy,
        List<Subset> subsets, List<String> exportTo) {

    public DestinationRule {
        subsets = List.copyOf(subsets);
        exportTo = List.copyOf(exportTo);
    }

    public record Subset(String name, Map<String, String> labels, TrafficPolicy trafficPolicy) {
        public Subset {
            labels = Map.copyOf(labels);
        }
    }

    /** Any field may be null: "not set". */
    public record TrafficPolicy(LoadBalancer loadBalancer, ConnectionPool connectionPool,
            OutlierDetection outlierDetection, Tls tls) {
        public static final TrafficPolicy NONE = new TrafficPolicy(null, null, null, null);

        /** The subset's policy overrides the rule's, field by field, as in Istio. */
        public TrafficPolicy overriddenBy(TrafficPolicy o) {
            if (o == null) {
                return this;
            }
            return new TrafficPolicy(o.loadBalancer != null ? o.loadBalancer : loadBalancer,
                    o.connectionPool != null ? o.connectionPool : connectionPool,
                    o.outlierDetection != null ? o.outlierDetection : outlierDetection, o.tls != null ? o.tls : tls);
        }
    }

    public enum Simple { UNSPECIFIED, ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN, RANDOM, PASSTHROUGH }

    /** Either simple, or consistent hashing on a header, cookie, source IP or query parameter. */
    public record LoadBalancer(Simple simple, String hashHeader, String hashCookie, boolean hashSourceIp,
            String hashQueryParameter) {
        public boolean consistentHash() {
            return hashHeader != null || hashCookie != null || hashSourceIp || hashQueryParameter != null;
        }
    }

    public record ConnectionPool(Integer maxConnections, Duration connectTimeout, Integer http1MaxPendingRequests,
            Integer http2MaxRequests, Integer maxRequestsPerConnection, Integer maxRetries) {
    }

    public record OutlierDetection(Integer consecutive5xxErrors, Integer consecutiveGatewayErrors, Duration interval,
            Duration baseEjectionTime, Integer maxEjectionPercent) {
    }

    public enum TlsMode { DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL }

    public record Tls(TlsMode mode, String sni, String credentialName, List<String> subjectAltNames) {
        public Tls {
            subjectAltNames = List.copyOf(subjectAltNames);
        }
    }
}
