package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mesh.testing.kube.KubeApiMock;
import io.mesh.testing.kube.Kubectl;
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
 * {@code meshctl x describe pod} and {@code x describe service} against the Fabric8 mock API server in CRUD mode, with bookinfo's reviews as istioctl's
 * guide describes it: the pod, its Service, the DestinationRule and VirtualService that pilot gave the pod's proxy,
 * its RBAC policies, its PeerAuthentication, and where the ingress gateway exposes it. The Istio resources are applied with the real kubectl on the mesh's
 * CRDs. pilot's answers (its /debug/syncz and its /debug/config_dump for the pod's proxy) were captured from the real
 * pilot serving the same resources (src/test/resources/captured/pilot-config-bookinfo.yaml, local mode) to real
 * gateways connected as that pod's sidecar and as the ingress gateway's pod; the service proxy paths answer with them.
 */
@QuarkusMainTest
class DescribeCommandTest {

    static final String PROXY = "sidecar~10.1.0.5~reviews-v1-7d9f8.bookinfo~bookinfo.svc.cluster.local";
    /** What both commands say of the reviews Service, as its v1 pod's proxy has it. */
    static final String REVIEWS = """
                Service: reviews
                   Port: http 9080/HTTP targets pod port 9080
                DestinationRule: reviews for "reviews"
                   Matching subsets: v1
                      (Non-matching subsets v2,v3)
                   Traffic Policy TLS Mode: ISTIO_MUTUAL
                   Policies: outlier detection
                VirtualService: reviews
                   Route to host "reviews" subset "v1" with weight 80%
                   1 additional destination(s) that will not reach this pod
                RBAC policies: ns[bookinfo]-policy[reviews-viewer]-rule[0]
                """;
    /** Where the ingress gateway exposes it (bookinfo-gateway, VirtualService bookinfo). */
    static final String EXPOSED = """
                --------------------
                Exposed on Ingress Gateway http://172.18.0.2
                VirtualService: bookinfo
                   Match: /reviews*
                """;
    static final String INGRESS = "router~10.1.0.9~istio-ingressgateway-5d8c7.istio-system~istio-system.svc.cluster.local";
    private final Path work = Path.of("target", "meshctl-describe").toAbsolutePath();
    private KubeApiMock api;
    private KubernetesClient client;
    private String[] cluster;

    @BeforeEach
    void startApi() throws Exception {
        api = KubeApiMock.start(0, false, false);
        client = api.client("default");
        Path kubeconfig = api.writeKubeconfig(work.resolve("kubeconfig"), "default");
        cluster = new String[] {"--mode", "kubernetes", "--kubeconfig", kubeconfig.toString()};
        Kubectl kubectl = new Kubectl(kubeconfig, work);
        for (String group : List.of("networking", "security")) {
            kubectl.run(new String[] {"apply", "-f", Path.of("../deploy/kubernetes/crds/" + group + ".istio.io.yaml").toAbsolutePath().toString()});
        }
        Path config = Files.writeString(work.resolve("bookinfo.yaml"), """
                apiVersion: v1
                kind: Namespace
                metadata: {name: bookinfo}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: reviews, namespace: bookinfo}
                spec:
                  selector: {app: reviews}
                  ports: [{name: http, port: 9080}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: ratings, namespace: bookinfo}
                spec:
                  selector: {app: ratings}
                  ports: [{name: http, port: 9080}]
                ---
                """ + istioResources());
        kubectl.run(new String[] {"apply", "-f", config.toString()});
        client.pods().resource(pod("reviews-v1-7d9f8", "reviews", "v1", true)).create();
        client.pods().resource(pod("reviews-v2-4c5d1", "reviews", "v2", false)).create();
        client.pods().resource(Serialization.unmarshal("""
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "istio-ingressgateway-5d8c7", "namespace": "istio-system", "labels": {"istio": "ingressgateway"}},
                 "spec": {"containers": [{"name": "istio-proxy", "image": "mesh/gateway"}]},
                 "status": {"phase": "Running", "hostIP": "172.18.0.2", "containerStatuses": [{"name": "istio-proxy", "ready": true}]}}
                """, Pod.class)).create();
        client.services().resource(Serialization.unmarshal("""
                {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "istio-ingressgateway", "namespace": "istio-system"},
                 "spec": {"selector": {"istio": "ingressgateway"}, "ports": [{"name": "http2", "port": 80, "targetPort": 8080},
                   {"name": "https", "port": 443, "targetPort": 8443}]}}
                """, io.fabric8.kubernetes.api.model.Service.class)).create();
        answer("/debug/config_dump?proxyID=" + URLEncoder.encode(INGRESS, StandardCharsets.UTF_8),
                captured("pilot-config_dump-ingressgateway.json"));
        answer("/debug/syncz", captured("pilot-syncz-bookinfo.json"));
        answer("/debug/config_dump?proxyID=" + URLEncoder.encode(PROXY, StandardCharsets.UTF_8),
                captured("pilot-config_dump-reviews-v1.json"));
    }

