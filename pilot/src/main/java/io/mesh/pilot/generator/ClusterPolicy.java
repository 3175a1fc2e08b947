package io.mesh.pilot.generator;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.cluster.v3.UpstreamConnectionOptions;
import io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.TcpKeepalive;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.config.DestinationRule;
import java.util.List;

/**
 * DestinationRule traffic policy -> cluster settings: load balancer, connection pool (circuit breakers), outlier
 * detection and upstream TLS. For proxyless gRPC only what grpc-java accepts is set (XDS-NOTES: it NACKs MAGLEV
 * and RANDOM, and cannot use SDS-referenced certificates).
 */
final class ClusterPolicy {
    private ClusterPolicy() {
    }

    /**
     * istiod's defaultLBAlgorithm: LEAST_REQUEST where no DestinationRule picks a policy (Istio's default since 1.14;
     * istiod's PILOT_ENABLE_LEGACY_LB_ALGORITHM_DEFAULT brought ROUND_ROBIN back and is gone from newer istiod).
     * Proxyless gRPC clients keep ROUND_ROBIN, as istiod's gRPC generator sends them.
     */
    static Cluster.LbPolicy defaultLbPolicy(boolean proxyless) {
        return proxyless ? Cluster.LbPolicy.ROUND_ROBIN : Cluster.LbPolicy.LEAST_REQUEST;
    }

