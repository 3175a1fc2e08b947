package io.mesh.gateway.proxy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * Istio's standard request metrics (with Istio's label names, reporter "source" as an ingress gateway
 * reports) and the access log lines. Meters are looked up by a small key and cached, so a request adds to
 * existing meters without building tags.
 */
final class RequestLog {

    private static final Logger ACCESS = Logger.getLogger("io.mesh.gateway.access");
    private static final double[] DURATION_BUCKETS = {0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
        30000, 60000, 300000, 600000, 1800000, 3600000};
    private static final double[] BYTES_BUCKETS = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};

    /** {@code inbound}: a sidecar's inbound request (reporter "destination"); {@code peer}: the mTLS peer's SPIFFE ID or "". */
    /** {@code workload}: the peer's workload from the metadata exchange, or null. */
    private record Key(String cluster, int code, int flags, boolean grpc, String grpcStatus, boolean inbound, String peer,
            String authority, PeerWorkload workload, String upstreamPrincipal) {
    }

    /** A request's meters; each may be null (no registry, or a Telemetry dropped it), as its OTLP attributes. */
    private record Meters(Counter requests, DistributionSummary duration, DistributionSummary requestBytes,
            DistributionSummary responseBytes, io.opentelemetry.api.common.Attributes otlpRequests,
            io.opentelemetry.api.common.Attributes otlpDuration, io.opentelemetry.api.common.Attributes otlpRequestBytes,
            io.opentelemetry.api.common.Attributes otlpResponseBytes) {
    }

    /** The meters of requests of one kind ({@code key}) under a chain's stats overrides, with its expressions' values. */
    private record OverriddenKey(Key key, io.mesh.gateway.model.StatsOverrides stats, java.util.List<String> values) {
    }

    /**
     * At most this many label sets under stats overrides: upserted values can come from request headers, which a
     * client chooses; past the cap, new values are "unknown" (the registry cannot be grown without bound).
     */
    static final int MAX_OVERRIDDEN = 1024;
    private final Map<OverriddenKey, Meters> overridden = new ConcurrentHashMap<>();

    private final MeterRegistry registry;
    /** Null without a registry. */
    private final MeterRegistrations registrations;
    private final OwnWorkload own;
    private final String clusterId;
    /** This proxy's SPIFFE ID, or null without a mesh identity (yet). */
    private final java.util.function.Supplier<String> principalSource;
    private final boolean accessLog;
    private final OtlpReporter otlp;
    private final java.util.function.Function<String, String> clusterServices;
    private final Map<Key, Meters> meters = new ConcurrentHashMap<>();
    /**
     * The meters of the usual request (no downstream facts, no flags, not gRPC) by cluster, then by status code:
     * a lookup by a String whose hash is cached and a scan of a few codes, instead of a {@link Key} built and
     * hashed per request. Copied on write (rare); at most {@link #CODES_PER_CLUSTER} codes, the rest go by key.
     */
    private final Map<String, ByCode> plain = new ConcurrentHashMap<>();
    private static final int CODES_PER_CLUSTER = 8;

    private record ByCode(int[] codes, Meters[] meters) {
        Meters find(int code) {
            int[] c = codes;
            for (int i = 0; i < c.length; i++) {
                if (c[i] == code) {
                    return meters[i];
                }
            }
            return null;
        }

        ByCode with(int code, Meters m) {
            if (find(code) != null || codes.length >= CODES_PER_CLUSTER) {
                return this;
            }
            int[] c = java.util.Arrays.copyOf(codes, codes.length + 1);
            Meters[] ms = java.util.Arrays.copyOf(meters, meters.length + 1);
            c[codes.length] = code;
            ms[codes.length] = m;
            return new ByCode(c, ms);
        }
    }
    private static final int MAX_INBOUND_SERVICES = 64;
    private final java.util.Set<String> inboundServices = ConcurrentHashMap.newKeySet();

    /**
     * {@code clusterId}: Istio's cluster ID of this proxy ({@code Kubernetes} by default), the
     * {@code source_cluster} and, in a single-cluster mesh, the {@code destination_cluster} label.
     */
    /**
     * {@code own}: this proxy's workload, the labels of its side; {@code clusterServices}: a cluster's service from its
     * telemetry metadata, or null (see {@link #inboundService}).
     */
    RequestLog(MeterRegistry registry, OwnWorkload own, String clusterId, boolean accessLog,
            OtlpReporter otlp, java.util.function.Supplier<String> principal,
            java.util.function.Function<String, String> clusterServices) {
        this.clusterServices = clusterServices;
        this.principalSource = principal;
        this.registry = registry;
        this.registrations = registry == null ? null : new MeterRegistrations(registry);
        this.clusterId = clusterId;
        this.otlp = otlp;
        this.own = own;
        this.accessLog = accessLog;
    }

    /** Whether each request is written to the access log (which reads times the metrics do not need). */
    boolean accessLog() {
        return accessLog;
    }

    void record(ExchangeRecord ex) {
        long now = ex.endNanos != 0 ? ex.endNanos : System.nanoTime();
        double ms = (now - ex.startNanos()) / 1e6;
        int code = ex.status();
        String cluster = ex.clusterName() == null ? "unknown" : ex.clusterName();
        String ct = ex.requestHeader("content-type");
        boolean grpc = ct != null && ct.startsWith("application/grpc");
        // Never touch response.trailers() here: on HTTP/2 that would make Vert.x send trailers after the end.
        String grpcStatus = grpc ? ex.grpcStatus() : null;
        long received = ex.bytesReceived();
        long sent = ex.bytesSent();
        if (registry != null || otlp != null) {
            Downstream d = ex.downstream();
            int flags = ex.flags();
            // A sidecar's outbound request has the router's labels (its key has no downstream facts either).
            PeerWorkload workload = ex.peer();
            io.mesh.gateway.model.StatsOverrides stats = ex.stats;
            boolean usual = stats == null && (d == null || (!d.inbound() && d.peerPrincipal() == null)) && flags == 0
                    && !grpc && workload == null && ex.upstreamPrincipal == null;
            ByCode byCode = usual ? plain.get(cluster) : null;
            Meters m = byCode == null ? null : byCode.find(code);
            if (m == null) {
                boolean inbound = d != null && d.inbound();
                Key key = new Key(cluster, code, flags, grpc, grpcStatus == null ? "" : grpcStatus,
                        inbound, d == null || d.peerPrincipal() == null ? "" : d.peerPrincipal(),
                        inbound ? inboundService(cluster, ex.authority()) : "", knownPeer(workload),
                        inbound ? null : ex.upstreamPrincipal);
                if (stats != null) {
                    m = overridden(key, stats, stats.evaluate(new StatsAttributes.Request(ex, inbound)));
                } else {
                    m = meters.computeIfAbsent(key, this::create);
                }
                if (usual) {
                    Meters found = m;
                    plain.compute(cluster, (k, old) -> (old == null ? new ByCode(new int[0], new Meters[0]) : old).with(code, found));
                }
            }
            if (m.requests != null) {
                m.requests.increment();
            }
            if (m.duration != null) {
                m.duration.record(ms);
            }
            if (m.requestBytes != null) {
                m.requestBytes.record(received);
            }
            if (m.responseBytes != null) {
                m.responseBytes.record(sent);
            }
            if (otlp != null) {
                otlp.record(m.otlpRequests, m.otlpDuration, m.otlpRequestBytes, m.otlpResponseBytes, ms, received, sent);
            }
        }
        if (ex.span() != null) {
            otlp.end(ex, ex.span(), code, flagString(ex.flags()), cluster);
        }
        io.mesh.gateway.model.ChainTelemetry t = ex.telemetry;
        if (t == null ? accessLog : t.accessLog()) {
            writeLines(ex, t, new HttpLogValues(ex, code, ms, received, sent, ex.clusterName()));
        }
    }

    /**
     * The request's access log lines: without a chain's say, the gateway's own line (Istio's JSON labels); else one line
     * per access log of the chain whose filter (Envoy's CEL filter, over the attributes the stats overrides read) is
     * true or absent, in its format.
     */
    private static void writeLines(ExchangeRecord ex, io.mesh.gateway.model.ChainTelemetry t, HttpLogValues values) {
        if (t == null) {
            ACCESS.info(io.mesh.gateway.model.AccessLogFormat.ISTIO_JSON_FORMAT.render(values));
            return;
        }
        StatsAttributes.Request attributes = null;
        for (io.mesh.gateway.model.AccessLogEntry log : t.accessLogs()) {
            if (log.filter() != null) {
                if (attributes == null) {
                    attributes = new StatsAttributes.Request(ex, ex.downstream() != null && ex.downstream().inbound());
                }
                if (!log.filter().test(attributes)) {
                    continue;
                }
            }
            ACCESS.info(log.format().render(values));
        }
    }

    /**
     * The labels Istio's request and TCP metrics share: who reported (a sidecar's inbound side is the destination),
     * the source and destination workloads, principals and service, and the clusters. {@code peer} is the mTLS
     * peer's SPIFFE ID or ""; {@code workload} the peer's workload as the metadata exchange told it, or null: then
     * the peer's workload, app, version and canonical names are unknown (its namespace comes from its SPIFFE ID) and an
     * unknown canonical revision is "latest", as Istio's stats filter reports a peer without metadata.
     * {@code upstreamPrincipal}: outbound, the SPIFFE ID the upstream's TLS certificate verified, Istio's
     * {@code destination_principal} at the source (null: "unknown").
     */
    private java.util.LinkedHashMap<String, String> peerLabels(boolean inbound, String peer, PeerWorkload workload,
            String upstreamPrincipal, String host, String cluster, int flags) {
        String[] parts = host.split("\\.");
        java.util.LinkedHashMap<String, String> labels = new java.util.LinkedHashMap<>();
        labels.put("reporter", inbound ? "destination" : "source");
        String ownId = principalSource.get();
        String principal = ownId == null ? "unknown" : ownId;
        PeerWorkload other = workload != null ? workload : new PeerWorkload("unknown", inbound ? spiffePart(peer, "/ns/")
                : "unknown", "unknown", "unknown", "unknown", "latest", null);
        PeerWorkload source = inbound ? other : ownSide();
        PeerWorkload destination = inbound ? ownSide() : other;
        labels.put("source_workload", source.workload());
        labels.put("source_workload_namespace", source.namespace());
        labels.put("source_principal", inbound ? (peer.isEmpty() ? "unknown" : peer) : principal);
        labels.put("source_app", source.app());
        labels.put("source_version", source.version());
        labels.put("source_canonical_service", source.canonicalService());
        labels.put("source_canonical_revision", source.canonicalRevision());
        labels.put("source_cluster", source.cluster() != null ? source.cluster() : peer.isEmpty() ? "unknown" : clusterId);
        labels.put("destination_service", host);
        labels.put("destination_service_name", parts[0]);
        labels.put("destination_service_namespace", parts.length > 1 ? parts[1] : "unknown");
        labels.put("destination_workload", destination.workload());
        labels.put("destination_workload_namespace", destination.namespace());
        labels.put("destination_app", destination.app());
        labels.put("destination_version", destination.version());
        labels.put("destination_canonical_service", destination.canonicalService());
        labels.put("destination_canonical_revision", destination.canonicalRevision());
        labels.put("destination_principal", inbound ? principal : upstreamPrincipal != null ? upstreamPrincipal : "unknown");
        // Istio's cluster ID of the destination workload, not the Envoy cluster name (that is destination_service's
        // source): the peer's when it said, else this proxy's (pilot serves one cluster); no cluster (direct response,
        // no route) or an unknown one (NC) has no destination: "unknown", as Istio reports a missing peer.
        boolean noDestination = "unknown".equals(cluster) || (flags & (1 << ResponseFlag.NC.ordinal())) != 0;
        labels.put("destination_cluster", noDestination ? "unknown"
                : destination.cluster() != null ? destination.cluster() : clusterId);
        return labels;
    }

    /** This proxy's side of a request, in the labels' terms. */
    private PeerWorkload ownSide() {
        return new PeerWorkload(own.workload(), own.namespace(), own.app(), own.version(), own.canonicalService(),
                own.canonicalRevision(), clusterId);
    }

    private static final int MAX_PEERS = 256;
    private final java.util.Set<PeerWorkload> peers = ConcurrentHashMap.newKeySet();

    /**
     * {@code p}, or null once {@link #MAX_PEERS} other peers have labels: the exchange's headers come from clients, and a
     * client must not grow the registry without bound by sending new ones.
     */
    private PeerWorkload knownPeer(PeerWorkload p) {
        if (p == null || peers.contains(p)) {
            return p;
        }
        if (peers.size() >= MAX_PEERS) {
            return null;
        }
        peers.add(p);
        return p;
    }

    private record TcpKey(boolean inbound, String cluster, String peer, String service, PeerWorkload workload,
            String upstreamPrincipal, io.mesh.gateway.model.StatsOverrides stats, java.util.List<String> values) {
    }

    private final Map<TcpKey, TcpMeters> tcp = new ConcurrentHashMap<>();

    /**
     * The meters of a TCP connection through a tcp_proxy chain: {@code inbound} for a sidecar's inbound side (reporter
     * "destination"), {@code peer} the mTLS peer's SPIFFE ID or null, {@code service} the destination service's host
     * ("unknown" when the chain does not say), {@code workload} the peer's workload from the metadata exchange (null:
     * unknown; past {@link #MAX_PEERS} peers, unknown too), {@code upstreamPrincipal} outbound the SPIFFE ID the
     * upstream's certificate verified under (null: unknown). Null without a registry and OTLP.
     */
    TcpMeters tcpMeters(boolean inbound, String cluster, String peer, String service, PeerWorkload workload,
            String upstreamPrincipal) {
        return tcpMeters(inbound, cluster, peer, service, workload, upstreamPrincipal, null);
    }

    /** The same under a chain's stats overrides ({@code stats}: null for none), its expressions evaluated once here. */
    TcpMeters tcpMeters(boolean inbound, String cluster, String peer, String service, PeerWorkload workload,
            String upstreamPrincipal, io.mesh.gateway.model.StatsOverrides stats) {
        if (registry == null && otlp == null) {
            return null;
        }
        PeerWorkload known = knownPeer(workload);
        java.util.List<String> values = stats == null ? java.util.List.of()
                : stats.evaluate(new StatsAttributes.Connection(cluster, known, inbound, peer));
        TcpKey key = new TcpKey(inbound, cluster, peer == null ? "" : peer, service, known, upstreamPrincipal, stats, values);
        if (stats != null && !values.isEmpty() && !tcp.containsKey(key) && tcp.size() >= MAX_OVERRIDDEN) {
            key = new TcpKey(inbound, cluster, key.peer(), service, known, upstreamPrincipal, stats,
                    java.util.Collections.nCopies(values.size(), "unknown"));   // capped: see MAX_OVERRIDDEN
        }
        return tcp.computeIfAbsent(key, k -> {
            java.util.LinkedHashMap<String, String> labels = peerLabels(k.inbound(), k.peer(), k.workload(),
                    k.upstreamPrincipal(), k.service(), k.cluster(), 0);
            labels.put("request_protocol", "tcp");
            labels.put("response_flags", "-");
            labels.put("connection_security_policy", k.inbound() ? (k.peer().isEmpty() ? "none" : "mutual_tls") : "unknown");
            Map<String, String> opened = labelsOf(k.stats(), io.mesh.gateway.model.StatsOverrides.Metric.TCP_OPENED, labels, k.values());
            Map<String, String> closed = labelsOf(k.stats(), io.mesh.gateway.model.StatsOverrides.Metric.TCP_CLOSED, labels, k.values());
            Map<String, String> received = labelsOf(k.stats(), io.mesh.gateway.model.StatsOverrides.Metric.TCP_RECEIVED, labels, k.values());
            Map<String, String> sent = labelsOf(k.stats(), io.mesh.gateway.model.StatsOverrides.Metric.TCP_SENT, labels, k.values());
            OtlpReporter.Tcp viaOtlp = otlp == null ? null : new OtlpReporter.Tcp(otlp, attributes(opened),
                    attributes(closed), attributes(received), attributes(sent));
            if (registry == null) {
                return new TcpMeters(null, null, null, null, viaOtlp);
            }
            return new TcpMeters(registrations.counter("istio_tcp_connections_opened", "TCP connections opened", opened),
                    registrations.counter("istio_tcp_connections_closed", "TCP connections closed", closed),
                    registrations.counter("istio_tcp_received_bytes", "Bytes received from the downstream", received),
                    registrations.counter("istio_tcp_sent_bytes", "Bytes sent to the downstream", sent),
                    viaOtlp);
        });
    }

    /** A metric's labels under {@code stats} (null: the standard ones), or null when it is dropped. */
    private static Map<String, String> labelsOf(io.mesh.gateway.model.StatsOverrides stats,
            io.mesh.gateway.model.StatsOverrides.Metric metric, Map<String, String> standard, java.util.List<String> values) {
        return stats == null ? standard : stats.labels(metric, standard, values);
    }

    private io.opentelemetry.api.common.Attributes attributes(Map<String, String> labels) {
        return labels == null ? null : OtlpReporter.attributes(labels);
    }

    /** The meters of {@code key}'s requests under a chain's stats overrides, with these expression values. */
    private Meters overridden(Key key, io.mesh.gateway.model.StatsOverrides stats, java.util.List<String> values) {
        OverriddenKey ok = new OverriddenKey(key, stats, values);
        Meters m = overridden.get(ok);
        if (m != null) {
            return m;
        }
        if (overridden.size() >= MAX_OVERRIDDEN) {
            ok = new OverriddenKey(key, stats, java.util.Collections.nCopies(values.size(), "unknown"));
        }
        return overridden.computeIfAbsent(ok, k -> {
            Map<String, String> standard = requestLabels(k.key());
            Map<String, String> count = k.stats().labels(io.mesh.gateway.model.StatsOverrides.Metric.REQUESTS, standard, k.values());
            Map<String, String> time = k.stats().labels(io.mesh.gateway.model.StatsOverrides.Metric.DURATION, standard, k.values());
            Map<String, String> in = k.stats().labels(io.mesh.gateway.model.StatsOverrides.Metric.REQUEST_BYTES, standard, k.values());
            Map<String, String> out = k.stats().labels(io.mesh.gateway.model.StatsOverrides.Metric.RESPONSE_BYTES, standard, k.values());
            return meters(count, time, in, out);
        });
    }

    private Meters create(Key k) {
        Map<String, String> labels = requestLabels(k);
        return meters(labels, labels, labels, labels);
    }

    /** Istio's standard labels of a request of kind {@code k}. */
    private Map<String, String> requestLabels(Key k) {
        // Inbound, the service is the one the caller addressed (its authority); outbound, the cluster's host.
        String host = k.inbound() ? k.authority() : serviceHost(k.cluster());
        java.util.LinkedHashMap<String, String> labels = peerLabels(k.inbound(), k.peer(), k.workload(), k.upstreamPrincipal(),
                host, k.cluster(), k.flags());
        labels.put("request_protocol", k.grpc() ? "grpc" : "http");
        labels.put("response_code", Integer.toString(k.code()));
        labels.put("grpc_response_status", k.grpcStatus());
        labels.put("response_flags", flagString(k.flags()));
        // Istio reports the policy on the destination side only; the source side says "unknown".
        labels.put("connection_security_policy", k.inbound() ? (k.peer().isEmpty() ? "none" : "mutual_tls") : "unknown");
        return labels;
    }

    /** The four request meters, each with its labels (null: not recorded); one set of labels is built into tags once. */
    private Meters meters(Map<String, String> count, Map<String, String> time, Map<String, String> in,
            Map<String, String> out) {
        java.util.IdentityHashMap<Map<String, String>, io.opentelemetry.api.common.Attributes> attrs =
                new java.util.IdentityHashMap<>();
        java.util.IdentityHashMap<Map<String, String>, Tags> tags = new java.util.IdentityHashMap<>();
        java.util.function.Function<Map<String, String>, io.opentelemetry.api.common.Attributes> a = l -> l == null
                || otlp == null ? null : attrs.computeIfAbsent(l, OtlpReporter::attributes);
        java.util.function.Function<Map<String, String>, Tags> t = l -> tags.computeIfAbsent(l, MeterRegistrations::tags);
        if (registry == null) {
            return new Meters(null, null, null, null, a.apply(count), a.apply(time), a.apply(in), a.apply(out));
        }
        return new Meters(
                count == null ? null : registrations.counter("istio_requests", "Requests through the gateway", count),
                registrations.summary("istio_request_duration_milliseconds", "Request duration in ms", DURATION_BUCKETS, time, t),
                registrations.summary("istio_request_bytes", "Request sizes", BYTES_BUCKETS, in, t),
                registrations.summary("istio_response_bytes", "Response sizes", BYTES_BUCKETS, out, t),
                a.apply(count), a.apply(time), a.apply(in), a.apply(out));
    }

    /** "ns" from spiffe://td/ns/NS/sa/SA, or "unknown". */
    static String spiffePart(String spiffe, String marker) {
        int i = spiffe.indexOf(marker);
        if (i < 0) {
            return "unknown";
        }
        int start = i + marker.length();
        int end = spiffe.indexOf('/', start);
        return end < 0 ? spiffe.substring(start) : spiffe.substring(start, end);
    }

    /**
     * The service of an inbound request, as Istio's stats filter finds it: the first service in its cluster's telemetry
     * metadata (the services this workload serves on that port), else the one its authority names.
     */
    private String inboundService(String cluster, String authority) {
        String s = clusterServices.apply(cluster);
        return s != null ? s : inboundService(authority);
    }

    /** The service of an inbound TCP connection: its cluster's, from the telemetry metadata, else "unknown". */
    String inboundTcpService(String cluster) {
        String s = clusterServices.apply(cluster);
        return s != null ? s : "unknown";
    }

    /**
     * The service an inbound request addressed, from its authority. The Host header is the caller's to choose,
     * so the distinct values that become metric labels are capped: past the cap, and for names that are not
     * service names, the label is "unknown" (a caller cannot grow the registry without bound).
     */
    private String inboundService(String authority) {
        String host = hostOnly(authority);
        if (!host.contains(".")) {
            return "unknown";
        }
        if (inboundServices.contains(host)) {
            return host;
        }
        if (inboundServices.size() >= MAX_INBOUND_SERVICES) {
            return "unknown";
        }
        inboundServices.add(host);
        return host;
    }

    private static String hostOnly(String authority) {
        int colon = authority.lastIndexOf(':');
        return colon > 0 && authority.indexOf(']') < colon ? authority.substring(0, colon) : authority;
    }

    /** Istio cluster names look like {@code outbound|80|v1|reviews.default.svc.cluster.local}. */
    static String serviceHost(String cluster) {
        int bar = cluster.lastIndexOf('|');
        return bar >= 0 ? cluster.substring(bar + 1) : cluster;
    }

    static String flagString(int flags) {
        if (flags == 0) {
            return "-";
        }
        StringBuilder sb = new StringBuilder();
        for (ResponseFlag f : ResponseFlag.values()) {
            if ((flags & (1 << f.ordinal())) != 0) {
                if (sb.length() > 0) {
                    sb.append(',');
                }
                sb.append(f.name());
            }
        }
        return sb.toString();
    }

}
