package io.mesh.cli;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** Checks a cluster through the Kubernetes API: reachable, CRDs, components ready, root and webhook. */
final class ClusterChecks {

    static final String NAMESPACE = "istio-system";

    static final Set<String> CRDS = Set.of(
            "virtualservices.networking.istio.io", "destinationrules.networking.istio.io", "gateways.networking.istio.io",
            "serviceentries.networking.istio.io", "workloadentries.networking.istio.io", "sidecars.networking.istio.io",
            "peerauthentications.security.istio.io", "authorizationpolicies.security.istio.io",
            "requestauthentications.security.istio.io", "telemetries.telemetry.istio.io");


    /** A root that expires sooner than this is reported, so there is time to rotate it. */
    static final Duration ROOT_EXPIRY_WARNING = Duration.ofDays(30);

    private final KubernetesClient client;
    private final boolean preInstall;

    ClusterChecks(KubernetesClient client, boolean preInstall) {
        this.client = client;
        this.preInstall = preInstall;
    }

    List<CheckResult> run() throws InterruptedException {
        List<CheckResult> results = new ArrayList<>();
        try {
            String version = client.getKubernetesVersion().getGitVersion();
            results.add(CheckResult.pass("the cluster is reachable", client.getMasterUrl() + " (Kubernetes " + version + ")"));
        } catch (KubernetesClientException e) {
            results.add(CheckResult.fail("the cluster is reachable", client.getMasterUrl() + ": " + e.getMessage(),
                    "check your kubeconfig and context (--kubeconfig, --context)"));
            return results;
        }
        if (preInstall) {
            return results;
        }
        results.add(crds());
        for (MeshTarget.Component component : MeshTarget.Component.values()) {
            results.add(component(component));
        }
        results.add(root());
        results.add(webhook());
        results.addAll(PilotChecks.run(serviceProxy(MeshTarget.Component.PILOT)));
        return results;
    }

    private CheckResult crds() {
        Set<String> present = client.apiextensions().v1().customResourceDefinitions().list().getItems().stream()
                .map(crd -> crd.getMetadata().getName()).collect(Collectors.toSet());
        Set<String> missing = new TreeSet<>(CRDS);
        missing.removeAll(present);
        return missing.isEmpty()
                ? CheckResult.pass("the Istio CRDs are installed", CRDS.size() + " CRDs present")
                : CheckResult.fail("the Istio CRDs are installed", "missing: " + String.join(", ", missing),
                        "meshctl install | kubectl apply -f -");
    }

    private MonitoringApi serviceProxy(MeshTarget.Component component) {
        return MonitoringApi.serviceProxy(component.local, client, NAMESPACE, component.service, component.port);
    }

    /**
     * Ready when its Deployment has a ready replica and the component itself answers 200 on its readiness path,
     * asked through the API server's service proxy.
     */
    private CheckResult component(MeshTarget.Component component) throws InterruptedException {
        String name = component.deployment();
        String check = name + " is ready";
        Deployment deployment = client.apps().deployments().inNamespace(NAMESPACE).withName(name).get();
        if (deployment == null) {
            return CheckResult.fail(check, "no Deployment " + NAMESPACE + "/" + name, "meshctl install | kubectl apply -f -");
        }
        int wanted = deployment.getSpec().getReplicas() == null ? 1 : deployment.getSpec().getReplicas();
        Integer ready = deployment.getStatus() == null ? null : deployment.getStatus().getReadyReplicas();
        int readyCount = ready == null ? 0 : ready;
        String replicas = readyCount + "/" + wanted + " replicas ready";
        String hint = "kubectl -n " + NAMESPACE + " describe deployment " + name + "; kubectl -n " + NAMESPACE + " logs deploy/" + name;
        String via = " through the service proxy (" + component.service + ":" + component.port + ")";
        try {
            MonitoringApi.Response response = serviceProxy(component).get(component.readyPath);
            if (response.status() == 200 && component.saysReady(response.body())) {
                return CheckResult.pass(check, replicas + "; " + component.readyPath + " answered 200" + via);
            }
            if (response.status() == 200) {
                return CheckResult.fail(check, replicas + "; " + component.readyPath + " answered 200" + via + " but not "
                        + component.readyAnswer + ": " + MonitoringApi.abbreviate(response.body().strip()), hint);
            }
            return CheckResult.fail(check, replicas + "; " + component.readyPath + " answered " + response.status() + via, hint);
        } catch (MonitoringApi.Unreachable e) {
            return CheckResult.fail(check, replicas + "; " + e.getMessage(), hint);
        }
    }

    private CheckResult root() {
        String check = "citadel's root is valid";
        ConfigMap root = client.configMaps().inNamespace(NAMESPACE).withName("istio-ca-root-cert").get();
        if (root == null || root.getData() == null || !root.getData().containsKey("root-cert.pem")) {
            return CheckResult.fail(check, "no ConfigMap " + NAMESPACE + "/istio-ca-root-cert", "is istio-citadel ready? kubectl -n "
                    + NAMESPACE + " logs deploy/istio-citadel");
        }
        try {
            X509Certificate certificate = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                    new ByteArrayInputStream(root.getData().get("root-cert.pem").getBytes(StandardCharsets.US_ASCII)));
            Instant notAfter = certificate.getNotAfter().toInstant();
            if (notAfter.isBefore(Instant.now().plus(ROOT_EXPIRY_WARNING))) {
                return CheckResult.fail(check, "the root expires at " + notAfter, "rotate the root: plug in a new CA (cacerts) before it expires");
            }
            return CheckResult.pass(check, certificate.getSubjectX500Principal().getName() + ", valid until " + notAfter);
        } catch (java.security.GeneralSecurityException | RuntimeException e) {
            return CheckResult.fail(check, "root-cert.pem does not parse: " + e.getMessage(), "kubectl -n " + NAMESPACE
                    + " delete configmap istio-ca-root-cert (citadel restores it)");
        }
    }

    private CheckResult webhook() {
        String check = "the injection webhook has a caBundle";
        MutatingWebhookConfiguration webhook = client.admissionRegistration().v1().mutatingWebhookConfigurations()
                .withName("istio-sidecar-injector").get();
        if (webhook == null) {
            return CheckResult.fail(check, "no MutatingWebhookConfiguration istio-sidecar-injector", "meshctl install | kubectl apply -f -");
        }
        boolean allSet = !webhook.getWebhooks().isEmpty() && webhook.getWebhooks().stream()
                .allMatch(w -> w.getClientConfig().getCaBundle() != null && !w.getClientConfig().getCaBundle().isBlank());
        return allSet
                ? CheckResult.pass(check, webhook.getWebhooks().size() + " webhooks")
                : CheckResult.fail(check, "caBundle is empty", "the injector sets it when it starts: kubectl -n " + NAMESPACE
                        + " logs deploy/istio-sidecar-injector");
    }

    static boolean isCrd(CustomResourceDefinition crd) {
        return CRDS.contains(crd.getMetadata().getName());
    }
}
