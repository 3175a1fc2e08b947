package io.mesh.gateway;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.mesh.gateway.admin.AdminServer;
import io.mesh.gateway.admin.StatusServer;
import io.mesh.gateway.identity.PilotTrustManager;
import io.mesh.gateway.identity.WorkloadIdentity;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Files;
import javax.net.ssl.SSLException;
import io.mesh.gateway.model.GatewaySnapshot;
import io.mesh.gateway.proxy.DataPlane;
import io.mesh.gateway.proxy.OtlpReporter;
import io.opentelemetry.api.OpenTelemetry;
import io.mesh.gateway.xds.AdsClient;
import io.mesh.gateway.xds.StaticBootstrap;
import io.mesh.gateway.xds.XdsState;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The proxy assembled: data plane, xDS client, health and admin ports. Plain Java, so the same core runs
 * under Quarkus (router mode now, sidecar later) and in tests without it.
 */
public final class Gateway {

    private static final Logger LOG = Logger.getLogger(Gateway.class);

    private final GatewayConfig config;
    private final DataPlane plane;
    private final XdsState xdsState;
    private final AdsClient ads;
    private final StatusServer status;
    private final AdminServer admin;
    private final WorkloadIdentity identity;

    private Gateway(Vertx vertx, GatewayConfig config, MeterRegistry registry, OpenTelemetry otel, StaticBootstrap bootstrap,
            WorkloadIdentity identity, SslContext xdsTls, Map<String, String> env) {
        this.config = config;
        this.identity = identity;
        // The node (its IP and host name are looked up) is built once: pilot knows the proxy by it, and the metadata
        // exchange sends its ID and metadata to peers.
        Node node = node(config, env);
        this.plane = new DataPlane(vertx, config, registry, otel == null ? null : new OtlpReporter(otel), identity, node);
        if (sidecar(config)) {
            plane.enableSidecar();
        }
        this.xdsState = new XdsState(node, bootstrap);
        this.ads = config.xds().enabled()
                ? new AdsClient(config.xds().address(), xdsState, plane::apply, config.xds().initialBackoff(),
                        config.xds().maxBackoff(), xdsTls)
                : null;
        this.status = new StatusServer(vertx, plane, () -> identity == null || identity.isReady());
        this.admin = new AdminServer(vertx, plane, ads, xdsState);
    }

    public static Future<Gateway> start(Vertx vertx, GatewayConfig config, MeterRegistry registry) {
        return start(vertx, config, registry, null);
    }

    /** {@code otel}: the OpenTelemetry whose SDK exports over OTLP, or null for no OTLP reporting. */
    public static Future<Gateway> start(Vertx vertx, GatewayConfig config, MeterRegistry registry, OpenTelemetry otel) {
        return start(vertx, config, registry, otel, System.getenv());
    }

