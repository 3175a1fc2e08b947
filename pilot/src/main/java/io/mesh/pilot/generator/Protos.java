package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.type.v3.FractionalPercent;

/** Small proto conversions the generators share. */
final class Protos {
    private Protos() {
    }

    static com.google.protobuf.Duration duration(java.time.Duration d) {
        return com.google.protobuf.Duration.newBuilder().setSeconds(d.getSeconds()).setNanos(d.getNano()).build();
    }

    /** Percent 0..100 with up to four decimals, as parts per million. */
    static FractionalPercent percent(Double pct) {
        double p = pct == null ? 100.0 : pct;
        return FractionalPercent.newBuilder().setNumerator((int) Math.round(p * 10_000))
                .setDenominator(FractionalPercent.DenominatorType.MILLION).build();
    }

    /** "Ask the same ADS stream": what grpc-java and Envoy both accept for RDS and EDS. */
    static ConfigSource ads() {
        return ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())
                .setResourceApiVersion(ApiVersion.V3).build();
    }
}