    /** The captured config's Istio resources; its ServiceEntries stood in for the Services above. */
    static String istioResources() throws java.io.IOException {
        String yaml = Files.readString(Path.of("src/test/resources/captured/pilot-config-bookinfo.yaml"));
        return java.util.Arrays.stream(yaml.split("(?m)^---\\s*$")).filter(d -> !d.contains("kind: ServiceEntry"))
                .collect(java.util.stream.Collectors.joining("---\n"));
    }

    @AfterEach
    void stopApi() {
        client.close();
        api.close();
    }

    static Pod pod(String name, String app, String version, boolean injected) {
        String proxy = injected ? """
                , {"name": "istio-proxy", "image": "mesh/gateway", "ports": [{"containerPort": 15090, "name": "http-envoy-prom"}]}""" : "";
        String proxyStatus = injected ? ", {\"name\": \"istio-proxy\", \"ready\": true}" : "";
        String annotations = injected ? ", \"annotations\": {\"sidecar.istio.io/status\": \"{\\\"revision\\\":\\\"default\\\"}\"}" : "";
        return Serialization.unmarshal("""
                {"apiVersion": "v1", "kind": "Pod",
                 "metadata": {"name": "%s", "namespace": "bookinfo", "labels": {"app": "%s", "version": "%s"}%s},
                 "spec": {"containers": [{"name": "reviews", "image": "bookinfo/reviews", "ports": [{"containerPort": 9080}]}%s]},
                 "status": {"phase": "Running", "containerStatuses": [{"name": "reviews", "ready": true}%s]}}
                """.formatted(name, app, version, annotations, proxy, proxyStatus), Pod.class);
    }

    @Test
    void aMeshedPodIsDescribedWithWhatItsProxyWasGiven(QuarkusMainLauncher launcher) {
        LaunchResult r = launcher.launch(concat(new String[] {"x", "describe", "pod", "reviews-v1-7d9f8.bookinfo"}, cluster));
        assertEquals(0, r.exitCode(), r.getOutput() + r.getErrorOutput());
        assertEquals("""
                Pod: reviews-v1-7d9f8
                   Pod Revision: default
                   Pod Ports: 9080 (reviews), 15090 (istio-proxy)
                --------------------
                """ + REVIEWS + """
                --------------------
                Effective PeerAuthentication:
                   Workload mTLS mode: STRICT
                Applied PeerAuthentication:
                   default.istio-system
                """ + EXPOSED, r.getOutput().replace("\r", "").strip() + "\n");
    }

    @Test
    void aPodWithoutAProxyIsSaidNotToBeInTheMesh(QuarkusMainLauncher launcher) {
        LaunchResult r = launcher.launch(concat(new String[] {"experimental", "describe", "pod", "reviews-v2-4c5d1", "-n", "bookinfo"},
                cluster));
        assertEquals(0, r.exitCode(), r.getOutput() + r.getErrorOutput());
        assertEquals("""
                Pod: reviews-v2-4c5d1
                   Pod Revision: \n   Pod Ports: 9080 (reviews)
                WARNING: reviews-v2-4c5d1 is not part of mesh; no Istio sidecar
                """, r.getOutput().replace("\r", "").strip() + "\n");
    }

    @Test
    void anUnknownPodIsAnError(QuarkusMainLauncher launcher) {
        LaunchResult r = launcher.launch(concat(new String[] {"x", "describe", "pod", "productpage-v1.bookinfo"}, cluster));
        assertEquals(1, r.exitCode(), r.getOutput());
        assertTrue(r.getErrorOutput().contains("pods \"productpage-v1\" not found in namespace bookinfo"), r.getErrorOutput());
    }

    @Test
    void aServiceIsDescribedByItsMeshedPodsProxy(QuarkusMainLauncher launcher) {
        LaunchResult r = launcher.launch(concat(new String[] {"x", "describe", "svc", "reviews", "-n", "bookinfo"}, cluster));
        assertEquals(0, r.exitCode(), r.getOutput() + r.getErrorOutput());
        assertEquals("""
                Pod reviews-v2-4c5d1: no container "istio-proxy" in pod
                """ + REVIEWS + EXPOSED, r.getOutput().replace("\r", "").strip() + "\n");
    }

    @Test
    void aServiceWithoutMeshedPodsSaysSo(QuarkusMainLauncher launcher) {
        LaunchResult r = launcher.launch(concat(new String[] {"x", "describe", "service", "ratings.bookinfo"}, cluster));
        assertEquals(0, r.exitCode(), r.getOutput() + r.getErrorOutput());
        assertEquals("Service \"ratings\" has no pods.\n", r.getOutput().replace("\r", "").strip() + "\n");
        assertEquals(1, launcher.launch(concat(new String[] {"x", "describe", "svc", "details.bookinfo"}, cluster)).exitCode());
    }

    /** What the service proxy answers for one of pilot's paths: the mock cannot proxy, so an expectation does. */
    private void answer(String path, String body) {
        api.expect().get().withPath("/api/v1/namespaces/istio-system/services/istio-pilot:15014/proxy" + path)
                .andReturn(200, body).always();
    }

    private static String captured(String file) throws Exception {
        return Files.readString(Path.of("src/test/resources/captured", file));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