    /**
     * {@code env}: the process environment, whose {@code ISTIO_META_*} variables go into the xDS node's metadata as
     * istio-agent puts them there ({@link #node(GatewayConfig, Map)}).
     */
    public static Future<Gateway> start(Vertx vertx, GatewayConfig config, MeterRegistry registry, OpenTelemetry otel,
            Map<String, String> env) {
        StaticBootstrap bootstrap;
        try {
            bootstrap = config.bootstrapFile().isPresent()
                    ? StaticBootstrap.load(Path.of(config.bootstrapFile().get())) : StaticBootstrap.EMPTY;
        } catch (Exception e) {
            return Future.failedFuture(new IllegalArgumentException("bootstrap file: " + e.getMessage(), e));
        }
        WorkloadIdentity identity;
        SslContext xdsTls;
        try {
            identity = identity(config);
            xdsTls = xdsTls(config, identity);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        Gateway g = new Gateway(vertx, config, registry, otel, bootstrap, identity, xdsTls, env);
        return g.status.start(config.statusPort())
                .compose(v -> config.adminPort() >= 0 ? g.admin.start(config.adminPort()) : Future.succeededFuture())
                .compose(v -> {
                    GatewaySnapshot base = g.xdsState.snapshot();
                    Future<Void> applied = Future.succeededFuture();
                    if (g.ads == null) {
                        applied = g.plane.apply(withComplete(base));
                    } else if (!bootstrap.listeners().isEmpty() || !bootstrap.clusters().isEmpty()) {
                        applied = g.plane.apply(base);
                    }
                    return applied;
                })
                .map(v -> {
                    if (g.ads != null && xdsTls != null) {
                        g.identity.ready().onSuccess(x -> g.ads.start());   // pilot's TLS port needs our certificate
                    } else if (g.ads != null) {
                        g.ads.start();
                    }
                    return g;
                })
                .onFailure(e -> {
                    if (identity != null) {
                        identity.close();
                    }
                });
    }

    /** The workload identity from citadel when {@code mesh.gateway.ca.address} is set; its first fetch starts now. */
    static WorkloadIdentity identity(GatewayConfig config) {
        var ca = config.ca();
        if (ca.address().isEmpty() || ca.address().get().isBlank()) {
            return null;
        }
        if (ca.rootCertFile().isEmpty() || ca.rootCertFile().get().isBlank()) {
            throw new IllegalArgumentException("mesh.gateway.ca.address is set but mesh.gateway.ca.root-cert-file is not: "
                    + "the mesh root is needed to trust citadel");
        }
        Path roots = Path.of(ca.rootCertFile().get());
        if (!Files.isReadable(roots)) {
            // Not fatal: citadel may still be writing it (a local run starts both at once; in a cluster the
            // ConfigMap may appear after the pod). The identity retries until it can read it; readiness waits.
            LOG.warnf("mesh.gateway.ca.root-cert-file %s is not readable yet; waiting for it before asking citadel", roots);
        }
        return new WorkloadIdentity(ca.address().get().trim(), ca.tokenFile().filter(f -> !f.isBlank()).map(Path::of), roots,
                config.trustDomain(), ca.ttl()).start();
    }

    /** The client TLS context for pilot's mutual-TLS port, or null for plaintext ADS. */
    static SslContext xdsTls(GatewayConfig config, WorkloadIdentity identity) {
        if (!config.xds().enabled() || !config.xds().useTls()) {
            return null;
        }
        if (identity == null) {
            throw new IllegalArgumentException("mesh.gateway.xds.address " + config.xds().address()
                    + " is pilot's mutual-TLS port (mesh.gateway.xds.tls=" + config.xds().tls()
                    + "), which needs a workload certificate: set mesh.gateway.ca.address and mesh.gateway.ca.root-cert-file");
        }
        String address = config.xds().address();
        String host = address.lastIndexOf(':') > 0 ? address.substring(0, address.lastIndexOf(':')) : address;
        host = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        try {
            return GrpcSslContexts.forClient().keyManager(identity.keyManager())
                    .trustManager(new PilotTrustManager(identity.trustManager(), host, config.trustDomain(), "istio-system"))
                    .build();
        } catch (SSLException e) {
            throw new IllegalArgumentException("cannot build the TLS context for pilot: " + e.getMessage(), e);
        }
    }

    /** The proxy's citadel identity (its certificate, roots, SPIFFE ID), when {@code mesh.gateway.ca.address} is set. */
    public java.util.Optional<WorkloadIdentity> identity() {
        return java.util.Optional.ofNullable(identity);
    }

    private static GatewaySnapshot withComplete(GatewaySnapshot s) {
        return new GatewaySnapshot(s.listeners(), s.routes(), s.clusters(), s.endpoints(), s.secrets(), true);
    }

    public DataPlane dataPlane() {
        return plane;
    }

    public AdsClient xds() {
        return ads;
    }

    public int statusPort() {
        return status.port();
    }

    public int adminPort() {
        return admin.port();
    }

    /** Stops taking config, drains the listeners, then closes the side ports. */
    public Future<Void> stop() {
        if (ads != null) {
            ads.close();
        }
        return plane.drainAndClose().compose(v -> status.close()).compose(v -> admin.close()).onComplete(v -> {
            if (identity != null) {
                identity.close();
            }
        });
    }

    /**
     * This proxy's xDS node: its ID (Istio's {@code TYPE~IP~POD.NS~NS.svc.cluster.local}) and metadata: the gateway's own
     * fields ({@code NAMESPACE}, {@code NAME}, {@code CLUSTER_ID}, {@code NODE_TYPE}, {@code LABELS}), and every
     * environment variable {@code ISTIO_META_<NAME>} of {@code env} as {@code <NAME>} ({@link #istioMeta}).
     */
    static Node node(GatewayConfig config, Map<String, String> env) {
        String ns = config.node().namespace();
        String ip = "127.0.0.1";
        String host = "gateway";
        try {
            InetAddress local = InetAddress.getLocalHost();
            ip = local.getHostAddress();
            host = local.getHostName();
        } catch (Exception e) {
            LOG.debugf("no local address: %s", e.getMessage());
        }
        ip = config.node().ip().orElse(ip);
        String id = config.node().id().orElse(config.mode() + "~" + ip + "~" + host + "." + ns + "~" + ns + ".svc.cluster.local");
        Map<String, String> labels = config.node().labels().isEmpty() && !sidecar(config)
                ? Map.of("istio", "ingressgateway") : config.node().labels();
        Struct.Builder l = Struct.newBuilder();
        labels.forEach((k, v) -> l.putFields(k, Value.newBuilder().setStringValue(v).build()));
        Struct meta = istioMeta(env).toBuilder()
                .putFields("NAMESPACE", str(ns))
                .putFields("NAME", str(host))
                .putFields("CLUSTER_ID", str(config.node().cluster()))
                .putFields("NODE_TYPE", str(config.mode()))
                .putFields("LABELS", Value.newBuilder().setStructValue(l).build())
                .build();
        Node.Builder node = Node.newBuilder().setId(id).setCluster(workload(config) + "." + ns)
                .setUserAgentName("mesh-gateway").setMetadata(meta);
        config.node().locality().filter(loc -> !loc.isBlank()).ifPresent(loc -> {
            String[] p = (loc.trim() + "//").split("/", -1);
            node.setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion(p[0]).setZone(p[1])
                    .setSubZone(p[2]));
        });
        return node.build();
    }

