package io.mesh.cli;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Which mesh a command talks to, shared by every command that reads components: the local mesh (the runner's
 * run folder) or a cluster (kubeconfig and context from the usual places, components through the API server's
 * service proxy). {@code --mode auto} picks the local mesh when its run folder exists.
 */
final class MeshTarget {

    enum Mode { auto, local, kubernetes }

    /** A mesh component: its local name (the run folder's) and the Service and port that serve its HTTP endpoints. */
    enum Component {
        PILOT("pilot", "istio-pilot", 15014, "/q/health/ready", QUARKUS_UP),
        CITADEL("citadel", "istio-citadel", 15014, "/q/health/ready", QUARKUS_UP),
        INJECTOR("injector", "istio-sidecar-injector", 15014, "/q/health/ready", QUARKUS_UP),
        TELEMETRY("telemetry", "istio-telemetry", 15014, "/q/health/ready", QUARKUS_UP),
        // The gateway Service exposes the status port, whose /healthz/ready is its config readiness.
        GATEWAY("gateway", "istio-ingressgateway", 15021, "/healthz/ready", "\"ready\"");

        final String local;
        final String service;
        final int port;
        final String readyPath;
        /** What a ready component answers, for messages. */
        final String readyAnswer;

        Component(String local, String service, int port, String readyPath, String readyAnswer) {
            this.local = local;
            this.service = service;
            this.port = port;
            this.readyPath = readyPath;
            this.readyAnswer = readyAnswer;
        }

        /** A 200 is not enough (a proxy in between may answer 200 with anything): the body must say ready. */
        boolean saysReady(String body) {
            if (this == GATEWAY) {
                return body.strip().equals("ready");
            }
            try {
                return "UP".equals(new com.fasterxml.jackson.databind.ObjectMapper().readTree(body).path("status").asText());
            } catch (java.io.IOException e) {
                return false;
            }
        }

        String deployment() {
            return service;
        }
    }

    static final String NAMESPACE = "istio-system";
    private static final String QUARKUS_UP = "{\"status\":\"UP\"}";

    @Option(names = "--mode", defaultValue = "auto", description = "auto, local or kubernetes (default: ${DEFAULT-VALUE}: "
            + "the local mesh when its run folder exists, else the cluster)")
    Mode mode;

    @Option(names = "--run-dir", description = "The local runner's run folder (default: $MESH_RUN_DIR, else .mesh/run)")
    Path runDir;

    @Option(names = "--kubeconfig", description = "The kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    Path kubeconfig;

    @Option(names = "--context", description = "The kubeconfig context (default: the current context)")
    String context;

    Path runDir() {
        return RunFolder.resolve(runDir);
    }

    boolean local() {
        return mode == Mode.local || (mode == Mode.auto && RunFolder.present(runDir()));
    }

    /** A client for the chosen cluster; the caller closes it. */
    KubernetesClient kubernetes() {
        if (kubeconfig != null) {
            System.setProperty(Config.KUBERNETES_KUBECONFIG_FILE, kubeconfig.toString());
        }
        Config config = Config.autoConfigure(context);
        // A CLI answers promptly: no retries with backoff on an unreachable API server.
        config.setRequestRetryBackoffLimit(0);
        config.setConnectionTimeout(5_000);
        config.setRequestTimeout(10_000);
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /** The mesh as chosen; close it when done (it may hold a Kubernetes client). */
    Mesh open() {
        return new Mesh(this);
    }

    /**
     * A local mesh or a cluster, and how to reach each component's HTTP endpoints there. The Kubernetes client is
     * made on first use, so a command given --pilot URL never reads a kubeconfig.
     */
    static final class Mesh implements AutoCloseable {
        private final MeshTarget target;
        private final boolean local;
        private final Path runDir;
        private KubernetesClient client;

        Mesh(MeshTarget target) {
            this.target = target;
            this.local = target.local();
            this.runDir = target.runDir();
        }

        boolean local() {
            return local;
        }

        Path runDir() {
            return runDir;
        }

        KubernetesClient client() {
            if (client == null) {
                client = target.kubernetes();
            }
            return client;
        }

        /**
         * The component's HTTP API: given explicitly (--pilot URL), else from the run folder, else through the
         * cluster's service proxy. Empty when the local mesh does not list it; the message says what to do.
         */
        MonitoringApi component(Component component, URI given) throws MonitoringApi.Unreachable {
            if (given != null) {
                return MonitoringApi.direct(component.local, given);
            }
            if (!local) {
                return MonitoringApi.serviceProxy(component.local, client(), NAMESPACE, component.service, component.port);
            }
            Optional<URI> base = RunFolder.endpoint(runDir, component.local);
            if (base.isEmpty()) {
                throw new MonitoringApi.Unreachable("cannot find " + component.local + ": no local mesh in " + runDir
                        + "; start one with ./mesh up, pass --" + component.local + " URL, or use --mode kubernetes");
            }
            return MonitoringApi.direct(component.local, base.get());
        }

        @Override
        public void close() {
            if (client != null) {
                client.close();
            }
        }
    }
}
