package io.mesh.config;

import java.util.List;
import java.util.Optional;

/**
 * Istio's validation for every kind pilot reads: the same code runs on YAML files and on Kubernetes objects.
 * Pure: no state, no I/O.
 */
public final class ConfigValidator {
    private ConfigValidator() {
    }

    /** The outcome for one resource: the typed model when it is valid, otherwise the errors. */
    public record Result(RawResource raw, Object model, List<String> errors, List<String> warnings) {
        public boolean valid() {
            return errors.isEmpty();
        }

        public String reason() {
            return String.join("; ", errors);
        }
    }

    public static Result validate(RawResource raw) {
        Problems p = new Problems();
        Optional<Kind> kind = Kind.of(raw.apiVersion(), raw.kind());
        if (kind.isEmpty()) {
            p.error("kind", "unsupported kind \"" + raw.kind() + "\": this mesh serves only " + java.util.Arrays.stream(
                    Kind.values()).map(Kind::displayName).collect(java.util.stream.Collectors.joining(", ")));
            return new Result(raw, null, p.errors(), p.warnings());
        }
        String apiVersion = raw.apiVersion() == null ? "" : raw.apiVersion();
        int slash = apiVersion.indexOf('/');
        if (slash < 0 || !apiVersion.substring(0, slash).equals(kind.get().group)
                || !kind.get().versions().contains(apiVersion.substring(slash + 1))) {
            p.error("apiVersion", "\"" + apiVersion + "\" is not a version of " + raw.kind() + " (use "
                    + kind.get().group + "/" + kind.get().versions().get(0) + ")");
        }
        if (raw.name() == null || raw.name().isEmpty()) {
            p.error("metadata.name", "is required");
        }
        if (raw.spec() == null || !raw.spec().isObject()) {
            p.error("spec", "is required and must be an object");
            return new Result(raw, null, p.errors(), p.warnings());
        }
        Object model = switch (kind.get()) {
            case VIRTUAL_SERVICE -> VirtualServiceParser.parse(raw, p);
            case DESTINATION_RULE -> DestinationRuleParser.parse(raw, p);
            case GATEWAY -> GatewayParser.parse(raw, p);
            case SERVICE_ENTRY -> ServiceEntryParser.parse(raw, p);
            case WORKLOAD_ENTRY -> ServiceEntryParser.workloadEntry(raw, p);
            case SIDECAR -> PolicyConfig.sidecar(raw, p);
            case PEER_AUTHENTICATION -> PolicyConfig.peerAuthentication(raw, p);
            case AUTHORIZATION_POLICY -> AuthorizationPolicyParser.parse(raw, p);
            case REQUEST_AUTHENTICATION -> RequestAuthentication.parse(raw, p);
            case TELEMETRY -> Telemetry.parse(raw, p);
            case KUBERNETES_GATEWAY -> KubernetesGatewayParser.parse(raw, p);
            case HTTP_ROUTE -> KubernetesHttpRouteParser.parse(raw, p);
            case REFERENCE_GRANT -> KubernetesReferenceGrantParser.parse(raw, p);
            case GRPC_ROUTE -> KubernetesGrpcRouteParser.parse(raw, p);
            case TLS_ROUTE, TCP_ROUTE -> KubernetesL4RouteParser.parse(kind.get(), raw, p);
            case BACKEND_TLS_POLICY -> KubernetesBackendTlsPolicyParser.parse(raw, p);
        };
        return new Result(raw, p.hasErrors() ? null : model, p.errors(), p.warnings());
    }
}
