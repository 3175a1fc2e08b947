package io.mesh.pilot.generator;

import static io.mesh.pilot.generator.SidecarFixtures.listener;
import static io.mesh.pilot.generator.SidecarFixtures.snapshot;
import static io.mesh.pilot.generator.SidecarFixtures.unpack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.v3.Percent;
import io.mesh.config.PolicyConfig;
import io.mesh.pilot.model.MeshSettings;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ProxyInfo;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Telemetry resources -> the access log and tracing of every HCM pilot sends a router or a sidecar, resolved as istiod
 * resolves them (root namespace, then namespace, then workload), asserted on the protos.
 */
class TelemetryTest {
    static final String MESH = JwtAuthnTest.MESH;
    /** The WEB workload (10.0.0.1 in demo) with labels app=web, so a workload Telemetry can select it. */
    static final ProxyInfo WEB_POD = JwtAuthnTest.WEB_POD;
    /** Another pod of demo without labels. */
    static final ProxyInfo OTHER_POD = new ProxyInfo("sidecar~10.0.0.2~other-1.demo~demo.svc.cluster.local",
            ProxyInfo.Type.SIDECAR, "demo", "10.0.0.2", Map.of("app", "other"));
    /** A pod of another namespace. */
    static final ProxyInfo SHOP_POD = new ProxyInfo("sidecar~10.0.0.3~cart-1.shop~shop.svc.cluster.local",
            ProxyInfo.Type.SIDECAR, "shop", "10.0.0.3", Map.of("app", "cart"));

    static String telemetry(String namespace, String name, String body) {
        return "---\n" + """
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: %s, namespace: %s}
                spec:
                %s
                """.formatted(name, namespace, body.indent(2));
    }

    static HttpConnectionManager router(MeshSnapshot s) {
        return JwtAuthnTest.routerHcm(s);
    }

    static HttpConnectionManager inbound(ProxyInfo proxy, MeshSnapshot s) {
        return JwtAuthnTest.sidecarHcm(proxy, s);
    }

    static HttpConnectionManager outbound(ProxyInfo proxy, MeshSnapshot s) {
        Listener l = listener(proxy, s, "0.0.0.0_80");
        return unpack(l.getFilterChains(0).getFilters(0).getTypedConfig(), HttpConnectionManager.class);
    }

    /** The access log file of an HCM, or null when it has none. */
    static String accessLog(HttpConnectionManager hcm) {
        if (hcm.getAccessLogCount() == 0) {
            return null;
        }
        assertEquals(1, hcm.getAccessLogCount());
        AccessLog log = hcm.getAccessLog(0);
        assertEquals("envoy.access_loggers.file", log.getName());
        return unpack(log.getTypedConfig(), FileAccessLog.class).getPath();
    }

    static HttpConnectionManager.Tracing tracing(double random, boolean reportSpans) {
        return HttpConnectionManager.Tracing.newBuilder().setClientSampling(Percent.newBuilder().setValue(100))
                .setRandomSampling(Percent.newBuilder().setValue(random))
                .setOverallSampling(Percent.newBuilder().setValue(reportSpans ? 100 : 0)).build();
    }

    @Test
    void withoutTelemetryEveryHcmKeepsTheMeshDefaultsAccessLogOnStdoutAndOnePercentSampling() {
        MeshSnapshot s = snapshot(MESH);
        for (HttpConnectionManager hcm : List.of(router(s), inbound(WEB_POD, s), outbound(WEB_POD, s))) {
            assertEquals("/dev/stdout", accessLog(hcm));
            assertEquals(tracing(1.0, true), hcm.getTracing());
        }
    }

    @Test
    void theDefaultsArePilotsSettingsAccessLogFileAndTraceSampling() {
        MeshSnapshot s = snapshot(MESH, new MeshSettings("cluster.local", PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY,
                "off", 5.0));
        for (HttpConnectionManager hcm : List.of(router(s), inbound(WEB_POD, s), outbound(WEB_POD, s))) {
            assertEquals(null, accessLog(hcm));
            assertEquals(tracing(5.0, true), hcm.getTracing());
        }
    }

