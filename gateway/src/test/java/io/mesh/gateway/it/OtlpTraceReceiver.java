package io.mesh.gateway.it;

import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * An OTLP/gRPC trace receiver on a free port (OpenTelemetry's TraceService over grpc-java) that keeps every span it is
 * sent, and an OpenTelemetry SDK whose OTLP/gRPC exporter sends to it: spans cross the real OTLP wire, as they do from
 * the gateway to telemetry.
 */
final class OtlpTraceReceiver implements AutoCloseable {

    final List<Span> spans = new CopyOnWriteArrayList<>();
    private final Server server;
    final OpenTelemetrySdk sdk;

    OtlpTraceReceiver() throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new TraceServiceGrpc.TraceServiceImplBase() {
                    @Override
                    public void export(ExportTraceServiceRequest request,
                            StreamObserver<ExportTraceServiceResponse> response) {
                        request.getResourceSpansList().forEach(rs -> rs.getScopeSpansList()
                                .forEach(ss -> spans.addAll(ss.getSpansList())));
                        response.onNext(ExportTraceServiceResponse.getDefaultInstance());
                        response.onCompleted();
                    }
                }).build().start();
        sdk = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider.builder()
                .addSpanProcessor(SimpleSpanProcessor.create(OtlpGrpcSpanExporter.builder()
                        .setEndpoint("http://127.0.0.1:" + server.getPort()).build())).build()).build();
    }

    /** A span's string attributes, by key. */
    static Map<String, String> attributes(Span span) {
        Map<String, String> out = new LinkedHashMap<>();
        for (KeyValue kv : span.getAttributesList()) {
            out.put(kv.getKey(), kv.getValue().getStringValue());
        }
        return out;
    }

    @Override
    public void close() throws InterruptedException {
        sdk.close();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
