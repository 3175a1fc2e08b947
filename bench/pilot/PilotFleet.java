// bench/pilot/PilotFleet.java: N sidecar-like ADS clients as gRPC streams in one process (run by bench/pilot.sh).
//
// Each client opens one ADS stream (many streams share a few HTTP/2 connections), subscribes like a sidecar
// (CDS and LDS wildcard, then EDS for every cluster and RDS for every route it is told about) and ACKs every
// response. The fleet then drives the measurements itself, since it is the one that knows when each client ACKs:
//   1. convergence: rewrite the VirtualService of svc-0 (every sidecar's RDS changes); time until each client
//      has ACKed its new RDS, per client; ROUNDS rounds;
//   2. EDS push: rewrite the endpoints of svc-1 only; time until each client has ACKed its new EDS.
// WARMUPS unmeasured changes of each kind come first (printed as warm-up). Each client decodes what it needs: version,
// nonce and type of every response, and the resources of CDS and LDS (their names); the bytes of RDS and EDS
// resources arrive but are skipped in place.
// Prints one line per measurement and, last, "fleet convergence_p50_ms=.. convergence_p99_ms=.. eds_p50_ms=..
// eds_p99_ms=.. sync_s=..".
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import com.google.protobuf.Any;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.InputStream;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

public class PilotFleet {
    static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
    static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    static final String CLUSTER = CDS;
    static final String LISTENER = LDS;

    /**
     * A DiscoveryResponse as the fleet reads it: version, nonce and type always; the resources only for CDS and
     * LDS, where the client needs their names to subscribe to EDS and RDS. Every byte still arrives; skipping the
     * copy of large RDS/EDS payloads into resource objects keeps the load generator from stealing pilot's CPU.
     */
    record Response(String version, String nonce, String typeUrl, List<Any> resources) {
    }

    static final MethodDescriptor.Marshaller<Response> RESPONSE = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(Response value) {
            throw new UnsupportedOperationException("the fleet only receives responses");
        }

        @Override
        public Response parse(InputStream in) {
            // Streamed from gRPC's own buffers: skipped resources are never copied (the stream skips in place).
            try {
                String version = "", nonce = "", type = "";
                List<Any> parsed = new ArrayList<>();
                CodedInputStream cis = CodedInputStream.newInstance(in);
                cis.setSizeLimit(Integer.MAX_VALUE);
                for (int tag = cis.readTag(); tag != 0; tag = cis.readTag()) {
                    switch (WireFormat.getTagFieldNumber(tag)) {
                        case 1 -> version = cis.readStringRequireUtf8();
                        case 2 -> resource(cis, parsed);
                        case 4 -> type = cis.readStringRequireUtf8();
                        case 5 -> nonce = cis.readStringRequireUtf8();
                        default -> cis.skipField(tag);
                    }
                }
                return new Response(version, nonce, type, parsed);
            } catch (IOException e) {
                throw new IllegalStateException("unreadable DiscoveryResponse", e);
            }
        }