    /**
     * The node metadata istio-agent takes from the environment (istio {@code pkg/bootstrap/config.go}
     * {@code GetNodeMetaData}, {@code extractMetadata}): each {@code ISTIO_META_<NAME>=<value>} is the field
     * {@code <NAME>} with the value as a string, never parsed (JSON goes in {@code ISTIO_METAJSON_*}, which is not read
     * here), e.g. {@code IDLE_TIMEOUT}, {@code OWNER}, {@code WORKLOAD_NAME}. What the gateway sets itself wins over them,
     * as the agent's own fields win over the raw ones ({@code pkg/bootstrap/option/convert.go}): the node's namespace,
     * pod name, cluster and labels come from its settings ({@code mesh.gateway.node.*}).
     */
    static Struct istioMeta(Map<String, String> env) {
        Struct.Builder meta = Struct.newBuilder();
        new java.util.TreeMap<>(env).forEach((k, v) -> {
            if (k.startsWith(ISTIO_META) && k.length() > ISTIO_META.length() && v != null) {
                meta.putFields(k.substring(ISTIO_META.length()), str(v));
            }
        });
        return meta.build();
    }

    private static final String ISTIO_META = "ISTIO_META_";

    static boolean sidecar(GatewayConfig config) {
        return "sidecar".equals(config.mode());
    }

    /** The workload name in metrics and the node's cluster: the canonical service, the app label, or the gateway's. */
    public static String workload(GatewayConfig config) {
        return config.canonicalService().filter(s -> !s.isBlank())
                .orElse(config.node().labels().getOrDefault("app", sidecar(config) ? "unknown" : "istio-ingressgateway"));
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
