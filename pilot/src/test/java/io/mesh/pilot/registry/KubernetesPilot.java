package io.mesh.pilot.registry;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.mesh.pilot.testing.PilotHarness;
import io.mesh.testing.kube.KubeApiMock;
import io.mesh.testing.kube.Kubectl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Pilot in Kubernetes mode for a test: the Fabric8 mock API server in CRUD mode with Istio's CRDs and the namespace
 * {@code demo} applied by the real kubectl, a {@link KubernetesRegistry} on it, and pilot's runtime fed by it.
 * {@link #close} stops them in reverse order. Tests start it through {@link KubernetesPilotExtension}, which gives it a
 * work folder and closes it after the test.
 */
final class KubernetesPilot implements AutoCloseable {
    KubeApiMock mock;
    KubernetesClient client;
    Path kubeconfig;
    KubernetesRegistry registry;
    PilotHarness harness;
    /** Every request pilot's client made, as "METHOD PATH?QUERY", in order. */
    final java.util.Queue<String> requests = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final Path work;

    private KubernetesPilot(Path work) {
        this.work = work;
    }

    private void begin(boolean credentials, List<String> crds, Duration crdRecheck,
            java.util.function.UnaryOperator<KubernetesRegistry> configure) throws Exception {
        Files.createDirectories(work);
        mock = KubeApiMock.start(0, false, false);
        // Pilot's client records each request it makes (what tests of API-call economy count).
        KubernetesClient plain = mock.client("default");
        io.fabric8.kubernetes.client.Config config = plain.getConfiguration();
        plain.close();
        client = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(config)
                .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("record",
                        new io.fabric8.kubernetes.client.http.Interceptor() {
                            @Override
                            public void before(io.fabric8.kubernetes.client.http.BasicBuilder builder,
                                    io.fabric8.kubernetes.client.http.HttpRequest request, RequestTags tags) {
                                requests.add(request.method() + " " + request.uri().getRawPath()
                                        + (request.uri().getRawQuery() == null ? "" : "?" + request.uri().getRawQuery()));
                            }
                        }))
                .build();
        kubeconfig = mock.writeKubeconfig(work.resolve("kubeconfig"), "default").toAbsolutePath();
        for (String group : crds) {
            applyCrds(group);
        }
        kubectl("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n", "apply", "-f", "-");
        registry = configure.apply(new KubernetesRegistry(client).withCrdRecheck(crdRecheck));
        harness = new PilotHarness(null, registry, registry::recordRejection);
        if (credentials) {
            harness.pilot.withCredentials(registry);
        }
        registry.start(harness.pilot.store(), harness.pilot::configChanged, harness.pilot::endpointsChanged);
    }

    /** Starts it all, with work files (the kubeconfig) under {@code work}; {@code credentials}: TLS Secrets for SDS. */
    static KubernetesPilot start(Path work, boolean credentials) throws Exception {
        return start(work, credentials, List.of("networking.istio.io", "security.istio.io",
                "telemetry.istio.io"), Duration.ofSeconds(10));
    }

    /**
     * As {@link #start(Path, boolean)}, with only the CRDs of these API groups installed before pilot starts, and
     * pilot looking for missing ones every {@code crdRecheck}.
     */
    static KubernetesPilot start(Path work, boolean credentials, List<String> crds, Duration crdRecheck)
            throws Exception {
        return start(work, credentials, crds, crdRecheck, r -> r);
    }

    /** As {@link #start(Path, boolean, List, Duration)}, the registry set up by {@code configure} before it starts. */
    static KubernetesPilot start(Path work, boolean credentials, List<String> crds, Duration crdRecheck,
            java.util.function.UnaryOperator<KubernetesRegistry> configure) throws Exception {
        KubernetesPilot k = new KubernetesPilot(work);
        try {
            k.begin(credentials, crds, crdRecheck, configure);
            return k;
        } catch (Exception | AssertionError e) {
            k.close();   // what did start
            throw e;
        }
    }

    /**
     * Pilot with Istio's CRDs, then the Gateway API's installed after it started (found within its 200 ms recheck), once
     * it watches every kind: the start of the Gateway API tests. {@code configure} as in {@link #start}.
     */
    static KubernetesPilot startWithGatewayApi(Path work, boolean credentials,
            java.util.function.UnaryOperator<KubernetesRegistry> configure) throws Exception {
        KubernetesPilot k = start(work, credentials, List.of("networking.istio.io", "security.istio.io",
                "telemetry.istio.io"), Duration.ofMillis(200), configure);
        try {
            k.applyGatewayApiCrds();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.registry.missingKinds().isEmpty());
            return k;
        } catch (Exception | AssertionError e) {
            k.close();
            throw e;
        }
    }

    /** Installs a stand-in for the Gateway API's Gateway and HTTPRoute CRDs (the test resources' crds folder). */
    void applyGatewayApiCrds() {
        kubectl(null, "apply", "-f", "src/test/resources/crds/gateway.networking.k8s.io.yaml");
    }

    /** Installs the repository's CRDs of one API group ({@code deploy/kubernetes/crds/GROUP.yaml}). */
    void applyCrds(String group) {
        kubectl(null, "apply", "-f", "../deploy/kubernetes/crds/" + group + ".yaml");
    }

    /** Runs kubectl against the mock API server, {@code stdin} (may be null) as its input; returns what it printed. */
    String kubectl(String stdin, String... args) {
        return new Kubectl(kubeconfig, work).run(stdin, args);
    }

    @Override
    public void close() {
        if (harness != null) {
            harness.close();
        }
        if (registry != null) {
            registry.close();
        }
        if (client != null) {
            client.close();
        }
        if (mock != null) {
            mock.close();
        }
    }
}
