package io.mesh.cli;

import io.mesh.testing.kube.Kubectl;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.kube.KubeApiMock;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code meshctl install | kubectl apply -f -} with the real kubectl, then {@code meshctl check}, proxy-status,
 * proxy-config and apps against the Fabric8 mock API server in CRUD mode. The components' own HTTP endpoints are
 * reached through the API server's service proxy ({@code /api/v1/namespaces/istio-system/services/<svc>:<port>/proxy/...});
 * the CRUD mock cannot proxy to a Service, so exactly those paths are answered by the mock's expectations, with
 * bodies captured from the real components of the local demo (src/test/resources/captured).
 */
@QuarkusMainTest
class MeshctlAgainstKubernetesTest {

    private final Path work = Path.of("target", "meshctl-kube").toAbsolutePath();
    private KubeApiMock api;
    private Path kubeconfig;

    @BeforeEach
    void startApi() throws Exception {
        api = KubeApiMock.start(0, false, false);
        kubeconfig = api.writeKubeconfig(work.resolve("kubeconfig"), "default");
    }

    @AfterEach
    void stopApi() {
        api.close();
    }

    @Test
    void installOutputAppliesWithKubectlAndCheckThenSeesTheCrds(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult preCheck = launcher.launch("check", "--pre", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        assertEquals(0, preCheck.exitCode(), preCheck.getOutput() + preCheck.getErrorOutput());
        assertTrue(preCheck.getOutput().contains("✓ the cluster is reachable"), preCheck.getOutput());

        LaunchResult install = launcher.launch("install");
        assertEquals(0, install.exitCode(), install.getErrorOutput());
        Path manifests = Files.writeString(work.resolve("install.yaml"), install.getOutput() + "\n");
        kubectl("apply", "-f", manifests.toString());

        LaunchResult check = launcher.launch("check", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        String output = check.getOutput();
        assertTrue(output.contains("✓ the Istio CRDs are installed"), output);
        // The mock API runs no controllers: the Deployments exist but never become ready, so check fails.
        assertTrue(output.contains("✗ istio-pilot is ready"), output);
        assertTrue(output.contains("hint: kubectl -n istio-system describe deployment istio-pilot"), output);
        assertEquals(1, check.exitCode(), output);
    }

    /** meshctl analyze without files reads the cluster's Istio resources and Services, as istioctl analyze does. */
    @Test
    void analyzeWithoutFilesChecksTheClustersConfig(QuarkusMainLauncher launcher) throws Exception {
        for (String group : List.of("networking", "security", "telemetry")) {
            kubectl("apply", "-f", Path.of("../deploy/kubernetes/crds/" + group + ".istio.io.yaml").toAbsolutePath().toString());
        }
        Path config = Files.writeString(work.resolve("shop.yaml"), """
                apiVersion: v1
                kind: Namespace
                metadata: {name: shop}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: reviews, namespace: shop}
                spec:
                  selector: {app: reviews}
                  ports:
                  - {name: http, port: 9080}
                  - {name: grpc, port: 9090}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: shop}
                spec:
                  hosts: [reviews]
                  gateways: [edge]
                  http:
                  - route:
                    - destination: {host: reviews}
                """);
        kubectl("apply", "-f", config.toString());
        // Pods: one created before shop was labelled for injection (no sidecar), one injected, one opted out, and one
        // in an unlabelled namespace.
        Path pods = Files.writeString(work.resolve("pods.yaml"), """
                apiVersion: v1
                kind: Namespace
                metadata: {name: blog}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: reviews-old, namespace: shop}
                spec: {containers: [{name: reviews, image: reviews:1}]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: reviews-new, namespace: shop}
                spec: {containers: [{name: reviews, image: reviews:1}, {name: istio-proxy, image: proxy:1}]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: batch, namespace: shop, labels: {sidecar.istio.io/inject: "false"}}
                spec: {containers: [{name: batch, image: batch:1}]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: blog, namespace: blog}
                spec: {containers: [{name: blog, image: blog:1}]}
                """);
        kubectl("apply", "-f", pods.toString());
        kubectl("label", "namespace", "shop", "istio-injection=enabled");

        LaunchResult all = launcher.launch("analyze", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        String output = all.getOutput();
        assertEquals(1, all.exitCode(), output + all.getErrorOutput());
        // istioctl's words on a cluster: the gateway is looked for there, not in files.
        assertTrue(output.contains("error: VirtualService shop/reviews: spec.gateways[0]: referenced gateway not found:"
                + " \"edge\" (no Gateway shop/edge on the cluster) (IST0101)"), output);
        assertTrue(output.contains("error: VirtualService shop/reviews: spec.http[0].route[0].destination.host: this"
                + " VirtualService routes to a service \"reviews\" that exposes multiple ports [9080, 9090]"), output);
        assertTrue(output.contains("warning: Pod shop/reviews-old: the pod is missing the Istio proxy. This can often be"
                + " resolved by restarting or redeploying the workload (IST0103)"), output);
        // And an info: blog is not labelled for injection (IST0102).
        assertTrue(output.contains("resources analyzed: 2 errors, 1 warnings, 1 infos."), output);

        LaunchResult elsewhere = launcher.launch("analyze", "-n", "blog", "--mode", "kubernetes", "--kubeconfig",
                kubeconfig.toString());
        assertEquals(0, elsewhere.exitCode(), elsewhere.getOutput());
        assertTrue(elsewhere.getOutput().contains("(findings in namespace blog): 0 errors, 0 warnings, 1 infos."),
                elsewhere.getOutput());
    }

    @Test
    void checkAsksEachComponentForItsReadinessThroughTheServiceProxy(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult install = launcher.launch("install");
        assertEquals(0, install.exitCode(), install.getErrorOutput());
        kubectl("apply", "-f", Files.writeString(work.resolve("install.yaml"), install.getOutput() + "\n").toString());
        for (String service : List.of("istio-pilot:15014", "istio-citadel:15014", "istio-sidecar-injector:15014")) {
            answer(service, "/q/health/ready", 200, "{\"status\":\"UP\",\"checks\":[]}");
        }
        answer("istio-telemetry:15014", "/q/health/ready", 503, "{\"status\":\"DOWN\",\"checks\":[]}");
        answer("istio-ingressgateway:15021", "/healthz/ready", 200, "ready");
        answer("istio-pilot:15014", "/debug/configz", 200, captured("pilot-configz.json"));
        answer("istio-pilot:15014", "/debug/syncz", 200, captured("pilot-syncz.json"));

        LaunchResult check = launcher.launch("check", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        String output = check.getOutput();
        assertTrue(output.contains("✓ the Istio CRDs are installed"), output);
        assertTrue(output.contains("✓ istio-pilot is ready                  0/2 replicas ready; /q/health/ready answered 200 through the "
                + "service proxy (istio-pilot:15014)"), output);
        assertTrue(output.contains("✓ istio-ingressgateway is ready         0/2 replicas ready; /healthz/ready answered 200 through the "
                + "service proxy (istio-ingressgateway:15021)"), output);
        assertTrue(output.contains("✗ istio-telemetry is ready              0/1 replicas ready; /q/health/ready answered 503 through the "
                + "service proxy (istio-telemetry:15014)"), output);
        assertTrue(output.contains("hint: kubectl -n istio-system describe deployment istio-telemetry"), output);
        assertTrue(output.contains("✓ pilot has no rejected config          5 resources accepted"), output);
        assertTrue(output.contains("✓ every connected proxy is in sync      1 proxy in sync"), output);
        assertEquals(1, check.exitCode(), output);
    }

    @Test
    void proxyStatusProxyConfigAndAppsReachPilotAndTelemetryThroughTheServiceProxy(QuarkusMainLauncher launcher) throws Exception {
        String gateway = "router~127.0.0.1~vm.istio-system~istio-system.svc.cluster.local";
        answer("istio-pilot:15014", "/debug/syncz", 200, captured("pilot-syncz.json"));
        answer("istio-pilot:15014", "/debug/config_dump?proxyID=" + URLEncoder.encode(gateway, StandardCharsets.UTF_8), 200,
                captured("pilot-config_dump-gateway.json"));
        answer("istio-telemetry:15014", "/api/graph", 200, captured("telemetry-graph.json"));
        answer("istio-telemetry:15014", "/q/metrics", 200, captured("telemetry-metrics.txt"));
        String[] cluster = {"--mode", "kubernetes", "--kubeconfig", kubeconfig.toString()};

        LaunchResult status = launcher.launch(concat(new String[] {"proxy-status"}, cluster));
        assertEquals(0, status.exitCode(), status.getOutput() + status.getErrorOutput());
        assertTrue(status.getOutput().contains(gateway + "  ROUTER   SYNCED    SYNCED    SYNCED    SYNCED    -         sotw"),
                status.getOutput());

        LaunchResult routes = launcher.launch(concat(new String[] {"proxy-config", "vm", "routes"}, cluster));
        assertEquals(0, routes.exitCode(), routes.getOutput() + routes.getErrorOutput());
        assertEquals("""
                NAME     VHOST NAME           DOMAINS  MATCH  VIRTUAL SERVICE   DESTINATION
                http.80  demo/web-ingress:80  *        /*     web-ingress.demo  backend.demo.svc.cluster.local:80 50%, web.demo.svc.cluster.local:80 50%
                """, routes.getOutput().strip() + "\n");

        // On a cluster the gateway's admin port is not reachable: endpoints come without the live outlier check.
        LaunchResult endpoints = launcher.launch(concat(new String[] {"proxy-config", "endpoints", "router~", "-o", "json"}, cluster));
        assertEquals(0, endpoints.exitCode(), endpoints.getOutput() + endpoints.getErrorOutput());
        assertTrue(endpoints.getOutput().contains("\"endpoint\" : \"127.0.0.1:9081\""), endpoints.getOutput());
        assertTrue(endpoints.getOutput().contains("\"outlierCheck\" : \"-\""), endpoints.getOutput());

        // What a pod's proxy accepted needs its admin port (127.0.0.1 in the pod), which no Service exposes.
        LaunchResult accepted = launcher.launch(concat(new String[] {"proxy-config", "vm", "routes", "--source", "proxy"}, cluster));
        assertEquals(1, accepted.exitCode(), accepted.getOutput());
        assertTrue(accepted.getErrorOutput().contains("--source proxy needs the proxy's admin port"), accepted.getErrorOutput());

        LaunchResult unknown = launcher.launch(concat(new String[] {"proxy-config", "ratings", "routes"}, cluster));
        assertEquals(1, unknown.exitCode());
        assertTrue(unknown.getErrorOutput().contains("no connected proxy is \"ratings\"; connected:\n  " + gateway), unknown.getErrorOutput());

        LaunchResult apps = launcher.launch(concat(new String[] {"apps", "-w", "--interval", "100ms", "--iterations", "2"}, cluster));
        assertEquals(0, apps.exitCode(), apps.getOutput() + apps.getErrorOutput());
        String table = """
                NAME                                  RPS   SUCCESS     P50_MS     P99_MS     MTLS
                backend.demo.svc.cluster.local       0.52   100.00%        4.6       94.8       0%
                web.demo.svc.cluster.local           0.48   100.00%        3.9       47.6       0%
                """;
        // Not a terminal: each refresh follows the last after a blank line.
        assertEquals(table + "\n" + table, apps.getOutput().replace("\r", "") + "\n");
    }

    /**
     * Without an expectation the CRUD mock answers a service proxy path itself, with 200 and a List of objects: the
     * kind of wrong answer a proxy in between can give. meshctl reports it instead of showing garbage.
     */
    @Test
    void anAnswerThatIsNotPilotsIsAProblemNotAUsageError(QuarkusMainLauncher launcher) throws Exception {
        LaunchResult status = launcher.launch("proxy-status", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        assertEquals(1, status.exitCode(), status.getOutput());
        assertTrue(status.getErrorOutput().contains("pilot answered /debug/syncz with JSON that is not a list of proxies (service "
                + "istio-system/istio-pilot:15014 through " + api.url() + "/)"), status.getErrorOutput());
        answer("istio-pilot:15014", "/debug/syncz", 503, "pilot is starting");
        status = launcher.launch("proxy-status", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        assertEquals(1, status.exitCode(), status.getOutput());
        assertTrue(status.getErrorOutput().contains("pilot answered 503 on /debug/syncz (service istio-system/istio-pilot:15014 through "
                + api.url() + "/): pilot is starting"), status.getErrorOutput());
        LaunchResult config = launcher.launch("proxy-config", "gw", "nonsense", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString());
        assertEquals(2, config.exitCode());
    }

    @Test
    void anUnreachableClusterIsReportedWithAHint(QuarkusMainLauncher launcher) throws Exception {
        Path unreachable = Files.writeString(work.resolve("unreachable"), api.kubeconfig("default")
                .replace(api.url(), "http://127.0.0.1:" + io.mesh.testing.FreePorts.next()));
        LaunchResult check = launcher.launch("check", "--mode", "kubernetes", "--kubeconfig", unreachable.toString(), "-o", "json");
        assertEquals(1, check.exitCode());
        assertTrue(check.getOutput().contains("\"check\" : \"the cluster is reachable\""), check.getOutput());
        assertTrue(check.getOutput().contains("\"ok\" : false"), check.getOutput());
    }

    @Test
    void usageErrorsExitWithTwo(QuarkusMainLauncher launcher) {
        assertEquals(2, launcher.launch("install", "--set", "nope=1").exitCode());
        assertEquals(2, launcher.launch("check", "--output", "xml").exitCode());
        assertEquals(2, launcher.launch("no-such-command").exitCode());
    }

    /** What the service proxy answers for one component path: the mock cannot proxy, so an expectation does. */
    private void answer(String service, String path, int status, String body) {
        api.expect().get().withPath("/api/v1/namespaces/istio-system/services/" + service + "/proxy" + path)
                .andReturn(status, body).always();
    }

    private static String captured(String file) throws Exception {
        return Files.readString(Path.of("src/test/resources/captured", file));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private void kubectl(String... args) {
        new Kubectl(kubeconfig, work).run(args);
    }
}