    @Test
    void aRootNamespaceTelemetryAppliesMeshWide() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                accessLogging: [{disabled: true}]
                tracing: [{randomSamplingPercentage: 10}]"""));
        for (HttpConnectionManager hcm : List.of(router(s), inbound(WEB_POD, s), outbound(SHOP_POD, s))) {
            assertEquals(null, accessLog(hcm));
            assertEquals(tracing(10, true), hcm.getTracing());
        }
    }

    @Test
    void theNamespaceOverridesTheRootAndTheWorkloadOverridesTheNamespace() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                accessLogging: [{disabled: true}]
                tracing: [{randomSamplingPercentage: 10}]""") + telemetry("demo", "demo-ns", """
                accessLogging: [{disabled: false}]
                tracing: [{randomSamplingPercentage: 20}]""") + telemetry("demo", "web-only", """
                selector: {matchLabels: {app: web}}
                tracing: [{randomSamplingPercentage: 50}]"""));
        // The workload: its own sampling, the namespace's access log (it says nothing of access logging).
        assertEquals("/dev/stdout", accessLog(inbound(WEB_POD, s)));
        assertEquals(tracing(50, true), inbound(WEB_POD, s).getTracing());
        assertEquals(tracing(50, true), outbound(WEB_POD, s).getTracing());
        // Another pod of the namespace: the namespace's.
        assertEquals("/dev/stdout", accessLog(outbound(OTHER_POD, s)));
        assertEquals(tracing(20, true), outbound(OTHER_POD, s).getTracing());
        // Another namespace and the gateway (in the root namespace): the root's.
        assertEquals(null, accessLog(outbound(SHOP_POD, s)));
        assertEquals(tracing(10, true), outbound(SHOP_POD, s).getTracing());
        assertEquals(null, accessLog(router(s)));
        assertEquals(tracing(10, true), router(s).getTracing());
    }

    @Test
    void aWorkloadTelemetrySelectsTheGatewayByItsLabels() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "gateway", """
                selector: {matchLabels: {istio: ingressgateway}}
                accessLogging: [{disabled: true}]
                tracing: [{randomSamplingPercentage: 100}]"""));
        assertEquals(null, accessLog(router(s)));
        assertEquals(tracing(100, true), router(s).getTracing());
        assertEquals("/dev/stdout", accessLog(outbound(WEB_POD, s)), "the selector picks the gateway only");
        assertEquals(tracing(1.0, true), outbound(WEB_POD, s).getTracing());
    }

    @Test
    void ofSeveralAtOneLevelTheOldestWinsAsInIstiod() {
        MeshSnapshot s = snapshot(MESH + telemetry("demo", "newer", """
                tracing: [{randomSamplingPercentage: 30}]""").replace("name: newer,",
                "name: newer, creationTimestamp: '2026-02-01T00:00:00Z',") + telemetry("demo", "older", """
                tracing: [{randomSamplingPercentage: 40}]""").replace("name: older,",
                "name: older, creationTimestamp: '2026-01-01T00:00:00Z',"));
        assertEquals(tracing(40, true), outbound(OTHER_POD, s).getTracing());
    }

    @Test
    void disableSpanReportingKeepsTheSamplingAndReportsNoSpan() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                tracing: [{randomSamplingPercentage: 25}]""") + telemetry("demo", "quiet", """
                tracing: [{disableSpanReporting: true}]"""));
        assertEquals(tracing(25, false), outbound(WEB_POD, s).getTracing());
        assertEquals(tracing(25, true), outbound(SHOP_POD, s).getTracing());
    }

    @Test
    void aRuleMatchingOneSideAppliesToThatSideOnly() {
        MeshSnapshot s = snapshot(MESH + telemetry("demo", "server-side", """
                accessLogging: [{disabled: true, match: {mode: SERVER}}]
                tracing: [{randomSamplingPercentage: 70, match: {mode: CLIENT}}]"""));
        assertEquals(null, accessLog(inbound(WEB_POD, s)));
        assertEquals(tracing(1.0, true), inbound(WEB_POD, s).getTracing());
        assertEquals("/dev/stdout", accessLog(outbound(WEB_POD, s)));
        assertEquals(tracing(70, true), outbound(WEB_POD, s).getTracing());
    }

    @Test
    void namingTheEnvoyProviderTurnsTheAccessLogOnWhereTheMeshHasNone() {
        MeshSnapshot s = snapshot(MESH + telemetry("demo", "logs", """
                accessLogging: [{providers: [{name: envoy}]}]"""), new MeshSettings("cluster.local",
                PolicyConfig.OutboundTrafficPolicy.ALLOW_ANY, "off", 1.0));
        assertEquals("/dev/stdout", accessLog(outbound(WEB_POD, s)));
        assertEquals(null, accessLog(outbound(SHOP_POD, s)));
    }

    @Test
    void proxylessGrpcClientsGetNoAccessLogOrTracing() {
        MeshSnapshot s = snapshot(MESH + telemetry("istio-system", "mesh-default", """
                tracing: [{randomSamplingPercentage: 100}]"""));
        for (var r : XdsGenerators.generate(io.envoyproxy.controlplane.cache.Resources.V3.LISTENER_TYPE_URL,
                SidecarFixtures.grpc(), s, java.util.Set.of())) {
            Any api = ((Listener) r).getApiListener().getApiListener();
            if (api.is(HttpConnectionManager.class)) {
                HttpConnectionManager hcm = unpack(api, HttpConnectionManager.class);
                assertEquals(0, hcm.getAccessLogCount());
                assertFalse(hcm.hasTracing());
            }
        }
    }
}
