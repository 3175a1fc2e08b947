package io.mesh.telemetry.ingest;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** Ready once both OTLP receivers listen: before that, proxies' exports would be refused. */
@Readiness
@ApplicationScoped
public class OtlpReceiversReadiness implements HealthCheck {

    @Inject
    OtlpGrpcReceiver grpc;
    @Inject
    OtlpHttpReceiver http;

    @Override
    public HealthCheckResponse call() {
        int grpcPort = grpc.port();
        int httpPort = http.port();
        return HealthCheckResponse.named("otlp-receivers").status(grpcPort > 0 && httpPort > 0)
                .withData("grpcPort", grpcPort).withData("httpPort", httpPort).build();
    }
}
