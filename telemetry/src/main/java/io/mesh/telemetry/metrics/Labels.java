package io.mesh.telemetry.metrics;

import java.util.ArrayList;
import java.util.List;

/** Istio's label names, in the order they are served. A label a proxy did not send is {@code "unknown"}, as in Istio. */
public final class Labels {

    public static final String UNKNOWN = "unknown";

    private static final List<String> PEERS = List.of(
            "reporter",
            "source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
            "source_canonical_service", "source_canonical_revision", "source_cluster",
            "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
            "destination_version", "destination_service", "destination_service_name",
            "destination_service_namespace", "destination_canonical_service", "destination_canonical_revision",
            "destination_cluster");

    /** Labels of the HTTP/gRPC metrics. */
    public static final List<String> HTTP = concat(PEERS, List.of("request_protocol", "response_code",
            "grpc_response_status", "response_flags", "connection_security_policy"));

    /** Labels of the TCP metrics: no response code. */
    public static final List<String> TCP = concat(PEERS, List.of("request_protocol", "response_flags",
            "connection_security_policy"));

    private Labels() {
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return List.copyOf(all);
    }
}