    /**
     * istiod's setWarmup / setSlowStartConfig: the round robin or least request balancer's {@code slow_start_config},
     * its window the warmup's duration, with {@code warmup}'s aggression and minimum weight percent (the deprecated
     * {@code warmupDurationSecs} leaves them to Envoy's defaults). Envoy slows only these two policies' new endpoints.
     */
    private static void slowStart(Cluster.Builder c, DestinationRule.Warmup warmup) {
        Cluster.SlowStartConfig.Builder s = Cluster.SlowStartConfig.newBuilder()
                .setSlowStartWindow(Protos.duration(warmup.duration()));
        if (warmup.aggression() != null) {
            s.setAggression(io.envoyproxy.envoy.config.core.v3.RuntimeDouble.newBuilder()
                    .setDefaultValue(warmup.aggression()).setRuntimeKey("("));   // istiod's: a key no runtime sets
        }
        if (warmup.minimumPercent() != null) {
            s.setMinWeightPercent(io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(warmup.minimumPercent()));
        }
        if (c.getLbPolicy() == Cluster.LbPolicy.ROUND_ROBIN) {
            c.setRoundRobinLbConfig(Cluster.RoundRobinLbConfig.newBuilder().setSlowStartConfig(s));
        } else if (c.getLbPolicy() == Cluster.LbPolicy.LEAST_REQUEST) {
            c.setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder().setSlowStartConfig(s));
        }
    }

    /** {@code endpointIds}: the SPIFFE IDs of the cluster's endpoints, the SANs an ISTIO_MUTUAL peer must present. */
    static void apply(Cluster.Builder c, DestinationRule.TrafficPolicy policy, String sni, boolean proxyless,
            List<String> endpointIds) {
        if (policy == null) {
            return;
        }
        DestinationRule.LoadBalancer lb = policy.loadBalancer();
        if (lb != null) {
            if (lb.consistentHash()) {
                c.setLbPolicy(Cluster.LbPolicy.RING_HASH);
            } else {
                c.setLbPolicy(switch (lb.simple()) {
                    case LEAST_REQUEST, LEAST_CONN -> Cluster.LbPolicy.LEAST_REQUEST;
                    case RANDOM -> proxyless ? Cluster.LbPolicy.ROUND_ROBIN : Cluster.LbPolicy.RANDOM;
                    case ROUND_ROBIN -> Cluster.LbPolicy.ROUND_ROBIN;
                    default -> defaultLbPolicy(proxyless);
                });
                if (lb.warmup() != null && !proxyless) {
                    slowStart(c, lb.warmup());
                }
            }
        }
        DestinationRule.ConnectionPool pool = policy.connectionPool();
        if (pool != null) {
            CircuitBreakers.Thresholds.Builder t = CircuitBreakers.Thresholds.newBuilder();
            if (pool.maxConnections() != null) {
                t.setMaxConnections(UInt32Value.of(pool.maxConnections()));
            }
            if (pool.http1MaxPendingRequests() != null) {
                t.setMaxPendingRequests(UInt32Value.of(pool.http1MaxPendingRequests()));
            }
            if (pool.http2MaxRequests() != null) {
                t.setMaxRequests(UInt32Value.of(pool.http2MaxRequests()));
            }
            if (pool.maxRetries() != null) {
                t.setMaxRetries(UInt32Value.of(pool.maxRetries()));
            }
            c.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(t));
            if (pool.connectTimeout() != null) {
                c.setConnectTimeout(Protos.duration(pool.connectTimeout()));
            }
            if (!proxyless && pool.maxRequestsPerConnection() != null && pool.maxRequestsPerConnection() > 0) {
                c.setMaxRequestsPerConnection(UInt32Value.of(pool.maxRequestsPerConnection()));
            }
            if (!proxyless && pool.tcpKeepalive() != null) {
                c.setUpstreamConnectionOptions(UpstreamConnectionOptions.newBuilder()
                        .setTcpKeepalive(tcpKeepalive(pool.tcpKeepalive())));
            }
        }
        DestinationRule.OutlierDetection od = policy.outlierDetection();
        if (od != null) {
            // As istiod: a count that is set is enforced (Envoy enforces gateway failures only when asked), 0 turns
            // its ejection off, and success-rate ejection is off.
            OutlierDetection.Builder o = OutlierDetection.newBuilder().setEnforcingSuccessRate(UInt32Value.of(0));
            if (od.consecutive5xxErrors() != null) {
                o.setConsecutive5Xx(UInt32Value.of(od.consecutive5xxErrors()))
                        .setEnforcingConsecutive5Xx(UInt32Value.of(od.consecutive5xxErrors() > 0 ? 100 : 0));
            }
            if (od.consecutiveGatewayErrors() != null) {
                o.setConsecutiveGatewayFailure(UInt32Value.of(od.consecutiveGatewayErrors()))
                        .setEnforcingConsecutiveGatewayFailure(UInt32Value.of(od.consecutiveGatewayErrors() > 0 ? 100 : 0));
            }
            if (od.interval() != null) {
                o.setInterval(Protos.duration(od.interval()));
            }
            if (od.baseEjectionTime() != null) {
                o.setBaseEjectionTime(Protos.duration(od.baseEjectionTime()));
            }
            if (od.maxEjectionPercent() != null) {
                o.setMaxEjectionPercent(UInt32Value.of(od.maxEjectionPercent()));
            }
            c.setOutlierDetection(o);
            // istiod's applyOutlierDetection (pilot/pkg/networking/core/cluster_traffic_policy.go): the panic threshold
            // is minHealthPercent, 0 when unset ("not typically applicable in k8s environments with few pods"), so
            // Envoy never sends to ejected endpoints unless the DestinationRule asks for it.
            panicThreshold(c, od.minHealthPercent() == null ? 0 : od.minHealthPercent());
        }
        DestinationRule.Tls tls = policy.tls();
        if (tls != null && !proxyless && tls.mode() != DestinationRule.TlsMode.DISABLE) {
            c.setTransportSocket(upstreamTls(tls, sni, endpointIds));
        }
    }

    /**
     * istiod's applyLoadBalancer for a service that sends its UNHEALTHY endpoints (SupportsUnhealthyEndpoints: a
     * traffic distribution, or PILOT_SEND_UNHEALTHY_ENDPOINTS): panic threshold 0, else Envoy's panic would send to
     * them; it wins over a DestinationRule's minHealthPercent.
     */
    static void sendsUnhealthyEndpoints(Cluster.Builder c) {
        panicThreshold(c, 0);
    }

    private static void panicThreshold(Cluster.Builder c, int percent) {
        c.setCommonLbConfig(c.getCommonLbConfig().toBuilder().setHealthyPanicThreshold(
                io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(percent)));
    }

    /**
     * istiod's applyTCPKeepalive / setKeepAliveSettings (istio/istio
     * {@code pilot/pkg/networking/core/cluster_traffic_policy.go}): an empty {@code tcp_keepalive} turns SO_KEEPALIVE
     * on with the OS defaults; {@code probes} is set when above 0, {@code time} and {@code interval} when set, as whole
     * seconds (the fraction dropped, as istiod's {@code uint32(Seconds)}).
     */
    static TcpKeepalive tcpKeepalive(DestinationRule.TcpKeepalive k) {
        TcpKeepalive.Builder b = TcpKeepalive.newBuilder();
        if (k.probes() != null && k.probes() > 0) {
            b.setKeepaliveProbes(UInt32Value.of(k.probes()));
        }
        if (k.time() != null) {
            b.setKeepaliveTime(UInt32Value.of((int) Math.min(0xFFFFFFFFL, k.time().getSeconds())));
        }
        if (k.interval() != null) {
            b.setKeepaliveInterval(UInt32Value.of((int) Math.min(0xFFFFFFFFL, k.interval().getSeconds())));
        }
        return b.build();
    }

    /**
     * istiod's applyTCPKeepalive with a mesh-wide {@code tcpKeepalive} (null: none): the mesh's fields first, then the
     * DestinationRule's (already on {@code c}, from {@link #apply}) override those they set, field by field; a cluster
     * with neither keeps no {@code upstream_connection_options}. Returns {@code c}.
     */
    static Cluster.Builder meshTcpKeepalive(Cluster.Builder c, DestinationRule.TcpKeepalive mesh) {
        if (mesh == null) {
            return c;
        }
        TcpKeepalive.Builder merged = tcpKeepalive(mesh).toBuilder();
        TcpKeepalive rule = c.getUpstreamConnectionOptions().getTcpKeepalive();
        if (rule.hasKeepaliveProbes()) {
            merged.setKeepaliveProbes(rule.getKeepaliveProbes());
        }
        if (rule.hasKeepaliveTime()) {
            merged.setKeepaliveTime(rule.getKeepaliveTime());
        }
        if (rule.hasKeepaliveInterval()) {
            merged.setKeepaliveInterval(rule.getKeepaliveInterval());
        }
        c.setUpstreamConnectionOptions(c.getUpstreamConnectionOptions().toBuilder().setTcpKeepalive(merged));
        return c;
    }

    static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /**
     * The upstream HTTP protocol, as istiod sets it: HTTP/2 for a port whose protocol is HTTP2, GRPC or GRPC-WEB (or
     * with the DestinationRule's {@code h2UpgradePolicy: UPGRADE}), the client's own protocol with
     * {@code useClientProtocol}, else HTTP/1.1 (no options); and the pool's {@code http.idleTimeout} (else its
     * {@code tcp.idleTimeout}), {@code tcp.maxConnectionDuration} and, on an HTTP/2 port's cluster,
     * {@code http.maxConcurrentStreams} (the streams per upstream connection).
     */
    static void httpProtocol(Cluster.Builder c, boolean http2, DestinationRule.ConnectionPool pool) {
        httpProtocol(c, http2, pool, null);
    }

    /**
     * As above, and for a DestinationRule's SIMPLE or MUTUAL {@code tls} without {@code sni}, istiod's
     * setAutoSniAndAutoSanValidation: {@code auto_sni} (a request's SNI is its Host) and, without subjectAltNames and
     * insecureSkipVerify, {@code auto_san_validation} (the upstream's certificate must be valid for that Host).
     */
    static void httpProtocol(Cluster.Builder c, boolean http2, DestinationRule.ConnectionPool pool,
            DestinationRule.Tls tls) {
        HttpProtocolOptions.Builder o = HttpProtocolOptions.newBuilder();
        boolean set = false;
        if (tls != null && (tls.mode() == DestinationRule.TlsMode.SIMPLE || tls.mode() == DestinationRule.TlsMode.MUTUAL)
                && tls.sni() == null) {
            o.getUpstreamHttpProtocolOptionsBuilder().setAutoSni(true)
                    .setAutoSanValidation(tls.subjectAltNames().isEmpty() && !tls.insecureSkipVerify());
            set = true;
        }
        if (pool != null && pool.useClientProtocol()) {
            o.setUseDownstreamProtocolConfig(HttpProtocolOptions.UseDownstreamHttpConfig.newBuilder()
                    .setHttpProtocolOptions(Http1ProtocolOptions.getDefaultInstance())
                    .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()));
            set = true;
        } else if (http2 || (pool != null && pool.h2Upgrade())) {
            Http2ProtocolOptions.Builder h2 = Http2ProtocolOptions.newBuilder();
            // istiod's applyConnectionPool sets http.maxConcurrentStreams on HTTP/2 options the port's protocol gave the
            // cluster; an h2UpgradePolicy upgrade comes after it (applyH2Upgrade), with options of its own.
            if (http2 && pool != null && pool.maxConcurrentStreams() != null && pool.maxConcurrentStreams() > 0) {
                h2.setMaxConcurrentStreams(com.google.protobuf.UInt32Value.of(pool.maxConcurrentStreams()));
            }
            o.setExplicitHttpConfig(HttpProtocolOptions.ExplicitHttpConfig.newBuilder().setHttp2ProtocolOptions(h2));
            set = true;
        }
        // istiod's applyConnectionPool (pilot/pkg/networking/core/cluster_traffic_policy.go): the upstream HTTP
        // connections' idle timeout is http.idleTimeout, else tcp.idleTimeout.
        java.time.Duration idle = pool == null ? null
                : pool.idleTimeout() != null ? pool.idleTimeout() : pool.tcpIdleTimeout();
        if (idle != null) {
            o.getCommonHttpProtocolOptionsBuilder().setIdleTimeout(Protos.duration(idle));
            set = true;
        }
        // Also there: tcp.maxConnectionDuration is the upstream HTTP connections' max_connection_duration, on every
        // cluster (TCP traffic ignores it there; TcpProxyTimeouts sets it as the tcp_proxy's
        // max_downstream_connection_duration, as istiod's networkfilter.go).
        if (pool != null && pool.maxConnectionDuration() != null) {
            o.getCommonHttpProtocolOptionsBuilder().setMaxConnectionDuration(Protos.duration(pool.maxConnectionDuration()));
            set = true;
        }
        if (set) {
            c.putTypedExtensionProtocolOptions(HTTP_PROTOCOL_OPTIONS, Any.pack(o.build()));
        }
    }

    /** istiod's SDS name for the system's root certificates, which its agent serves from the OS bundle. */
    static final String SYSTEM_ROOTS = "file-root:system";

    /**
     * ISTIO_MUTUAL uses the proxy's own SDS secrets ("default" and "ROOTCA"), as istiod configures Envoy. The peer's
     * SANs, when there are any, go where istiod puts them: a combined validation context whose default context
     * holds match_subject_alt_names (exact) and whose SDS config names the CA. They are the DestinationRule's
     * subjectAltNames if set, else (ISTIO_MUTUAL) the SPIFFE IDs of the endpoints' service accounts.
     *
     * <p>SIMPLE and MUTUAL are istiod's constructUpstreamTLS: the SNI is the rule's {@code sni} only (without one the
     * cluster's HTTP requests take theirs from the Host, {@link #httpProtocol}); the CA is the credential's
     * ({@code NAME-cacert}), else the system roots ({@link #SYSTEM_ROOTS}); {@code insecureSkipVerify} sends no CA
     * and no SAN: an empty validation context, or none beside a credential.
     */
    static TransportSocket upstreamTls(DestinationRule.Tls tls, String sni, List<String> endpointIds) {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
        SdsSecretConfig ca = null;
        List<String> sans = tls.subjectAltNames();
        String credential = tls.credentialName() == null ? null : SecretGenerator.resourceName(tls.credentialName());
        switch (tls.mode()) {
            case ISTIO_MUTUAL -> {
                common.addTlsCertificateSdsSecretConfigs(sds("default"));
                ca = sds("ROOTCA");
                common.addAllAlpnProtocols(MetadataExchange.MESH_ALPN);
                if (sans.isEmpty()) {
                    sans = endpointIds;
                }
            }
            default -> {
                sni = tls.sni();
                if (tls.mode() == DestinationRule.TlsMode.MUTUAL) {
                    common.addTlsCertificateSdsSecretConfigs(sds(credential));
                }
                // A BackendTLSPolicy's CA is "configmap://NS/NAME" (or "invalid://", which no proxy is ever sent).
                if (tls.insecureSkipVerify()) {
                    if (credential == null) {
                        common.setValidationContext(CertificateValidationContext.getDefaultInstance());
                    }
                    sans = List.of();
                } else {
                    ca = sds(credential != null ? credential + SecretGenerator.CA_SUFFIX : SYSTEM_ROOTS);
                }
            }
        }
        if (!sans.isEmpty()) {
            CertificateValidationContext.Builder match = CertificateValidationContext.newBuilder();
            sans.forEach(san -> match.addMatchSubjectAltNames(StringMatcher.newBuilder().setExact(san)));
            CommonTlsContext.CombinedCertificateValidationContext.Builder combined =
                    CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(match);
            if (ca != null) {
                combined.setValidationContextSdsSecretConfig(ca);
            }
            common.setCombinedValidationContext(combined);
        } else if (ca != null) {
            common.setValidationContextSdsSecretConfig(ca);
        }
        UpstreamTlsContext.Builder ctx = UpstreamTlsContext.newBuilder().setCommonTlsContext(common);
        if (tls.sni() != null || sni != null) {
            ctx.setSni(tls.sni() != null ? tls.sni() : sni);
        }
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(ctx.build()))
                .build();
    }

    static SdsSecretConfig sds(String name) {
        return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(Protos.ads()).build();
    }
}
