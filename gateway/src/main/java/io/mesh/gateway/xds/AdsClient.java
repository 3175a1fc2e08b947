package io.mesh.gateway.xds;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.mesh.common.concurrent.DaemonThreads;
import io.mesh.gateway.model.GatewaySnapshot;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The ADS stream to pilot (state of the world, over plaintext gRPC or mutual TLS). All protocol work happens on one
 * thread, which is also the gRPC callback executor, so {@link XdsState} needs no locks. When the stream
 * breaks it reconnects with exponential backoff and full jitter and resubscribes with the last accepted
 * versions; meanwhile the data plane keeps serving the last applied snapshot.
 */
public final class AdsClient implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(AdsClient.class);

    private final String target;
    private final XdsState state;
    private final Consumer<GatewaySnapshot> apply;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("xds-client"));
    private ManagedChannel channel;
    private StreamObserver<DiscoveryRequest> requests;
    private int failures;
    private volatile boolean connected;
    private volatile boolean closed;
    private volatile long reconnects;
    private volatile String lastNack;

    private final io.netty.handler.ssl.SslContext tls;

    public AdsClient(String target, XdsState state, Consumer<GatewaySnapshot> apply, Duration initialBackoff,
            Duration maxBackoff) {
        this(target, state, apply, initialBackoff, maxBackoff, null);
    }

    /** {@code tls}: the client context for pilot's mutual-TLS port (the workload identity), or null for plaintext. */
    public AdsClient(String target, XdsState state, Consumer<GatewaySnapshot> apply, Duration initialBackoff,
            Duration maxBackoff, io.netty.handler.ssl.SslContext tls) {
        this.tls = tls;
        this.target = target;
        this.state = state;
        this.apply = apply;
        this.initialBackoff = initialBackoff;
        this.maxBackoff = maxBackoff;
    }

    public void start() {
        NettyChannelBuilder b = NettyChannelBuilder.forTarget(target).executor(thread).keepAliveTime(30, TimeUnit.SECONDS);
        channel = (tls == null ? b.usePlaintext() : b.sslContext(tls)).build();
        thread.execute(this::connect);
    }

    public boolean connected() {
        return connected;
    }

    public long reconnects() {
        return reconnects;
    }

    public String lastNack() {
        return lastNack;
    }

    public XdsState state() {
        return state;
    }

    /** Runs a read of the protocol state on the client's thread. */
    public <T> T read(java.util.function.Supplier<T> reader) {
        try {
            return thread.submit(reader::get).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("xDS client busy", e);
        }
    }

    private void connect() {
        if (closed) {
            return;
        }
        StreamObserver<DiscoveryResponse> responses = new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse resp) {
                onResponse(this, resp);
            }

            @Override
            public void onError(Throwable t) {
                onBroken(this, t.getMessage());
            }

            @Override
            public void onCompleted() {
                onBroken(this, "stream closed by server");
            }
        };
        current = responses;
        if (failures > 0) {
            // This client's jittered backoff is the one that paces reconnects: without this, gRPC's own connect
            // backoff (up to 2 minutes) failed the stream at once while pilot was already back, and the failure
            // doubled the next wait; after a pilot restart the gateway then took many seconds to resync.
            channel.resetConnectBackoff();
        }
        requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(responses);
        for (DiscoveryRequest r : state.subscribeAll()) {
            requests.onNext(r);
        }
    }

    private Object current;

    private void onResponse(Object stream, DiscoveryResponse resp) {
        if (stream != current || closed) {
            return;
        }
        if (!connected) {
            connected = true;
            failures = 0;
            LOG.infof("xDS connected to %s", target);
        }
        XdsState.Outcome out = state.onResponse(resp);
        if (out.nackDetail() != null) {
            lastNack = out.nackDetail();
            LOG.warnf("xDS NACK %s version %s: %s", shortType(resp.getTypeUrl()), resp.getVersionInfo(), out.nackDetail());
        } else {
            LOG.debugf("xDS ACK %s version %s (%d resources)", shortType(resp.getTypeUrl()), resp.getVersionInfo(),
                    resp.getResourcesCount());
        }
        if (out.snapshot() != null) {
            try {
                apply.accept(out.snapshot());
            } catch (RuntimeException e) {
                LOG.errorf(e, "applying xDS snapshot failed");
            }
        }
        String nackKey = out.nackDetail() == null ? null : resp.getTypeUrl() + "@" + resp.getVersionInfo();
        if (nackKey != null && nackKey.equals(lastNackKey)) {
            // A server that answers a NACK with the same config again (SimpleCache does) would spin; slow it down.
            StreamObserver<DiscoveryRequest> held = requests;
            thread.schedule(() -> {
                if (held == requests) {
                    out.requests().forEach(held::onNext);
                }
            }, 1, TimeUnit.SECONDS);
            return;
        }
        lastNackKey = nackKey;
        for (DiscoveryRequest r : out.requests()) {
            requests.onNext(r);
        }
    }

    private String lastNackKey;

    private void onBroken(Object stream, String why) {
        if (stream != current || closed) {
            return;
        }
        current = null;
        connected = false;
        failures++;
        reconnects++;
        long cap = Math.min(maxBackoff.toMillis(), initialBackoff.toMillis() << Math.min(16, failures - 1));
        long delay = ThreadLocalRandom.current().nextLong(cap / 2, cap + 1);
        LOG.infof("xDS stream to %s broken (%s); reconnecting in %d ms, serving the last config", target, why, delay);
        thread.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    private static String shortType(String t) {
        return t.substring(t.lastIndexOf('.') + 1);
    }

    /** Ends the stream and the channel; a second call changes nothing (the proxy closes it at exit, and stop() may too). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        connected = false;
        thread.execute(() -> {
            if (requests != null) {
                try {
                    requests.onCompleted();
                } catch (RuntimeException ignored) {
                    // the stream is already gone
                }
            }
        });
        if (channel != null) {
            channel.shutdownNow();
        }
        thread.shutdown();
    }
}
