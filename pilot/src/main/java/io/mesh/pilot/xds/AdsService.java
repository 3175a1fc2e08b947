package io.mesh.pilot.xds;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * ADS (SotW and delta), delegating the protocol to java-control-plane's service and adding what it lacks: a
 * cancelled stream is reported to the watcher (the library only cancels its watches), and the watcher can close
 * a stream whose client stopped reading.
 */
final class AdsService extends AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase {
    private final AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase delegate;
    private final PushWatcher watcher;

    AdsService(AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase delegate, PushWatcher watcher) {
        this.delegate = delegate;
        this.watcher = watcher;
    }

    @Override
    public StreamObserver<DiscoveryRequest> streamAggregatedResources(StreamObserver<DiscoveryResponse> out) {
        StreamObserver<DiscoveryRequest> in = delegate.streamAggregatedResources(out);
        hook(out, in);
        return in;
    }

    @Override
    public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(
            StreamObserver<DeltaDiscoveryResponse> out) {
        StreamObserver<DeltaDiscoveryRequest> in = delegate.deltaAggregatedResources(out);
        hook(out, in);
        return in;
    }

    private void hook(StreamObserver<?> out, StreamObserver<?> in) {
        Long streamId = watcher.takeOpeningStream();
        if (streamId == null || !(out instanceof ServerCallStreamObserver<?> call)) {
            return;
        }
        // Replaces the library's cancel handler, which only cancels watches; onError does that and also runs the
        // close callbacks, so the connection leaves /debug/syncz and pilot_xds.
        call.setOnCancelHandler(() -> in.onError(Status.CANCELLED.asException()));
        call.setOnReadyHandler(() -> watcher.onReady(streamId));
        watcher.registerTransport(streamId, new PushWatcher.Transport(
                () -> in.onError(Status.RESOURCE_EXHAUSTED.withDescription("client too slow; reconnect").asException()),
                call::isReady));
    }
}
