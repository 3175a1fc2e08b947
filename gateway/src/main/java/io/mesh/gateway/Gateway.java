package io.mesh.gateway;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.mesh.gateway.admin.AdminServer;
import io.mesh.gateway.admin.LogLevels;
import io.mesh.gateway.admin.StatusServer;
import io.mesh.gateway.agent.TerminationDrain;
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

    /** The build's version (quarkus.application.version; absent outside a packaged gateway). */
    static final java.util.Optional<String> VERSION = org.eclipse.microprofile.config.ConfigProvider.getConfig()
            .getOptionalValue("quarkus.application.version", String.class);

    private static final Logger LOG = Logger.getLogger(Gateway.class);

    private final GatewayConfig config;
    private final DataPlane plane;
    private final XdsState xdsState;
    private final AdsClient ads;
    private final StatusServer status;
    private final AdminServer admin;
    private final WorkloadIdentity identity;
    /** Set by {@link #drainNow}: the drain has begun, and termination then exits at once. */
    private volatile boolean drainRequested;

    private Gateway(Vertx vertx, GatewayConfig config, MeterRegistry registry, OpenTelemetry otel, StaticBootstrap bootstrap,
            WorkloadIdentity identity, SslContext xdsTls, Node node, LogLevels logLevels) {
        this.config = config;
        this.identity = identity;
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
        this.admin = new AdminServer(vertx, plane, ads, xdsState, identity, logLevels);
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
        // The node (its IP and host name are looked up) is built once: pilot knows the proxy by it, and the metadata
        // exchange sends its ID and metadata to peers.
        Node node;
        try {
            node = node(config, env);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(new IllegalArgumentException("node metadata: " + e.getMessage(), e));
        }
        LogLevels logLevels = new LogLevels();
        try {
            logLevels.configure(config.logLevel().orElse(null), config.componentLogLevel().orElse(null));
        } catch (LogLevels.Invalid e) {
            return Future.failedFuture(new IllegalArgumentException("mesh.gateway.log-level/component-log-level: "
                    + e.getMessage(), e));
        }
        WorkloadIdentity identity;
        SslContext xdsTls;
        try {
            identity = identity(config);
            xdsTls = xdsTls(config, identity);
        } catch (IllegalArgumentException e) {
            return Future.failedFuture(e);
        }
        Gateway g = new Gateway(vertx, config, registry, otel, bootstrap, identity, xdsTls, node, logLevels);
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
     * Stops as istio-agent stops the proxy ({@link TerminationDrain}): readiness fails and the listeners drain at once
     * (new connections refused, HTTP/1.1 responses carry {@code connection: close} and idle connections close, HTTP/2
     * gets GOAWAY, requests in flight finish), what is still open at the drain duration is closed. A sidecar drains its
     * inbound side only ({@code drain_listeners?inboundonly}): its outbound capture serves the app, new connections
     * included, until the exit. xDS keeps running until then (config still applies to what is served). The future
     * completes when the policy lets the process exit: what still serves closed (drained within what is left of the
     * duration), then xDS and the side ports. After {@link #drainNow}, the exit is at once, as the agent's.
     */
    public Future<Void> terminate(TerminationDrain policy) {
        boolean drainedBefore = drainRequested;
        TerminationDrain p = drainedBefore ? policy.immediate() : policy;
        LOG.infof("terminating: %s", drainedBefore ? "already drained (POST /drain), exiting at once" : p.describe());
        long deadline = System.nanoTime() + p.duration().toNanos();
        Future<Void> drained = drainedBefore ? Future.succeededFuture() : plane.drainInbound(p.duration());
        return p.await(plane.vertx(), plane::activeDownstreamConnections, drained)
                .compose(v -> plane.drainAndClose(java.time.Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))))
                .compose(v -> status.close()).compose(v -> admin.close()).onComplete(v -> {
                    if (ads != null) {
                        ads.close();
                    }
                    if (identity != null) {
                        identity.close();
                    }
                });
    }

    /**
     * istio-agent's {@code POST /drain} ({@code DrainNow}, what Istio's preStop hook of a native sidecar calls): readiness
     * fails and the inbound side drains as at termination (a router: every listener), what is still open after
     * {@code bound} closed, and the process keeps running, xDS included; the next SIGTERM exits at once.
     */
    public Future<Void> drainNow(java.time.Duration bound) {
        drainRequested = true;
        LOG.infof("draining on request (POST /drain): %s; the proxy exits at the next SIGTERM",
                plane.sidecar() ? "the inbound side drains, the outbound one keeps serving" : "the listeners drain");
        return plane.drainInbound(bound);
    }

    /**
     * This proxy's xDS node: its ID (Istio's {@code TYPE~IP~POD.NS~NS.svc.cluster.local}) and metadata: the gateway's own
     * fields ({@code NAMESPACE}, {@code NAME}, {@code NODE_TYPE}, {@code LABELS}), {@code CLUSTER_ID}, and what
     * istio-agent takes from the environment {@code env} ({@link NodeMetadata}: {@code ISTIO_META_*},
     * {@code ISTIO_METAJSON_*}). A malformed {@code ISTIO_METAJSON_*} value throws IllegalArgumentException.
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
        Struct fromEnv = NodeMetadata.fromEnvironment(env);
        Struct.Builder l = Struct.newBuilder();
        labels(config, env).forEach((k, v) -> l.putFields(k, Value.newBuilder().setStringValue(v).build()));
        // istio-agent's cluster is ISTIO_META_CLUSTER_ID (its only source); without it, the gateway's setting.
        String clusterId = fromEnv.getFieldsOrDefault("CLUSTER_ID", Value.getDefaultInstance()).getStringValue();
        Struct.Builder metaBuilder = fromEnv.toBuilder();
        // The proxy's version, as istio-agent sends ISTIO_VERSION (meshctl version counts the data plane by it).
        VERSION.ifPresent(v -> metaBuilder.putFields("ISTIO_VERSION", str(v)));
        Struct meta = metaBuilder
                .putFields("NAMESPACE", str(ns))
                .putFields("NAME", str(host))
                .putFields("CLUSTER_ID", str(clusterId.isEmpty() ? config.node().cluster() : clusterId))
                .putFields("NODE_TYPE", str(config.mode()))
                .putFields("LABELS", Value.newBuilder().setStructValue(l).build())
                .build();
        Node.Builder node = Node.newBuilder().setId(id).setCluster(workload(config) + "." + ns)
                .setUserAgentName("mesh-gateway").setMetadata(meta);
        VERSION.ifPresent(node::setUserAgentVersion);
        config.node().locality().filter(loc -> !loc.isBlank()).ifPresent(loc -> {
            String[] p = (loc.trim() + "//").split("/", -1);
            node.setLocality(io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion(p[0]).setZone(p[1])
                    .setSubZone(p[2]));
        });
        return node.build();
    }

    /**
     * The workload's labels in the node: {@code ISTIO_METAJSON_LABELS}, under {@code mesh.gateway.node.labels} (the
     * agent puts the pod's labels over the static ones); a router with neither is {@code istio=ingressgateway}.
     */
    static Map<String, String> labels(GatewayConfig config, Map<String, String> env) {
        Map<String, String> labels = NodeMetadata.labels(env);
        labels.putAll(config.node().labels());
        if (labels.isEmpty() && !sidecar(config)) {
            return Map.of("istio", "ingressgateway");
        }
        return labels;
    }

    static boolean sidecar(GatewayConfig config) {
        return "sidecar".equals(config.mode());
    }

    /** The workload name in metrics and the node's cluster: the canonical service, the app label, or the gateway's. */
    public static String workload(GatewayConfig config) {
        return workload(config, config.node().labels());
    }

    /** {@link #workload(GatewayConfig)} with these labels. */
    public static String workload(GatewayConfig config, Map<String, String> labels) {
        return config.canonicalService().filter(s -> !s.isBlank())
                .orElse(labels.getOrDefault("app", sidecar(config) ? "unknown" : "istio-ingressgateway"));
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