        /** An Any: kept when it is a Cluster or Listener (their names drive EDS and RDS), else skipped. */
        private void resource(CodedInputStream cis, List<Any> parsed) throws IOException {
            int limit = cis.pushLimit(cis.readRawVarint32());
            Any.Builder any = null;
            for (int tag = cis.readTag(); tag != 0; tag = cis.readTag()) {
                if (WireFormat.getTagFieldNumber(tag) == 1) {
                    String typeUrl = cis.readStringRequireUtf8();
                    if (!typeUrl.equals(CLUSTER) && !typeUrl.equals(LISTENER)) {
                        break;
                    }
                    any = Any.newBuilder().setTypeUrl(typeUrl);
                } else if (WireFormat.getTagFieldNumber(tag) == 2 && any != null) {
                    any.setValue(cis.readBytes());
                } else {
                    cis.skipField(tag);
                }
            }
            cis.skipRawBytes(cis.getBytesUntilLimit());
            cis.popLimit(limit);
            if (any != null) {
                parsed.add(any.build());
            }
        }
    };

    static final MethodDescriptor<DiscoveryRequest, Response> ADS = MethodDescriptor.<DiscoveryRequest, Response>newBuilder()
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .setFullMethodName(AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod().getFullMethodName())
            .setRequestMarshaller(ProtoUtils.marshaller(DiscoveryRequest.getDefaultInstance()))
            .setResponseMarshaller(RESPONSE).build();

    /** One sidecar: its stream, and when it last ACKed each type. */
    static final class Client implements StreamObserver<Response> {
        final int id;
        final Node node;
        StreamObserver<DiscoveryRequest> out;
        final Map<String, List<String>> names = new ConcurrentHashMap<>();
        final Map<String, AtomicLong> ackedAt = new ConcurrentHashMap<>();
        final Map<String, String> version = new ConcurrentHashMap<>();
        final CountDownLatch synced;
        volatile boolean counted;

        Client(int id, CountDownLatch synced) {
            this.id = id;
            this.synced = synced;
            this.node = Node.newBuilder().setId("sidecar~10.200." + (id / 250) + "." + (id % 250)
                    + "~fleet-" + id + ".bench~bench.svc.cluster.local")
                    .setMetadata(Struct.newBuilder().putFields("NAMESPACE", Value.newBuilder()
                            .setStringValue("bench").build())).build();
            for (String t : List.of(CDS, EDS, LDS, RDS)) {
                ackedAt.put(t, new AtomicLong());
            }
        }

        void start(ManagedChannel ch) {
            out = ClientCalls.asyncBidiStreamingCall(ch.newCall(ADS, CallOptions.DEFAULT), this);
            send(CDS, List.of(), "", "");
            send(LDS, List.of(), "", "");
        }

        synchronized void send(String type, List<String> n, String v, String nonce) {
            out.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type).addAllResourceNames(n)
                    .setVersionInfo(v).setResponseNonce(nonce).build());
        }

        @Override
        public void onNext(Response r) {
            try {
                String type = r.typeUrl();
                List<String> subscribe = null;
                if (type.equals(CDS)) {
                    List<String> clusters = new ArrayList<>();
                    for (var any : r.resources()) {
                        Cluster c = any.unpack(Cluster.class);
                        if (c.getType() == Cluster.DiscoveryType.EDS) {
                            clusters.add(c.getName());
                        }
                    }
                    subscribe = clusters;
                } else if (type.equals(LDS)) {
                    List<String> routes = new ArrayList<>();
                    for (var any : r.resources()) {
                        Listener l = any.unpack(Listener.class);
                        for (var fc : l.getFilterChainsList()) {
                            for (var f : fc.getFiltersList()) {
                                if (f.getTypedConfig().is(HttpConnectionManager.class)) {
                                    HttpConnectionManager h = f.getTypedConfig().unpack(HttpConnectionManager.class);
                                    if (h.hasRds()) {
                                        routes.add(h.getRds().getRouteConfigName());
                                    }
                                }
                            }
                        }
                    }
                    subscribe = routes;
                }
                List<String> n = type.equals(CDS) || type.equals(LDS) ? List.of() : names.getOrDefault(type, List.of());
                send(type, n, r.version(), r.nonce());
                version.put(type, r.version());
                ackedAt.get(type).set(System.nanoTime());
                if (subscribe != null) {
                    String dep = type.equals(CDS) ? EDS : RDS;
                    List<String> sorted = new ArrayList<>(subscribe);
                    Collections.sort(sorted);
                    if (!sorted.equals(names.get(dep))) {
                        names.put(dep, sorted);
                        send(dep, sorted, version.getOrDefault(dep, ""), "");
                    }
                }
                if (!counted && version.size() == 4) {
                    counted = true;
                    synced.countDown();
                }
            } catch (Exception e) {
                System.err.println("client " + id + ": " + e);
            }
        }

        @Override
        public void onError(Throwable t) {
            System.err.println("client " + id + " stream error: " + t);
        }

        @Override
        public void onCompleted() {
        }
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("generate")) {
            generate(Path.of(args[1]), Integer.parseInt(args[2]));
            return;
        }
        int port = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        Path configDir = Path.of(args[2]);
        int rounds = Integer.parseInt(args[3]);
        int warmups = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        int connections = Math.max(1, Math.min(16, n / 100));
        List<ManagedChannel> channels = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            channels.add(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
                    .maxInboundMessageSize(256 * 1024 * 1024).flowControlWindow(8 * 1024 * 1024).build());
        }
        CountDownLatch synced = new CountDownLatch(n);
        List<Client> clients = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Client c = new Client(i, synced);
            clients.add(c);
            c.start(channels.get(i % connections));
        }
        if (!synced.await(600, TimeUnit.SECONDS)) {
            System.out.println("fleet error: only " + (n - synced.getCount()) + " of " + n + " clients synced");
            System.exit(1);
        }
        double syncS = (System.nanoTime() - t0) / 1e9;
        System.out.printf("synced %d clients in %.1f s%n", n, syncS);
        // Tell the script the fleet is connected and idle (it measures heap now), then wait for its go.
        System.out.println("READY");
        System.out.flush();
        new java.io.BufferedReader(new java.io.InputStreamReader(System.in)).readLine();
        // The fleet's own CPU during the measured rounds: it shares the cores with pilot, so it is reported.
        var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        long cpu0 = os.getProcessCpuTime();
        long wall0 = System.nanoTime();

        // Changes of each kind first, timed and printed but not counted: the first VirtualService changes run code
        // paths the initial sync did not, and C2 still compiles them (a profile of the rounds after one warm-up
        // change showed a third of pilot's CPU in the JIT compiler). The measured rounds are the steady state of a
        // running pilot.
        System.out.println("warm-up (not counted):");
        for (int w = 0; w < warmups; w++) {
            int version = rounds + w;
            int subnet = 100 + w % 100;
            measure(clients, RDS, () -> write(configDir, "vs-0.yaml", virtualService(version)));
            measure(clients, EDS, () -> write(configDir, "svc-1.yaml", serviceEntry(1, 5, subnet)));
        }
        System.out.println("measured:");
        List<Double> convergence = new ArrayList<>();
        List<Double> eds = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            int round = r;
            convergence.addAll(measure(clients, RDS, () -> write(configDir, "vs-0.yaml", virtualService(round))));
            eds.addAll(measure(clients, EDS, () -> write(configDir, "svc-1.yaml",
                    serviceEntry(1, 5, 20 + round))));
        }
        double cpuS = (os.getProcessCpuTime() - cpu0) / 1e9;
        double wallS = (System.nanoTime() - wall0) / 1e9;
        System.out.printf("fleet convergence_p50_ms=%.0f convergence_p99_ms=%.0f eds_p50_ms=%.0f eds_p99_ms=%.0f "
                + "sync_s=%.1f fleet_cpu_s=%.1f measure_wall_s=%.1f%n", pct(convergence, 50), pct(convergence, 99),
                pct(eds, 50), pct(eds, 99), syncS, cpuS, wallS);
        System.exit(0);
    }

    /** Makes the change at t0, then waits until every client has ACKed a response of that type after t0. */
    static List<Double> measure(List<Client> clients, String type, ThrowingRunnable change) throws Exception {
        long t0 = System.nanoTime();
        change.run();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(120);
        List<Double> out = new ArrayList<>();
        for (Client c : clients) {
            while (c.ackedAt.get(type).get() < t0) {
                if (System.nanoTime() > deadline) {
                    System.out.println("timeout waiting for client " + c.id);
                    return out;
                }
                Thread.sleep(1); // the load generator polls its own clients; pilot is not involved
            }
            out.add((c.ackedAt.get(type).get() - t0) / 1e6);
        }
        // The first client's time is the pipeline before the fan-out (debounce, snapshot, generation, first send).
        System.out.printf("%s change: first %.0f ms, p50 %.0f ms, p99 %.0f ms, max %.0f ms%n",
                type.substring(type.lastIndexOf('.') + 1), pct(out, 0), pct(out, 50), pct(out, 99), pct(out, 100));
        return out;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    static double pct(List<Double> values, int p) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(values);
        Collections.sort(s);
        int i = (int) Math.ceil(p / 100.0 * s.size()) - 1;
        return s.get(Math.max(0, Math.min(s.size() - 1, i)));
    }

    static void write(Path dir, String file, String yaml) throws Exception {
        Path tmp = dir.resolve("." + file + ".tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, dir.resolve(file), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static String serviceEntry(int i, int endpoints, int subnet) {
        StringBuilder eps = new StringBuilder();
        for (int e = 0; e < endpoints; e++) {
            eps.append("  - {address: 10.").append(subnet).append('.').append(i / 250).append('.')
                    .append(e * 50 + i % 50).append("}\n");
        }
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: svc-%d, namespace: bench}
                spec:
                  hosts: [svc-%d.bench.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  resolution: STATIC
                  endpoints:
                %s""".formatted(i, i, eps);
    }

    static String virtualService(int round) {
        int w = 10 + (round % 8) * 10;
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: svc-0, namespace: bench}
                spec:
                  hosts: [svc-0]
                  http:
                  - route:
                    - destination: {host: svc-0}
                      weight: %d
                    - destination: {host: svc-1}
                      weight: %d
                """.formatted(w, 100 - w);
    }

    /** Writes the initial config: M services with 5 endpoints each, and the VirtualService of svc-0. */
    static void generate(Path dir, int m) throws Exception {
        for (int i = 0; i < m; i++) {
            write(dir, "svc-" + i + ".yaml", serviceEntry(i, 5, 10));
        }
        write(dir, "vs-0.yaml", virtualService(99));
    }
}
