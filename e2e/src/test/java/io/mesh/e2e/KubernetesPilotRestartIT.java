package io.mesh.e2e;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mesh.testing.kube.KubeApiMock;
import io.mesh.testing.kube.Kubectl;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a pilot restart in a Kubernetes cluster means to the ingress gateway's users: nothing. The Service, its
 * EndpointSlice (a real HTTP server on 127.0.0.1), a Gateway and a VirtualService are applied with the real kubectl
 * to the mock API; pilot runs in Kubernetes mode against it, reading through {@link SlowKubeApi} so that its LISTs
 * take seconds as in a large cluster, and the packaged gateway (router mode) follows pilot's xDS port. Under a steady
 * load through the gateway pilot is killed and restarted on the same port, as the kubelet restarts a crashed
 * container; the gateway reconnects with its backoff whenever it gets through, and must get the whole cluster from
 * the restarted pilot's first answer. Then a change applied with kubectl must reach it.
 *
 * <p>Before pilot waited for its informers (commit 6d42fc8), its xDS port opened while the LISTs were still out, and
 * a gateway that reconnected then got an empty mesh: this test failed in 7 of 10 runs at the commit before, with
 * 503s, 404s (NR) and refused connections for the seconds until pilot's next push.
 *
 * <p>The processes are the harness's (stopped, with their logs shown on failure, after each test); the load, the
 * backend, the slow proxy and the mock API are stopped in {@link #stop}.
 */
class KubernetesPilotRestartIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofSeconds(30);
    /**
     * The load: four loops, each a GET every 20 ms at most (about 90 requests a second in all here: the JDK HttpServer
     * backend takes some 40 ms an answer, Nagle's delay on a kept-alive connection). The test stops it once its checks
     * are done; the limit only bounds a run that hangs.
     */
    private static final int LOOPS = 4;
    private static final Duration PACE = Duration.ofMillis(20);
    private static final Duration LOAD_LIMIT = Duration.ofSeconds(90);
    /**
     * How long each of pilot's LISTs takes, as in a large cluster (tens of thousands of objects), where a restarted
     * control plane needs seconds to read it; the bare mock answers in milliseconds.
     */
    private static final Duration LIST_TIME = Duration.ofSeconds(3);

    @RegisterExtension
    final ProcessHarness harness = new ProcessHarness().named("kubernetes-pilot-restart");

    private final Path work = harness.workDir();
    private KubeApiMock api;
    private SlowKubeApi slowApi;
    private Path kubeconfig;
    private Path pilotKubeconfig;
    private IngressBackends backends;
    private SteadyLoad load;

    @BeforeEach
    void applyTheRouteToTheCluster() throws Exception {
        api = KubeApiMock.start(0, false, false);
        kubeconfig = api.writeKubeconfig(work.resolve("kubeconfig"), "default");
        // pilot reads the cluster through a proxy whose LISTs take LIST_TIME; kubectl talks to the mock directly.
        slowApi = SlowKubeApi.start(api.url(), LIST_TIME);
        pilotKubeconfig = Files.writeString(work.resolve("pilot-kubeconfig"),
                api.kubeconfig("default").replace(api.url(), slowApi.url()));
        kubectl(null, "apply", "-f", harness.projectRoot().resolve("deploy/kubernetes/crds").toString());
        backends = new IngressBackends(null);
        kubectl(cluster(backends.http()) + "---\n" + virtualService(""), "apply", "-f", "-");
    }

    @AfterEach
    void stop() throws Exception {
        if (load != null) {
            load.close();
        }
        if (backends != null) {
            backends.close();
        }
        if (slowApi != null) {
            slowApi.close();
        }
        if (api != null) {
            api.close();
        }
    }

    @Test
    void theIngressGatewayAnswersEveryRequestWhilePilotRestartsAndFollowsTheClusterAfterwards() throws Exception {
        Map<String, String> pilotEnv = Map.of(
                "MESH_MODE", "kubernetes",
                "KUBECONFIG", pilotKubeconfig.toString(),
                "KUBERNETES_HTTP2_DISABLE", "true",
                "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false");
        RunningComponent pilot = harness.start(Component.PILOT, pilotEnv);
        String xdsPort = pilot.env().get("MESH_PILOT_XDS_PORT");
        // The ingress gateway as deployed (router, labels istio=ingressgateway by default); it needs no API access.
        RunningComponent gateway = harness.start(Component.GATEWAY, Map.of(
                "MESH_MODE", "kubernetes",
                "MESH_GATEWAY_XDS_ADDRESS", "127.0.0.1:" + xdsPort,
                "MESH_GATEWAY_LISTENERS_HOST", "127.0.0.1"));
        harness.awaitHttpOk(gateway.process(), URI.create("http://127.0.0.1:"
                + gateway.env().get("MESH_GATEWAY_STATUS_PORT") + "/healthz/ready"), ProcessHarness.READY_DEADLINE);
        // The Gateway's port 80 is bound at the gateway's HTTP port, as 80 is at 8080 in the pod.
        URI web = URI.create("http://127.0.0.1:" + gateway.env().get("MESH_GATEWAY_LISTENERS_HTTP_PORT") + "/load");
        assertEquals("web GET /load", harness.get(web).body());
        awaitRouter(pilot, Set.of("SYNCED"), Set.of("lds", "rds", "cds", "eds"), "the gateway in sync with pilot");

        load = new SteadyLoad(web.getPort(), LOOPS, PACE, LOAD_LIMIT);
        awaitAnswered(100, "the load runs before pilot goes");

        // pilot crashes (SIGKILL): it closes nothing itself. The gateway keeps serving its last config, on its own.
        pilot.process().kill();
        Files.move(pilot.process().log(), pilot.process().log().resolveSibling("pilot-killed.log"),
                StandardCopyOption.REPLACE_EXISTING);
        awaitAnswered(50, "the gateway serves its last config while pilot is away");

        // The kubelet restarts a crashed container at once (its crash-loop backoff starts at the second crash): a new
        // pilot on the same xDS port, which takes seconds to start and to list the cluster while the gateway tries to
        // reconnect with its backoff (0.5 s doubling, with jitter). Whenever it gets through, it must get the cluster.
        Map<String, String> sameXdsPort = new HashMap<>(pilotEnv);
        sameXdsPort.put("MESH_PILOT_XDS_PORT", xdsPort);
        RunningComponent restarted = harness.start(Component.PILOT, sameXdsPort);
        // The gateway resubscribes with the versions it has; the restarted pilot answers every stream's first request
        // (as istiod does), so the gateway is SYNCED on each type, not NOT SENT.
        awaitRouter(restarted, Set.of("SYNCED"), Set.of(), "the gateway connected to the restarted pilot");
        awaitAnswered(200, "the gateway serves after it resynced with the restarted pilot");

        // A change made after the restart reaches the gateway: it follows the new pilot, not only its old config.
        kubectl(virtualService("""
                    headers:
                      response:
                        set: {x-route-version: after-restart}
                """), "apply", "-f", "-");
        List<String> curl = List.of("curl", "-s", "-m", "5", "-o", "/dev/null", "-D", "-", web.toString());
        awaitCondition(() -> IngressClients.run(curl).toLowerCase(java.util.Locale.ROOT)
                .contains("\nx-route-version: after-restart"), "the changed VirtualService's response header",
                () -> routers(restarted));
        awaitRouter(restarted, Set.of("SYNCED"), Set.of("rds"), "the gateway ACKed the changed route");
        awaitAnswered(100, "the load goes on with the changed route");
        load.close();
        System.out.println("KubernetesPilotRestartIT: the load through the gateway: " + load.report());

        assertEquals(0, load.failed(), "every request through the gateway answered 200 while pilot restarted: "
                + load.report());
        assertTrue(load.ok() >= 600, "the load ran all along: " + load.report());
        assertTrue(gateway.process().isAlive(), "the same gateway process served throughout");
    }

    // ----- the cluster

    /** Namespaces, the Service shop/web and its EndpointSlice at {@code webPort}, and the Gateway istio-system/edge. */
    private static String cluster(int webPort) {
        return """
                apiVersion: v1
                kind: Namespace
                metadata: {name: istio-system}
                ---
                apiVersion: v1
                kind: Namespace
                metadata: {name: shop}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: shop}
                spec:
                  selector: {app: web}
                  ports: [{name: http, port: 80, targetPort: 8080, protocol: TCP}]
                ---
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata:
                  name: web-1
                  namespace: shop
                  labels: {kubernetes.io/service-name: web}
                addressType: IPv4
                ports: [{name: http, port: %d, protocol: TCP}]
                endpoints:
                - addresses: [127.0.0.1]
                  conditions: {ready: true}
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 80, name: http, protocol: HTTP}
                    hosts: ["*"]
                """.formatted(webPort);
    }

    /** The VirtualService shop/web on the edge Gateway: every host to web, with {@code more} in its one route. */
    private static String virtualService(String more) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: shop}
                spec:
                  hosts: ["*"]
                  gateways: [istio-system/edge]
                  http:
                  - route:
                    - destination:
                        host: web.shop.svc.cluster.local
                        port: {number: 80}
                """ + more;
    }

    private void kubectl(String stdin, String... args) {
        new Kubectl(kubeconfig, work).run(stdin, args);
    }

    // ----- waiting

    /** Waits until the load has had {@code requests} more requests answered (or failed): time passing under load. */
    private void awaitAnswered(long requests, String what) throws Exception {
        long target = load.ok() + load.failed() + requests;
        awaitCondition(() -> load.ok() + load.failed() >= target, what + " (" + requests + " more requests)",
                () -> "");
    }

    /**
     * Waits until {@code pilot}'s /debug/syncz shows the gateway connected, each of LDS, RDS, CDS and EDS in one of
     * {@code statuses} (never STALE: sent and not ACKed), nothing ever NACKed, and {@code types} SYNCED: pilot sent
     * them and the gateway ACKed that version.
     */
    private void awaitRouter(RunningComponent pilot, Set<String> statuses, Set<String> synced, String what)
            throws Exception {
        awaitCondition(() -> {
            List<JsonNode> routers = routers(pilot);
            if (routers.size() != 1) {
                return false;
            }
            JsonNode xds = routers.get(0).path("xds");
            for (JsonNode type : xds) {
                assertTrue(type.path("lastNack").isMissingNode(), "the gateway NACKed: " + xds);
            }
            for (String type : List.of("lds", "rds", "cds", "eds")) {
                String status = xds.path(type).path("status").asText();
                if (!statuses.contains(status) || synced.contains(type) && !"SYNCED".equals(status)) {
                    return false;
                }
            }
            return true;
        }, what + " (pilot pid " + pilot.process().pid() + ")", () -> routers(pilot));
    }

    /** The routers (gateways) connected to {@code pilot}, from its /debug/syncz. */
    private List<JsonNode> routers(RunningComponent pilot) throws Exception {
        HttpResponse<String> syncz = harness.get(pilot.monitoring("/debug/syncz"));
        assertEquals(200, syncz.statusCode(), syncz.body());
        List<JsonNode> routers = new java.util.ArrayList<>();
        for (JsonNode proxy : JSON.readTree(syncz.body())) {
            if ("ROUTER".equals(proxy.path("type").asText())) {
                routers.add(proxy);
            }
        }
        return routers;
    }

    /** Polls {@code condition}; at the deadline fails with {@code what}, {@code detail} and what the load saw. */
    private void awaitCondition(Callable<Boolean> condition, String what, Callable<Object> detail) throws Exception {
        AtomicReference<Throwable> lastError = new AtomicReference<>();
        try {
            await(what).atMost(DEADLINE).pollInterval(Duration.ofMillis(100)).until(() -> {
                try {
                    return condition.call();
                } catch (java.io.IOException e) {
                    lastError.set(e);
                    return false;
                }
            });
        } catch (ConditionTimeoutException e) {
            fail("not within " + DEADLINE + ": " + what + "; " + detail.call()
                    + (lastError.get() == null ? "" : "; last error " + lastError.get())
                    + (load == null ? "" : "; the load: " + load.report()));
        }
    }
}
