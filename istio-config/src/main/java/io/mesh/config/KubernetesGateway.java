package io.mesh.config;

import java.time.Instant;
import java.util.List;

/**
 * A validated Kubernetes Gateway API {@code Gateway} (gateway.networking.k8s.io v1 or v1beta1). pilot serves the ones
 * of class {@code istio} ({@link #owned}); one of another class belongs to another controller and is kept unvalidated,
 * as istiod ignores classes it does not own.
 *
 * @param addresses    {@code spec.addresses}: which workloads serve the Gateway (a {@code Hostname} names their Service)
 * @param created      {@code metadata.creationTimestamp}, or null
 * @param nameOverride istiod's {@link #NAME_OVERRIDE_ANNOTATION}: the name of the Deployment and Service deployed for
 *                     it instead of {@code NAME-CLASS}; null when not set
 * @param addressType  istiod's {@link #ADDRESS_TYPE_ANNOTATION}: which internal addresses its status reports
 *                     ({@code IPAddress}, {@code Hostname}, or "" for both); null when not set (the class's, Hostname)
 */
public record KubernetesGateway(String namespace, String name, String className, List<Address> addresses,
        List<Listener> listeners, Instant created, String nameOverride, String addressType) {
    /** The GatewayClass istiod owns without a GatewayClass object (its built-in class). */
    public static final String ISTIO_CLASS = "istio";
    /** istiod's annotation naming the Deployment and Service of an automated deployment. */
    public static final String NAME_OVERRIDE_ANNOTATION = "gateway.istio.io/name-override";
    /** istiod's annotation choosing the type of the internal addresses reported in {@code status.addresses}. */
    public static final String ADDRESS_TYPE_ANNOTATION = "networking.istio.io/address-type";

    public KubernetesGateway {
        addresses = List.copyOf(addresses);
        listeners = List.copyOf(listeners);
    }

    /** Without istiod's annotations. */
    public KubernetesGateway(String namespace, String name, String className, List<Address> addresses,
            List<Listener> listeners, Instant created) {
        this(namespace, name, className, addresses, listeners, created, null, null);
    }

    /**
     * The name of the Deployment and Service istiod deploys for it (without addresses): the name-override annotation's,
     * else {@link #defaultName}.
     */
    public String deploymentName() {
        return nameOverride != null ? nameOverride : defaultName();
    }

    /** istiod's getDefaultName, {@code NAME-CLASS} (also the deployed ServiceAccount's, whatever the name-override). */
    public String defaultName() {
        return name + "-" + className;
    }

    /**
     * The FQDNs of the Services whose pods serve it, as istiod's extractGatewayServices: without addresses the deployed
     * Service ({@link #deploymentName}) in its namespace; else each {@code Hostname} address, a short name taken as a
     * Service of its namespace (addresses of other types name no Service).
     */
    public List<String> serviceHosts() {
        if (addresses.isEmpty()) {
            return List.of(deploymentName() + "." + namespace + "." + Hosts.DOMAIN_SUFFIX);
        }
        return addresses.stream().filter(a -> a.type().equals("Hostname"))
                .map(a -> a.value().contains(".") ? a.value() : a.value() + "." + namespace + "." + Hosts.DOMAIN_SUFFIX)
                .toList();
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
