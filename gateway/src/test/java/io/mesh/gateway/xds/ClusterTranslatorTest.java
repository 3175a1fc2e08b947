package io.mesh.gateway.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mesh.gateway.upstream.Endpoint;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * match_subject_alt_names of an ISTIO_MUTUAL cluster as pilot sends it: exact SPIFFE IDs; anything else is NACKed. An
 * ORIGINAL_DST cluster's upstream_port_override (a NONE ServiceEntry's targetPort); other original-destination choices
 * are NACKed. The panic threshold and EDS health statuses as Envoy reads them.
 */
class ClusterTranslatorTest {

    static Cluster istioMutual(StringMatcher san) {
        CommonTlsContext common = CommonTlsContext.newBuilder()
                .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default"))
                .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(CertificateValidationContext.newBuilder().addMatchSubjectAltNames(san))
                        .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName("ROOTCA")))
                .build();
        return Cluster.newBuilder().setName("outbound|80||web.demo.svc.cluster.local").setType(Cluster.DiscoveryType.EDS)
                .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                        .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setCommonTlsContext(common).build())))
                .build();
    }

    @Test
    void exactSpiffeIdsAndTheWorkloadSecretsAreKept() throws Exception {
        var tls = ClusterTranslator.translate(istioMutual(StringMatcher.newBuilder()
                .setExact("spiffe://cluster.local/ns/demo/sa/web").build())).tls();
        assertEquals(List.of("spiffe://cluster.local/ns/demo/sa/web"), tls.subjectAltNames());
        assertEquals("default", tls.certSecret());
        assertEquals("ROOTCA", tls.caSecret());
    }

    @Test
    void aNonExactSanMatcherIsRejectedWithItsKind() {
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(istioMutual(
                StringMatcher.newBuilder().setPrefix("spiffe://cluster.local/").build())));
        assertEquals("cluster outbound|80||web.demo.svc.cluster.local: match_subject_alt_names supports non-empty exact "
                + "matchers only, got PREFIX", e.getMessage());
    }

    static Cluster originalDst(Cluster.OriginalDstLbConfig.Builder config) {
        return Cluster.newBuilder().setName("outbound|5432||pg.external.example")
                .setType(Cluster.DiscoveryType.ORIGINAL_DST).setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
                .setOriginalDstLbConfig(config).build();
    }

    @Test
    void anOriginalDstClustersUpstreamPortOverrideIsWhereItsConnectionsGo() throws Exception {
        var spec = ClusterTranslator.translate(originalDst(Cluster.OriginalDstLbConfig.newBuilder()
                .setUpstreamPortOverride(UInt32Value.of(6432))));
        assertEquals(6432, spec.upstreamPortOverride());
        assertEquals(6432, spec.originalDstPort(5432));
        // Without one: the port the app used.
        assertEquals(5432, ClusterTranslator.translate(originalDst(Cluster.OriginalDstLbConfig.newBuilder()))
                .originalDstPort(5432));
    }

    static String rejection(Cluster.OriginalDstLbConfig.Builder config) {
        return assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(originalDst(config))).getMessage();
    }

    @Test
    void originalDstByHeaderOrMetadataAndAnOverrideThatIsNoPortAreRejected() {
        assertEquals("cluster outbound|5432||pg.external.example: original_dst_lb_config supports "
                + "upstream_port_override only, not use_http_header",
                rejection(Cluster.OriginalDstLbConfig.newBuilder().setUseHttpHeader(true)));
        assertEquals("cluster outbound|5432||pg.external.example: original_dst_lb_config.upstream_port_override must be "
                + "between 1 and 65535, got 70000",
                rejection(Cluster.OriginalDstLbConfig.newBuilder().setUpstreamPortOverride(UInt32Value.of(70000))));
    }

    @Test
    void theClustersServiceIsTheFirstOfItsIstioTelemetryMetadata() throws Exception {
        com.google.protobuf.Value db = com.google.protobuf.Value.newBuilder().setStructValue(com.google.protobuf.Struct
                .newBuilder().putFields("host", com.google.protobuf.Value.newBuilder()
                        .setStringValue("db.default.svc.cluster.local").build())).build();
        com.google.protobuf.Value other = com.google.protobuf.Value.newBuilder().setStructValue(com.google.protobuf.Struct
                .newBuilder().putFields("host", com.google.protobuf.Value.newBuilder()
                        .setStringValue("db-alias.default.svc.cluster.local").build())).build();
        Cluster withMetadata = originalDst(Cluster.OriginalDstLbConfig.newBuilder()).toBuilder().setMetadata(
                io.envoyproxy.envoy.config.core.v3.Metadata.newBuilder().putFilterMetadata("istio",
                        com.google.protobuf.Struct.newBuilder().putFields("services", com.google.protobuf.Value.newBuilder()
                                .setListValue(com.google.protobuf.ListValue.newBuilder().addValues(db).addValues(other))
                                .build()).build())).build();
        assertEquals("db.default.svc.cluster.local", ClusterTranslator.translate(withMetadata).service());
        // Without it (or with another shape, or an empty list) the cluster names no service.
        assertEquals(null, ClusterTranslator.translate(originalDst(Cluster.OriginalDstLbConfig.newBuilder())).service());
        Cluster empty = withMetadata.toBuilder().setMetadata(io.envoyproxy.envoy.config.core.v3.Metadata.newBuilder()
                .putFilterMetadata("istio", com.google.protobuf.Struct.newBuilder().putFields("services",
                        com.google.protobuf.Value.newBuilder().setStringValue("db").build()).build())).build();
        assertEquals(null, ClusterTranslator.translate(empty).service());
    }

    @Test
    void thePanicThresholdIsEnvoysRoundedPercentDefault50AndOnlyAPercentage() throws Exception {
        Cluster eds = Cluster.newBuilder().setName("web").setType(Cluster.DiscoveryType.EDS).build();
        assertEquals(50, ClusterTranslator.translate(eds).panicThreshold());
        assertEquals(0, ClusterTranslator.translate(withPanic(eds, 0)).panicThreshold());
        assertEquals(33, ClusterTranslator.translate(withPanic(eds, 33.4)).panicThreshold());
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(withPanic(eds, 150)));
        assertEquals("cluster web: common_lb_config.healthy_panic_threshold must be between 0 and 100, got 150.0",
                e.getMessage());
    }

    static Cluster withPanic(Cluster c, double percent) {
        return c.toBuilder().setCommonLbConfig(Cluster.CommonLbConfig.newBuilder()
                .setHealthyPanicThreshold(io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(percent))).build();
    }

    @Test
    void edsEndpointsKeepTheirHealthStatusAsEnvoyReadsIt() throws Exception {
        var loc = io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints.newBuilder();
        HealthStatus[] statuses = {HealthStatus.UNKNOWN, HealthStatus.HEALTHY, HealthStatus.UNHEALTHY,
                HealthStatus.TIMEOUT, HealthStatus.DRAINING, HealthStatus.DEGRADED};
        for (int i = 0; i < statuses.length; i++) {
            loc.addLbEndpoints(io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint.newBuilder().setHealthStatus(statuses[i])
                    .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder().setAddress(
                            io.envoyproxy.envoy.config.core.v3.Address.newBuilder().setSocketAddress(
                                    io.envoyproxy.envoy.config.core.v3.SocketAddress.newBuilder()
                                            .setAddress("10.0.0." + i).setPortValue(80)))));
        }
        var eps = ClusterTranslator.endpoints(io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.newBuilder()
                .setClusterName("web").addEndpoints(loc).build());
        assertEquals(List.of(Endpoint.Health.HEALTHY, Endpoint.Health.HEALTHY, Endpoint.Health.UNHEALTHY,
                Endpoint.Health.UNHEALTHY, Endpoint.Health.DRAINING, Endpoint.Health.DEGRADED),
                eps.stream().map(Endpoint::health).toList());
    }

    @Test
    void autoSniAppliesToEveryTlsTransportAndAnOverrideHeaderOrAnUnreadableCaIsRejected() throws Exception {
        Cluster tls = istioMutual(StringMatcher.newBuilder().setExact("spiffe://cluster.local/ns/demo/sa/web").build());
        var options = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder()
                .setUpstreamHttpProtocolOptions(io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions.newBuilder()
                        .setAutoSni(true).setAutoSanValidation(true));
        var spec = ClusterTranslator.translate(tls.toBuilder().putTypedExtensionProtocolOptions(
                ClusterTranslator.HTTP_OPTIONS, Any.pack(options.build())).build());
        assertEquals(true, spec.tls().autoSni() && spec.tls().autoSanValidation() && spec.tls().verify());
        assertEquals("api.example.com", spec.tls().sniFor("api.example.com"));
        assertEquals(null, spec.tls().sniFor("10.0.0.1"));
        assertEquals(null, spec.tls().sniFor("[::1]"));

        options.getUpstreamHttpProtocolOptionsBuilder().setOverrideAutoSniHeader("x-sni");
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(tls.toBuilder()
                .putTypedExtensionProtocolOptions(ClusterTranslator.HTTP_OPTIONS, Any.pack(options.build())).build()));
        assertEquals("cluster outbound|80||web.demo.svc.cluster.local: upstream_http_protocol_options"
                + ".override_auto_sni_header is not supported (the SNI comes from the Host)", e.getMessage());

        Cluster unreadable = tls.toBuilder().setTransportSocket(tls.getTransportSocket().toBuilder().setTypedConfig(
                Any.pack(UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
                        .setValidationContext(CertificateValidationContext.newBuilder().setTrustedCa(
                                io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                                        .setFilename("/nonexistent/ca.pem")))).build()))).build();
        e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(unreadable));
        assertEquals(true, e.getMessage().endsWith("validation_context.trusted_ca cannot be read"), e.getMessage());
    }

    @Test
    void theBalancersSlowStartIsReadAndAnAggressionOrMinimumOutOfRangeIsRejected() throws Exception {
        Cluster.SlowStartConfig.Builder slow = Cluster.SlowStartConfig.newBuilder()
                .setSlowStartWindow(com.google.protobuf.Duration.newBuilder().setSeconds(30))
                .setAggression(io.envoyproxy.envoy.config.core.v3.RuntimeDouble.newBuilder().setDefaultValue(2.0)
                        .setRuntimeKey("("))
                .setMinWeightPercent(io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(20));
        Cluster base = Cluster.newBuilder().setName("outbound|80||web.demo.svc.cluster.local")
                .setType(Cluster.DiscoveryType.EDS).build();
        Cluster leastRequest = base.toBuilder().setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST)
                .setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder().setSlowStartConfig(slow)).build();
        assertEquals(new io.mesh.gateway.upstream.SlowStart(30_000_000_000L, 2.0, 20.0),
                ClusterTranslator.translate(leastRequest).slowStart());
        Cluster legacy = base.toBuilder().setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN).setRoundRobinLbConfig(
                Cluster.RoundRobinLbConfig.newBuilder().setSlowStartConfig(Cluster.SlowStartConfig.newBuilder()
                        .setSlowStartWindow(com.google.protobuf.Duration.newBuilder().setSeconds(30)))).build();
        assertEquals(new io.mesh.gateway.upstream.SlowStart(30_000_000_000L, 1.0, 10.0),
                ClusterTranslator.translate(legacy).slowStart(), "Envoy's defaults");
        assertEquals(null, ClusterTranslator.translate(base).slowStart());

        slow.getAggressionBuilder().setDefaultValue(0);
        ConfigRejected e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(leastRequest.toBuilder()
                .setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder().setSlowStartConfig(slow)).build()));
        assertEquals("cluster outbound|80||web.demo.svc.cluster.local: slow_start_config.aggression must be above 0,"
                + " got 0.0", e.getMessage());
        slow.getAggressionBuilder().setDefaultValue(1);
        slow.getMinWeightPercentBuilder().setValue(101);
        e = assertThrows(ConfigRejected.class, () -> ClusterTranslator.translate(leastRequest.toBuilder()
                .setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder().setSlowStartConfig(slow)).build()));
        assertEquals(true, e.getMessage().endsWith("min_weight_percent must be between 0 and 100, got 101.0"),
                e.getMessage());
    }
}
