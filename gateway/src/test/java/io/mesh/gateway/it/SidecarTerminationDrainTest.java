package io.mesh.gateway.it;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.mesh.gateway.agent.TerminationDrain;
import io.mesh.testing.FreePorts;
import io.mesh.testing.netns.PodNamespace;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.parsetools.RecordParser;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A sidecar terminated as istio-agent terminates it ({@code TERMINATION_DRAIN_DURATION_SECONDS}): only its inbound side
 * drains ({@code drain_listeners?inboundonly}), while the app, still finishing its work, calls out through the outbound
 * capture (new HTTP and TCP connections) until the process exits at the end of the duration, and xDS keeps applying
 * pilot's changes to those calls. Two network namespaces stand for the pod: the app's (its connections are redirected
 * to the outbound capture port, as istio-iptables sends them to 15001) and its callers' (redirected to the inbound
 * capture port, 15006's). The sidecar runs in this JVM, on a real ADS server; curl and bash in the namespaces are the
 * clients. Needs root.
 */
class SidecarTerminationDrainTest {

    static final int SVC = FreePorts.next();
    static final int TCP = FreePorts.next();
    static final int APP = FreePorts.next();
    static final int ECHO = FreePorts.next();
    static final int DURATION_S = 5;
    static final String HTTP_CLUSTER = "outbound|" + SVC + "||svc.demo.svc.cluster.local";
    static final String TCP_CLUSTER = "outbound|" + TCP + "||echo";
    static final String INBOUND_CLUSTER = "inbound|" + APP + "||";

    static PodNamespace app;
    static PodNamespace callers;
    static Vertx vertx;
    static Backend v1;
    static Backend v2;
    static Backend workload;
    static ControlPlane pilot;
    static int outbound;
    static int inbound;
    TestGateway gw;

    @BeforeAll
    static void start() throws Exception {
        PodNamespace.requireRoot();
        outbound = FreePorts.next();
        inbound = FreePorts.next();
        app = alone(outbound);
        callers = alone(inbound);
        vertx = Vertx.vertx();
        v1 = new Backend(vertx, "v1");
        v2 = new Backend(vertx, "v2");
        workload = new Backend(vertx, "workload", APP);
        echoServer();
        pilot = new ControlPlane();
    }

    /** A sidecar of its own for each test (each terminates it), on pilot's config with the service at v1. */
    @BeforeEach
    void sidecar() throws Exception {
        publish(v1.port);
        gw = SidecarHeadlessServiceTest.sidecar(pilot, outbound,
                Map.of("mesh.gateway.listeners.port-map.\"15006\"", Integer.toString(inbound)));
    }

