package io.mesh.pilot.generator;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.mesh.pilot.model.ServiceModel;
import java.util.List;

/**
 * The {@code istio} filter metadata istiod puts on clusters for telemetry ({@code addTelemetryMetadata}):
 * {@code services}, a list of {@code {host, name, namespace}}. Istio's stats filter takes a request's or a TCP
 * connection's {@code destination_service} from the first entry; on an inbound cluster that is how the destination
 * side knows the service it serves without a Host header. An outbound cluster names its own service; an inbound one
 * every service whose endpoint this workload is on that port.
 */
final class TelemetryMetadata {
    static final String FILTER = "istio";

    private TelemetryMetadata() {
    }

    static Metadata services(List<ServiceModel> services) {
        ListValue.Builder list = ListValue.newBuilder();
        for (ServiceModel s : services) {
            list.addValues(Value.newBuilder().setStructValue(Struct.newBuilder()
                    .putFields("host", string(s.hostname()))
                    .putFields("name", string(name(s)))
                    .putFields("namespace", string(s.namespace()))));
        }
        return Metadata.newBuilder().putFilterMetadata(FILTER, Struct.newBuilder()
                .putFields("services", Value.newBuilder().setListValue(list).build()).build()).build();
    }

    /**
     * A service's name as istiod's model has it: a Kubernetes Service's own name, a ServiceEntry host's full host
     * name (istiod names those services by host), and for a service of the local registry its host's first label.
     */
    static String name(ServiceModel s) {
        String origin = s.origin();
        if (origin.startsWith("Service/")) {
            return origin.substring(origin.lastIndexOf('/') + 1);
        }
        if (s.serviceEntry()) {
            return s.hostname();
        }
        int dot = s.hostname().indexOf('.');
        return dot < 0 ? s.hostname() : s.hostname().substring(0, dot);
    }

    private static Value string(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
