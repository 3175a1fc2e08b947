package io.mesh.cli;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code meshctl kube-inject}: istioctl kube-inject against the mesh's own injector. It never injects by itself;
 * each pod template goes to the running injector, so the output is what the webhook would have made.
 */
@Command(name = "kube-inject", mixinStandardHelpOptions = true,
        description = {"Inject the sidecar into the workloads of a YAML file, as the running injector would.",
                "",
                "Each pod template (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, "
                        + "ReplicationController, DeploymentConfig, and the items of a List) is sent to the injector "
                        + "as the pod its controller would create, and the injector's patch is written back into the "
                        + "workload. Other documents, and workloads the injector leaves alone "
                        + "(sidecar.istio.io/inject: \"false\", already injected), are printed exactly as read. "
                        + "Unlike the webhook, kube-inject does not need the namespace labelled istio-injection=enabled. "
                        + "Nothing is printed when a document cannot be injected."},
        footer = {"", "Where the injector is: the local mesh's webhook (127.0.0.1, port",
                "  $MESH_INJECTOR_WEBHOOK_PORT, else 15017; trusting the run folder's",
                "  state/injector/webhook-ca.pem); --injector URL (e.g. after a port-forward;",
                "  on a cluster it trusts the caBundle of the MutatingWebhookConfiguration",
                "  istio-sidecar-injector unless --injector-ca is given);",
                "  or on a cluster the service istio-system/istio-sidecar-injector:443 through",
                "  the API server's service proxy (needs create on services/proxy).",
                "Exit codes: 0 ok, 1 the injector refused a pod or cannot be reached, or the",
                "  input is not YAML, 2 usage error.",
                "Examples:",
                "  meshctl kube-inject -f app.yaml | kubectl apply -f -",
                "  meshctl kube-inject -f deployment.yaml -o deployment-injected.yaml",
                "  kubectl get deploy web -o yaml | meshctl kube-inject -f - | kubectl apply -f -",
                "  meshctl kube-inject -f app.yaml -n shop --mode kubernetes --context staging",
                "  meshctl kube-inject -f app.yaml --injector https://127.0.0.1:15017 \\",
                "      --injector-ca ca.pem"})
public class KubeInjectCommand implements Callable<Integer> {

    static final String WEBHOOK_PORT_VARIABLE = "MESH_INJECTOR_WEBHOOK_PORT";
    static final int WEBHOOK_PORT = 15017;
    /** The injector's MutatingWebhookConfiguration (deploy/kubernetes/injector.yaml). */
    static final String WEBHOOK_CONFIGURATION = "istio-sidecar-injector";

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE",
            description = "The YAML to inject (several documents allowed); - reads standard input")
    String filename;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the result to FILE instead of standard output")
    Path output;

    @Option(names = {"-n", "--namespace"}, description = "The namespace of documents that name none (default: default)")
    String namespace;

    @Option(names = "--injector", paramLabel = "URL",
            description = "The injector's webhook, e.g. https://127.0.0.1:15017 (path /inject when none is given)")
    URI injector;

    @Option(names = "--injector-ca", paramLabel = "FILE",
            description = "PEM bundle that verifies the webhook's certificate (default: the local mesh's, else on a cluster "
                    + "the webhook configuration's caBundle, else the JDK's)")
    Path injectorCa;

    @Mixin
    MeshTarget target;

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        String input = read();
        KubeInjection.Result result;
        try (MeshTarget.Mesh mesh = target.open()) {
            InjectorClient client = client(mesh);
            result = new KubeInjection(client::review, namespace == null || namespace.isEmpty() ? "default" : namespace)
                    .inject(input);
        } catch (InjectorClient.Unreachable | KubeInjection.Failed e) {
            err.println("kube-inject: " + e.getMessage());
            err.flush();
            return 1;
        }
        for (String note : result.notes()) {
            err.println("kube-inject: " + note);
        }
        err.flush();
        if (output != null) {
            try {
                Files.writeString(output, result.yaml(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                err.println("kube-inject: cannot write " + output + ": " + e.getMessage());
                err.flush();
                return 1;
            }
        } else {
            PrintWriter out = spec.commandLine().getOut();
            out.print(result.yaml());
            out.flush();
        }
        return 0;
    }

    private String read() throws IOException {
        if (filename.equals("-")) {
            return new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Path file = Path.of(filename);
        if (!Files.isRegularFile(file)) {
            throw new CommandLine.ParameterException(spec.commandLine(), filename + " is not a file");
        }
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    /**
     * On a cluster (e.g. --injector after {@code kubectl port-forward}): the PEM bundle the API server trusts the
     * webhook with, the injector's MutatingWebhookConfiguration's {@code caBundle}; null when it cannot be read (the
     * JDK's trust store is used then, as before).
     */
    private static byte[] webhookCaBundle(MeshTarget.Mesh mesh) {
        try {
            MutatingWebhookConfiguration configuration = mesh.client().admissionRegistration().v1()
                    .mutatingWebhookConfigurations().withName(WEBHOOK_CONFIGURATION).get();
            if (configuration == null || configuration.getWebhooks() == null) {
                return null;
            }
            for (MutatingWebhook webhook : configuration.getWebhooks()) {
                String bundle = webhook.getClientConfig() == null ? null : webhook.getClientConfig().getCaBundle();
                if (bundle != null && !bundle.isBlank()) {
                    return Base64.getDecoder().decode(bundle.strip());
                }
            }
            return null;
        } catch (KubernetesClientException | IllegalArgumentException e) {
            return null;
        }
    }

    /** --injector, else the local mesh's webhook, else the cluster's Service through the API server. */
    private InjectorClient client(MeshTarget.Mesh mesh) throws InjectorClient.Unreachable {
        Path localCa = mesh.runDir().resolve("state/injector/webhook-ca.pem");
        if (injector != null) {
            if (injector.getScheme() == null || injector.getHost() == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--injector needs a URL such as https://127.0.0.1:15017");
            }
            URI url = injector.getPath() == null || injector.getPath().isEmpty() || injector.getPath().equals("/")
                    ? injector.resolve(InjectorClient.PATH) : injector;
            if (injectorCa != null || Files.isRegularFile(localCa)) {
                return InjectorClient.direct(url, injectorCa != null ? injectorCa : localCa);
            }
            byte[] clusterCa = mesh.local() ? null : webhookCaBundle(mesh);
            return clusterCa != null ? InjectorClient.direct(url, clusterCa, "the caBundle of MutatingWebhookConfiguration "
                    + WEBHOOK_CONFIGURATION) : InjectorClient.direct(url, (Path) null);
        }
        if (mesh.local()) {
            String port = System.getenv().getOrDefault(WEBHOOK_PORT_VARIABLE, Integer.toString(WEBHOOK_PORT));
            Path ca = injectorCa != null ? injectorCa : localCa;
            if (!Files.isRegularFile(ca)) {
                throw new InjectorClient.Unreachable("cannot find the local injector's CA bundle " + ca
                        + "; is the local mesh up (./mesh up)? Or pass --injector URL and --injector-ca FILE");
            }
            return InjectorClient.direct(URI.create("https://127.0.0.1:" + port + InjectorClient.PATH), ca);
        }
        return InjectorClient.serviceProxy(mesh.client(), MeshTarget.NAMESPACE);
    }
}
