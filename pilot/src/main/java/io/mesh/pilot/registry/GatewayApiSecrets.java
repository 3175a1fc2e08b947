package io.mesh.pilot.registry;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.informers.cache.Store;
import io.mesh.config.KubernetesGateway;
import io.mesh.pilot.model.TlsCredential;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.function.BiPredicate;

/**
 * Kubernetes mode's certificates of the Gateway API's Gateways: the Secret each listener's certificateRef names, in
 * its own namespace (the Gateway's when it names none), as istiod's {@code kubernetes-gateway://NAMESPACE/NAME}
 * credential. Only Secrets some Gateway in force names are read into a snapshot; whether the reference is permitted
 * (the same namespace, or a ReferenceGrant) is the translation's decision, which alone puts the credential on a server.
 */
final class GatewayApiSecrets {
    private GatewayApiSecrets() {
    }

    /** A Secret's certificate (tls.crt, tls.key and the optional ca.crt) as credential {@code name}; null without one. */
    static TlsCredential credential(Secret s, String name) {
        Map<String, String> data = s.getData();
        if (data == null || !data.containsKey("tls.crt") || !data.containsKey("tls.key")) {
            return null;
        }
        Base64.Decoder b64 = Base64.getDecoder();
        return new TlsCredential(name, new String(b64.decode(data.get("tls.crt")), StandardCharsets.UTF_8),
                new String(b64.decode(data.get("tls.key")), StandardCharsets.UTF_8),
                data.containsKey("ca.crt") ? new String(b64.decode(data.get("ca.crt")), StandardCharsets.UTF_8) : null);
    }

    /** The credentials of the Secrets the Gateway API Gateways in force name, by kubernetes-gateway:// name. */
    static Map<String, TlsCredential> referenced(ConfigStore store, Store<Secret> secrets) {
        Map<String, TlsCredential> out = new HashMap<>();
        forEachReference(store, (namespace, name) -> {
            Secret s = secrets.getByKey(namespace + "/" + name);
            TlsCredential c = s == null ? null : credential(s, TlsCredential.kubernetesGateway(namespace, name));
            if (c != null) {
                out.put(c.name(), c);
            }
            return false;
        });
        return out;
    }

    /** Whether a Gateway API Gateway in force names Secret {@code name} of {@code namespace}. */
    static boolean names(ConfigStore store, String namespace, String name) {
        return forEachReference(store, (ns, n) -> ns.equals(namespace) && n.equals(name));
    }

    /** Calls {@code visit} with each certificateRef's (namespace, name) until it returns true; whether one did. */
    private static boolean forEachReference(ConfigStore store, BiPredicate<String, String> visit) {
        for (Object model : store.accepted().values()) {
            if (!(model instanceof KubernetesGateway g) || !g.owned()) {
                continue;
            }
            for (KubernetesGateway.Listener l : g.listeners()) {
                if (l.tls() == null) {
                    continue;
                }
                for (KubernetesGateway.SecretRef ref : l.tls().certificateRefs()) {
                    if (visit.test(ref.namespace() == null ? g.namespace() : ref.namespace(), ref.name())) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
