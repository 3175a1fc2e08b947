package io.mesh.config;

import java.time.Instant;
import java.util.List;

/**
 * A validated Kubernetes Gateway API {@code Gateway} (gateway.networking.k8s.io v1 or v1beta1). pilot serves the ones
 * of class {@code istio} ({@link #owned}); one of another class belongs to another controller and is kept unvalidated,
 * as istiod ignores classes it does not own.
 *
 * @param addresses {@code spec.addresses}: which workloads serve the Gateway (a {@code Hostname} names their Service)
 * @param created   {@code metadata.creationTimestamp}, or null
 */
public record KubernetesGateway(String namespace, String name, String className, List<Address> addresses,
        List<Listener> listeners, Instant created) {
    /** The GatewayClass istiod owns without a GatewayClass object (its built-in class). */
    public static final String ISTIO_CLASS = "istio";

    public KubernetesGateway {
        addresses = List.copyOf(addresses);
        listeners = List.copyOf(listeners);
    }

    /** Whether pilot serves this Gateway: its class is istiod's. */
    public boolean owned() {
        return ISTIO_CLASS.equals(className);
    }

    /** One {@code spec.addresses} entry: type {@code IPAddress} (the default), {@code Hostname} or {@code NamedAddress}. */
    public record Address(String type, String value) {
    }

    /**
     * One listener. {@code hostname}: null for any host. {@code tls}: null unless HTTPS or TLS. {@code from}: which
     * namespaces' routes may attach ({@code Same}, the default; {@code All}; {@code Selector}, those whose labels
     * {@code namespaceSelector} selects; null unless set). {@code kinds}: {@code allowedRoutes.kinds}, the route kinds it
     * names (one of another group than the Gateway API's as GROUP/KIND; empty: its protocol's).
     */
    public record Listener(String name, String hostname, int port, String protocol, Tls tls, String from,
            LabelSelector namespaceSelector, List<String> kinds) {
        public Listener {
            kinds = List.copyOf(kinds);
        }

        /** Without {@code allowedRoutes.kinds}. */
        public Listener(String name, String hostname, int port, String protocol, Tls tls, String from,
                LabelSelector namespaceSelector) {
            this(name, hostname, port, protocol, tls, from, namespaceSelector, List.of());
        }
    }

    /** A listener's TLS: {@code Terminate} (the default) or {@code Passthrough}, and the Secrets holding certificates. */
    public record Tls(String mode, List<SecretRef> certificateRefs) {
        public Tls {
            certificateRefs = List.copyOf(certificateRefs);
        }
    }

    /** A certificate reference: a Secret (group "" and kind Secret, the defaults), in {@code namespace} (null: the Gateway's). */
    public record SecretRef(String group, String kind, String name, String namespace) {
    }
}
