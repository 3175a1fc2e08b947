package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.testing.kube.KubeApiMock;
import io.mesh.testing.kube.Kubectl;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * meshctl analyze without files, on a cluster's Namespaces, Pods and Services as well as its Istio resources: the Fabric8
 * mock API server in CRUD mode, filled with the real kubectl (as {@link MeshctlAgainstKubernetesTest}).
 */
@QuarkusMainTest
class AnalyzeClusterTest {

    private final Path work = Path.of("target", "meshctl-analyze-kube").toAbsolutePath();
    private KubeApiMock api;
    private Path kubeconfig;

    @BeforeEach
    void startApi() throws Exception {
        api = KubeApiMock.start(0, false, false);
        kubeconfig = api.writeKubeconfig(work.resolve("kubeconfig"), "default");
        for (String group : List.of("networking", "security", "telemetry")) {
            kubectl("apply", "-f", Path.of("../deploy/kubernetes/crds/" + group + ".istio.io.yaml").toAbsolutePath().toString());
        }
    }

    @AfterEach
    void stopApi() {
        api.close();
    }

    private static final String WORKLOADS = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: istio-system}
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: shop, labels: {istio-injection: enabled}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: reviews-1, namespace: shop, labels: {app: reviews, version: v1}}
            spec: {containers: [{name: reviews, image: reviews:1}, {name: istio-proxy, image: proxy:1}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: reviews-2, namespace: shop, labels: {app: reviews, version: v2}}
            spec: {containers: [{name: reviews, image: reviews:2}, {name: istio-proxy, image: proxy:1}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: ingress-1, namespace: istio-system, labels: {app: istio-ingressgateway, istio: ingressgateway}}
            spec: {containers: [{name: istio-proxy, image: gateway:1}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: istio-ingressgateway, namespace: istio-system}
            spec:
              selector: {app: istio-ingressgateway}
              ports:
              - {name: http2, port: 80, targetPort: 8080}
              - {name: https, port: 443, targetPort: 8443}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: shop}
            spec:
              selector: {app: reviews}
              ports:
              - {name: http, port: 9080}
            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: reviews, namespace: shop}
            spec:
              workloadSelector: {labels: {app: reviews}}
              egress:
              - hosts: ["./*"]
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: reviews, namespace: shop}
            spec:
              selector: {matchLabels: {app: reviews}}
              rules:
              - from:
                - source: {namespaces: [shop]}
            ---
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 80, name: http, protocol: HTTP}
                hosts: ["*"]
              - port: {number: 443, name: https, protocol: HTTPS}
                hosts: ["*"]
                tls: {mode: SIMPLE, credentialName: edge-cert}
            """;

    @Test
    void aClusterWhoseConfigFitsItsWorkloadsHasNoFindings(QuarkusMainLauncher launcher) throws Exception {
        apply("fine.yaml", WORKLOADS);
        LaunchResult result = analyze(launcher);
        assertEquals(0, result.exitCode(), result.getOutput() + result.getErrorOutput());
        // istio-system is never asked to be injected; shop is; every selector takes a pod in the mesh; ports 80 and
        // 443 are served on 8080 and 8443, where the Service's ports lead.
        assertTrue(result.getOutput().contains("resources analyzed: 0 errors, 0 warnings."), result.getOutput());
    }

    @Test
    void selectorsThatTakeTheSamePodsOrNoneAndUnlabelledNamespacesAreReported(QuarkusMainLauncher launcher) throws Exception {
        apply("workloads.yaml", WORKLOADS);
        apply("problems.yaml", """
                apiVersion: v1
                kind: Namespace
                metadata: {name: blog}
                ---
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: reviews-v1, namespace: shop}
                spec:
                  workloadSelector: {labels: {version: v1}}
                  egress:
                  - hosts: ["./*", "istio-system/*"]
                ---
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: ghost, namespace: shop}
                spec:
                  workloadSelector: {labels: {app: ghost}}
                  egress:
                  - hosts: ["./*"]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: details, namespace: shop}
                spec:
                  selector: {matchLabels: {app: details}}
                  rules:
                  - from:
                    - source: {namespaces: [shop]}
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-all, namespace: blog}
                spec: {}
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: admin, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 8004, name: http-admin, protocol: HTTP}
                    hosts: ["*"]
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: internal, namespace: istio-system}
                spec:
                  selector: {istio: internal-gateway}
                  servers:
                  - port: {number: 80, name: http, protocol: HTTP}
                    hosts: ["*"]
                """);
        LaunchResult result = analyze(launcher);
        String output = result.getOutput();
        assertEquals(1, result.exitCode(), output + result.getErrorOutput());
        AnalyzeCommandTest.assertReports(output, List.of(
                "error: Sidecar shop/reviews: spec.workloadSelector: the Sidecars [reviews, reviews-v1] in namespace \"shop\""
                        + " select the same workload pod \"reviews-1\", which can lead to undefined behavior (IST0110)",
                "error: Sidecar shop/reviews-v1: spec.workloadSelector: the Sidecars [reviews, reviews-v1] in namespace"
                        + " \"shop\" select the same workload pod \"reviews-1\"",
                "error: Sidecar shop/ghost: spec.workloadSelector: referenced selector not found: \"app=ghost\" (no pod of"
                        + " namespace shop on the cluster has these labels) (IST0101)",
                "warning: AuthorizationPolicy shop/details: spec.selector.matchLabels: no matching workloads for this resource"
                        + " with the following labels: app=details (no pod in the mesh in namespace shop has them) (IST0127)",
                // On a cluster every pod is known: a namespace without pods has none for a policy to apply to.
                "warning: AuthorizationPolicy blog/deny-all: spec: no matching workloads for this resource (it has no selector,"
                        + " and no pod in the mesh runs in namespace blog) (IST0127)",
                "warning: Gateway istio-system/admin: spec.servers[0].port.number: the gateway is listening on a target port"
                        + " (port 8004) that is not defined in the Service associated with its workload instances (Pod"
                        + " selector istio=ingressgateway)",
                "error: Gateway istio-system/internal: spec.selector: referenced selector not found:"
                        + " \"istio=internal-gateway\" (no pod on the cluster has these labels) (IST0101)",
                "info: Namespace blog: the namespace is not enabled for Istio injection. Run 'kubectl label namespace blog"
                        + " istio-injection=enabled' to enable it"));
        assertTrue(output.contains("resources analyzed: 4 errors, 3 warnings, 1 infos."), output);

        LaunchResult blog = analyze(launcher, "-n", "blog", "--output-threshold", "info");
        assertEquals(0, blog.exitCode(), blog.getOutput());
        assertTrue(blog.getOutput().contains("Namespace blog: the namespace is not enabled"), blog.getOutput());
        assertFalse(blog.getOutput().contains("shop/"), blog.getOutput());
        assertTrue(blog.getOutput().contains("(findings in namespace blog): 0 errors, 1 warnings, 1 infos."), blog.getOutput());
    }

    private LaunchResult analyze(QuarkusMainLauncher launcher, String... args) {
        String[] all = new String[args.length + 5];
        System.arraycopy(new String[] {"analyze", "--mode", "kubernetes", "--kubeconfig", kubeconfig.toString()}, 0, all, 0, 5);
        System.arraycopy(args, 0, all, 5, args.length);
        return launcher.launch(all);
    }

    private void apply(String name, String yaml) throws Exception {
        kubectl("apply", "-f", Files.writeString(work.resolve(name), yaml).toString());
    }

    private void kubectl(String... args) {
        new Kubectl(kubeconfig, work).run(args);
    }
}