    @AfterEach
    void stopSidecar() throws Exception {
        SidecarHeadlessServiceTest.stopAll(gw);
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            SidecarHeadlessServiceTest.stopAll(pilot, SidecarHeadlessServiceTest.closing(vertx));
        } finally {
            SidecarHeadlessServiceTest.stopAll(app, callers);   // never throws: the namespaces always go
        }
    }

    /**
     * A pod namespace whose addresses no other interface has: each takes a random /29 of a range other tests (this
     * class's other namespace, other runs on the machine) take theirs from, and a shared address sends connections
     * to the wrong sidecar.
     */
    static PodNamespace alone(int capturePort) throws Exception {
        for (int i = 0; ; i++) {
            PodNamespace p = PodNamespace.create(capturePort);
            String addresses = Run.run(List.of("ip", "-4", "-o", "addr", "show"), null);
            if (addresses.split("inet " + java.util.regex.Pattern.quote(p.hostIp) + "/", -1).length == 2 || i == 20) {
                return p;
            }
            p.close();
        }
    }

    /** A TCP server on 127.0.0.1 that answers each line with "echo LINE". */
    static void echoServer() throws Exception {
        vertx.createNetServer().connectHandler(s -> s.handler(RecordParser.newDelimited("\n",
                line -> s.write(Buffer.buffer("echo " + line + "\n")))))
                .listen(ECHO, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** The config pilot sends: the service's HTTP port and a TCP service, outbound, and the workload's port, inbound. */
    static String publish(int svcEndpoint) {
        String address = app.destinations.get(0);
        List<Cluster> clusters = List.of(Xds.edsCluster(HTTP_CLUSTER), Xds.edsCluster(TCP_CLUSTER),
                Xds.edsCluster(INBOUND_CLUSTER), SidecarHeadlessServiceTest.blackHole());
        List<ClusterLoadAssignment> endpoints = List.of(Xds.endpoints(HTTP_CLUSTER, svcEndpoint),
                Xds.endpoints(TCP_CLUSTER, ECHO), Xds.endpoints(INBOUND_CLUSTER, APP));
        List<Listener> listeners = List.of(SidecarHeadlessServiceTest.virtualOutbound(),
                Xds.httpListener("0.0.0.0_" + SVC, SVC, Integer.toString(SVC)).toBuilder()
                        .setAddress(Xds.address("0.0.0.0", SVC)).setBindToPort(BoolValue.of(false)).build(),
                SidecarHeadlessServiceTest.podListener(address, TCP, "echo"), virtualInbound());
        return pilot.set(clusters, endpoints, listeners,
                List.of(Xds.routes(Integer.toString(SVC), Xds.vhost("svc", List.of("*"), Xds.prefixTo("/", HTTP_CLUSTER)))),
                List.of());
    }

    /** virtualInbound with one plaintext HTTP chain for the workload's port. */
    static Listener virtualInbound() {
        HttpConnectionManager hcm = HttpConnectionManager.newBuilder().setStatPrefix("inbound_" + APP)
                .setRouteConfig(Xds.routes(INBOUND_CLUSTER, Xds.vhost("inbound|http|" + APP, List.of("*"),
                        Xds.prefixTo("/", INBOUND_CLUSTER))))
                .addHttpFilters(HttpFilter.newBuilder().setName("envoy.filters.http.router")
                        .setTypedConfig(Any.pack(Router.getDefaultInstance())))
                .build();
        return Listener.newBuilder().setName("virtualInbound").setAddress(Xds.address("0.0.0.0", 15006))
                .setTrafficDirection(io.envoyproxy.envoy.config.core.v3.TrafficDirection.INBOUND)
                .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.original_dst")
                        .setTypedConfig(Any.pack(OriginalDst.getDefaultInstance())))
                .addFilterChains(FilterChain.newBuilder().setName(INBOUND_CLUSTER)
                        .setFilterChainMatch(FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(APP))
                                .setTransportProtocol("raw_buffer"))
                        .addFilters(Filter.newBuilder().setName("envoy.filters.network.http_connection_manager")
                                .setTypedConfig(Any.pack(hcm))))
                .build();
    }

    /** The app calls the HTTP service, a new connection (a new curl): "BODY CODE" ("000" when refused or closed). */
    static String callOut() throws Exception {
        return app.exec(List.of("curl", "-s", "-m", "5", "-w", " %{http_code}",
                "http://" + app.destinations.get(0) + ":" + SVC + "/")).strip();
    }

    /** A caller reaches the workload through the inbound side: "BODY CODE". */
    static String callIn(String path) throws Exception {
        return callers.exec(List.of("curl", "-s", "-m", "5", "-w", " %{http_code}",
                "http://" + callers.destinations.get(0) + ":" + APP + path)).strip();
    }

    @Test
    void aTerminatingSidecarDrainsItsInboundSideWhileTheAppCallsOutThroughItUntilTheDurationEnds() throws Exception {
        assertEquals("v1 200", callOut());
        assertEquals("echo hello", app.tcpLine(app.destinations.get(0), TCP, "hello"));
        assertEquals("workload 200", callIn("/"));
        // A request in flight on the inbound side when the drain starts: it finishes, its connection told to close.
        CompletableFuture<String> inFlight = CompletableFuture.supplyAsync(() -> {
            try {
                return callers.exec(List.of("curl", "-s", "-i", "-m", "20",
                        "http://" + callers.destinations.get(0) + ":" + APP + "/slow?ms=1500"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await().atMost(Duration.ofSeconds(10)).until(() -> "/slow?ms=1500".equals(workload.lastPath));

        long signalled = System.nanoTime();
        TerminationDrain policy = TerminationDrain.from(
                Map.of(TerminationDrain.DURATION_SECONDS, Integer.toString(DURATION_S)), Duration.ofSeconds(2));
        Future<Void> exit = gw.gateway.terminate(policy);
        assertTrue(gw.gateway.dataPlane().draining(), "readiness fails at once");

        // Inbound: no new connection or request is served.
        assertEquals("000", callIn("/"), "the inbound side takes no new connection while draining");
        String finished = inFlight.get(20, TimeUnit.SECONDS).toLowerCase();
        assertTrue(finished.startsWith("http/1.1 200") && finished.contains("connection: close")
                && finished.strip().endsWith("workload"), finished);

        // Outbound: the app still makes new calls, HTTP and TCP.
        assertEquals("v1 200", callOut(), "the app calls out through the outbound capture while the sidecar drains");
        assertEquals("echo again", app.tcpLine(app.destinations.get(0), TCP, "again"));

        // xDS still runs: pilot moves the service's endpoint, and the app's next call follows it; the same push
        // re-sends virtualInbound, which stays drained.
        String version = publish(v2.port);
        await().atMost(Duration.ofSeconds(3)).until(SidecarTerminationDrainTest::callOut, "v2 200"::equals);
        await().atMost(Duration.ofSeconds(3)).until(() -> pilot.requests.stream().anyMatch(r ->
                r.getTypeUrl().endsWith("listener.v3.Listener") && version.equals(r.getVersionInfo()) && !r.hasErrorDetail()));
        assertEquals("000", callIn("/"), "a new LDS does not undrain the inbound side");
        assertTrue(gw.gateway.xds().connected(), "the ADS stream is still up during the drain");
        assertFalse(exit.isComplete(), "the sidecar stays for the drain duration");

        exit.toCompletionStage().toCompletableFuture().get(DURATION_S + 10, TimeUnit.SECONDS);
        long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
        assertTrue(elapsed >= DURATION_S * 1000L, "exited after the drain duration, not before: " + elapsed + " ms");
        assertNotEquals("v2 200", callOut(), "at exit the outbound capture closes too");
        await().atMost(Duration.ofSeconds(5)).until(() -> !gw.gateway.xds().connected());
    }

    @Test
    void exitOnZeroActiveConnectionsWaitsForTheAppsOpenOutboundTcpConnection() throws Exception {
        // The app holds a TCP connection out (captured, relayed): istio-agent counts it (virtualOutbound's
        // downstream_cx_active), so the sidecar stays past the minimum drain until the app closes it.
        Process holder = new ProcessBuilder("ip", "netns", "exec", app.name, "bash", "-c", "exec 3<>/dev/tcp/"
                + app.destinations.get(0) + "/" + TCP + " && echo held >&3 && head -n 1 <&3 && exec sleep 60")
                .redirectErrorStream(true).start();
        Future<Void> exit;
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> gw.gateway.dataPlane().activeDownstreamConnections() == 1);
            TerminationDrain policy = TerminationDrain.from(Map.of(TerminationDrain.DURATION_SECONDS, "60",
                    TerminationDrain.EXIT_ON_ZERO, "true", TerminationDrain.MINIMUM_DRAIN, "1s"), Duration.ofSeconds(2));
            exit = gw.gateway.terminate(policy);
            // Past the minimum drain, checked each second: the open connection keeps the sidecar up.
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(4)).until(() -> !exit.isComplete());
            assertEquals("v1 200", callOut(), "and the app still calls out meanwhile");
        } finally {
            holder.destroyForcibly();
            holder.waitFor(10, TimeUnit.SECONDS);
        }
        // The app's connection closed: the next check (each second) lets the sidecar exit, long before the 60 s.
        exit.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
}
