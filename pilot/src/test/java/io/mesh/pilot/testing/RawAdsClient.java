package io.mesh.pilot.testing;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A minimal ADS client built on the Envoy api stubs, SotW or delta, for what grpc-java cannot do: send a NACK on
 * purpose, speak delta, and observe exactly which responses arrive.
 */
public final class RawAdsClient implements AutoCloseable {
    private final ManagedChannel channel;
    private final BlockingQueue<DiscoveryResponse> sotw = new LinkedBlockingQueue<>();
    private final BlockingQueue<DeltaDiscoveryResponse> delta = new LinkedBlockingQueue<>();
    private StreamObserver<DiscoveryRequest> sotwOut;
    private StreamObserver<DeltaDiscoveryRequest> deltaOut;
    public Node node;
    /** The stream's error, if the server ended it with one. */
    public volatile Throwable error;

    public RawAdsClient(int port, String nodeId, String generator) {
        this(NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build(), nodeId, generator);
    }

    public RawAdsClient(ManagedChannel channel, String nodeId, String generator) {
        this.channel = channel;
        Struct.Builder md = Struct.newBuilder().putFields("NAMESPACE", Value.newBuilder().setStringValue("demo").build());
        if (generator != null) {
            md.putFields("GENERATOR", Value.newBuilder().setStringValue(generator).build());
        }
        node = Node.newBuilder().setId(nodeId).setMetadata(md).build();
    }

    /**
     * A sidecar of pod {@code podName} at {@code ip} in {@code namespace} (its node id and NAMESPACE metadata, as the
     * gateway sends them), with its SotW stream open.
     */
    public static RawAdsClient sidecar(int port, String ip, String podName, String namespace) {
        RawAdsClient c = new RawAdsClient(port, "sidecar~" + ip + "~" + podName + "." + namespace + "~" + namespace
                + ".svc.cluster.local", null);
        c.node = c.node.toBuilder().setMetadata(c.node.getMetadata().toBuilder().putFields("NAMESPACE",
                Value.newBuilder().setStringValue(namespace).build())).build();
        return c.openSotw();
    }

    /** Opens SotW with node metadata LABELS (how a router says which Gateways select it). */
    public RawAdsClient openSotwWithLabels(Struct labels) {
        node = node.toBuilder().setMetadata(node.getMetadata().toBuilder()
                .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())).build();
        return openSotw();
    }

    public RawAdsClient openSotw() {
        sotwOut = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new Collect<>(sotw, this));
        return this;
    }

    public RawAdsClient openDelta() {
        deltaOut = AggregatedDiscoveryServiceGrpc.newStub(channel).deltaAggregatedResources(new Collect<>(delta, this));
        return this;
    }

    public void request(String typeUrl, List<String> names, String version, String nonce, String error) {
        DiscoveryRequest.Builder r = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl)
                .addAllResourceNames(names).setVersionInfo(version).setResponseNonce(nonce);
        if (error != null) {
            r.setErrorDetail(Status.newBuilder().setCode(3).setMessage(error));
        }
        sotwOut.onNext(r.build());
    }

    /** ACKs a response: same names, its version and nonce. */
    public void ack(DiscoveryResponse r, List<String> names) {
        request(r.getTypeUrl(), names, r.getVersionInfo(), r.getNonce(), null);
    }

    public void deltaRequest(DeltaDiscoveryRequest r) {
        deltaOut.onNext(r);
    }

    public DiscoveryResponse next(Duration timeout) throws InterruptedException {
        return sotw.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * The next response of {@code typeUrl} within 10 s, ACKed with {@code names} (other responses on the stream are
     * ACKed with none and skipped); fails the test when none comes.
     */
    public DiscoveryResponse nextOf(String typeUrl, List<String> names) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            DiscoveryResponse r = next(Duration.ofMillis(500));
            if (r != null) {
                ack(r, r.getTypeUrl().equals(typeUrl) ? names : List.of());
                if (r.getTypeUrl().equals(typeUrl)) {
                    return r;
                }
            }
        }
        throw new AssertionError("no response of " + typeUrl);
    }

    public DeltaDiscoveryResponse nextDelta(Duration timeout) throws InterruptedException {
        return delta.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Responses that arrived and were not taken yet. */
    public int pendingSotw() {
        return sotw.size();
    }

    @Override
    public void close() {
        if (sotwOut != null) {
            sotwOut.onCompleted();
        }
        if (deltaOut != null) {
            deltaOut.onCompleted();
        }
        channel.shutdownNow();
    }

    private static final class Collect<T> implements StreamObserver<T> {
        private final BlockingQueue<T> queue;
        private final RawAdsClient owner;

        Collect(BlockingQueue<T> queue, RawAdsClient owner) {
            this.queue = queue;
            this.owner = owner;
        }

        @Override
        public void onNext(T value) {
            queue.add(value);
        }

        @Override
        public void onError(Throwable t) {
            owner.error = t;
        }

        @Override
        public void onCompleted() {
        }
    }
}
