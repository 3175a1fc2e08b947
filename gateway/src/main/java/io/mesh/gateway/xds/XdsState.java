package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.mesh.gateway.model.FilterChainSpec;
import io.mesh.gateway.model.GatewaySnapshot;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.model.TlsCertificate;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.upstream.ClusterSpec;
import io.mesh.gateway.upstream.Endpoint;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The xDS client's protocol state, without any transport: per type the subscribed names, the last
 * accepted version and nonce, and the accepted resources. {@link #onResponse} validates a whole response;
 * it is ACKed and applied only if every resource translates, otherwise NACKed with every reason, and the
 * last good resources stay. LDS and CDS are state-of-the-world (absent means deleted); RDS, EDS and SDS
 * are requested by name, and names no longer referenced are dropped. Not thread-safe: the ADS client
 * calls it from its single thread.
 */
public final class XdsState {

    public static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    public static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    public static final String SDS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    /** The order in which subscriptions are (re)sent: clusters before listeners, as Envoy warms them. */
    public static final List<String> TYPES = List.of(CDS, EDS, LDS, RDS, SDS);

    /** One type's subscription. {@code names} null means wildcard. */
    static final class Subscription {
        Set<String> names;
        String version = "";
        String nonce = "";
        boolean received;
        final Map<String, Object> accepted = new LinkedHashMap<>();
        final Map<String, Message> raw = new LinkedHashMap<>();
    }

    /** What to send after a response, and the snapshot to apply (null when nothing changed). */
    public record Outcome(List<DiscoveryRequest> requests, GatewaySnapshot snapshot, String nackDetail) {
    }

    private final Node node;
    private final StaticBootstrap base;
    private final Map<String, Subscription> subs = new HashMap<>();
    private long acks;
    private long nacks;

    public XdsState(Node node, StaticBootstrap base) {
        this.node = node;
        this.base = base;
        for (String t : TYPES) {
            Subscription s = new Subscription();
            s.names = t.equals(LDS) || t.equals(CDS) ? null : new TreeSet<>();
            subs.put(t, s);
        }
    }

    /** The requests that open (or reopen) a stream: every subscription with its last accepted version. */
    public List<DiscoveryRequest> subscribeAll() {
        List<DiscoveryRequest> out = new ArrayList<>();
        for (String t : TYPES) {
            Subscription s = subs.get(t);
            if (s.names == null || !s.names.isEmpty()) {
                out.add(request(t, s, "", null));
            }
        }
        return out;
    }

    public Outcome onResponse(DiscoveryResponse resp) {
        String type = resp.getTypeUrl();
        Subscription s = subs.get(type);
        if (s == null) {
            DiscoveryRequest nack = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type)
                    .setResponseNonce(resp.getNonce()).setErrorDetail(Status.newBuilder().setCode(3)
                            .setMessage("type " + type + " is not supported by the gateway")).build();
            nacks++;
            return new Outcome(List.of(nack), null, nack.getErrorDetail().getMessage());
        }
        Map<String, Object> translated = new LinkedHashMap<>();
        Map<String, Message> raw = new LinkedHashMap<>();
        List<String> errors = new ArrayList<>();
        for (Any any : resp.getResourcesList()) {
            try {
                Message m = decode(type, any);
                String name = nameOf(m);
                raw.put(name, m);
                translated.put(name, translate(m));
            } catch (ConfigRejected e) {
                errors.add(e.getMessage());
            } catch (InvalidProtocolBufferException e) {
                errors.add("cannot decode " + any.getTypeUrl() + ": " + e.getMessage());
            }
        }
        if (!errors.isEmpty()) {
            nacks++;
            String detail = String.join("; ", errors);
            s.nonce = resp.getNonce();
            return new Outcome(List.of(request(type, s, resp.getNonce(), detail)), null, detail);
        }
        if (s.names == null) {
            s.accepted.clear();
            s.raw.clear();
        }
        s.accepted.putAll(translated);
        s.raw.putAll(raw);
        s.version = resp.getVersionInfo();
        s.nonce = resp.getNonce();
        s.received = true;
        acks++;
        List<DiscoveryRequest> out = new ArrayList<>();
        out.add(request(type, s, resp.getNonce(), null));
        if (type.equals(LDS)) {
            resubscribe(RDS, referencedRoutes(), out);
            resubscribe(SDS, referencedSecrets(), out);
        } else if (type.equals(CDS)) {
            resubscribe(EDS, referencedEds(), out);
            resubscribe(SDS, referencedSecrets(), out);
        }
        return new Outcome(out, snapshot(), null);
    }

    private void resubscribe(String type, Set<String> names, List<DiscoveryRequest> out) {
        Subscription s = subs.get(type);
        if (s.names.equals(names)) {
            return;
        }
        s.names = new TreeSet<>(names);
        s.accepted.keySet().retainAll(names);
        s.raw.keySet().retainAll(names);
        out.add(request(type, s, s.nonce, null));
    }

    private DiscoveryRequest request(String type, Subscription s, String nonce, String error) {
        DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(type)
                .setVersionInfo(s.version).setResponseNonce(nonce);
        if (s.names != null) {
            b.addAllResourceNames(s.names);
        }
        if (error != null) {
            b.setErrorDetail(Status.newBuilder().setCode(3).setMessage(error));
        }
        return b.build();
    }

    private Set<String> referencedRoutes() {
        Set<String> names = new TreeSet<>();
        for (Object o : subs.get(LDS).accepted.values()) {
            for (FilterChainSpec c : ((ListenerSpec) o).chains()) {
                if (c.routeConfigName() != null) {
                    names.add(c.routeConfigName());
                }
            }
        }
        return names;
    }

    private Set<String> referencedSecrets() {
        Set<String> names = listenerSecrets();
        for (Object o : subs.get(CDS).accepted.values()) {
            for (var tls : ((ClusterSpec) o).transports()) {
                if (tls == null) {
                    continue;
                }
                for (String n : new String[] {tls.certSecret(), tls.caSecret()}) {
                    if (n != null && !io.mesh.gateway.upstream.UpstreamTls.localSecret(n) && !base.secrets().containsKey(n)) {
                        names.add(n);
                    }
                }
            }
        }
        return names;
    }

    /** Listener certificates gate readiness; cluster secrets do not (a cluster without them answers 503 UF). */
    private Set<String> listenerSecrets() {
        Set<String> names = new TreeSet<>();
        for (Object o : subs.get(LDS).accepted.values()) {
            for (FilterChainSpec c : ((ListenerSpec) o).chains()) {
                // The workload identity ("default", "ROOTCA") comes from citadel, never over SDS.
                List<String> secrets = new java.util.ArrayList<>(c.secretNames());
                secrets.add(c.clientCaSecret());
                for (String n : secrets) {
                    if (n != null && !io.mesh.gateway.upstream.UpstreamTls.workloadSecret(n)
                            && !base.secrets().containsKey(n)) {
                        names.add(n);
                    }
                }
            }
        }
        return names;
    }

    private Set<String> referencedEds() {
        Set<String> names = new TreeSet<>();
        for (Object o : subs.get(CDS).accepted.values()) {
            ClusterSpec c = (ClusterSpec) o;
            if (c.edsName() != null) {
                names.add(c.edsName());
            }
        }
        return names;
    }

    /** Static bootstrap resources overlaid by the accepted dynamic ones. */
    @SuppressWarnings("unchecked")
    public GatewaySnapshot snapshot() {
        Map<String, ListenerSpec> listeners = new LinkedHashMap<>(base.listeners());
        subs.get(LDS).accepted.forEach((k, v) -> listeners.put(k, (ListenerSpec) v));
        Map<String, RouteTable> routes = new HashMap<>();
        subs.get(RDS).accepted.forEach((k, v) -> routes.put(k, (RouteTable) v));
        Map<String, ClusterSpec> clusters = new LinkedHashMap<>(base.clusters());
        subs.get(CDS).accepted.forEach((k, v) -> clusters.put(k, (ClusterSpec) v));
        Map<String, List<Endpoint>> endpoints = new HashMap<>();
        subs.get(EDS).accepted.forEach((k, v) -> endpoints.put(k, (List<Endpoint>) v));
        Map<String, TlsCertificate> secrets = new HashMap<>(base.secrets());
        subs.get(SDS).accepted.forEach((k, v) -> secrets.put(k, (TlsCertificate) v));
        boolean complete = subs.get(LDS).received && subs.get(CDS).received
                && routes.keySet().containsAll(subs.get(RDS).names)
                && endpoints.keySet().containsAll(subs.get(EDS).names)
                && secrets.keySet().containsAll(listenerSecrets());
        return new GatewaySnapshot(Map.copyOf(listeners), Map.copyOf(routes), Map.copyOf(clusters), Map.copyOf(endpoints),
                Map.copyOf(secrets), complete);
    }

    /** Accepted raw resources by type, for the config dump. */
    public Map<String, Map<String, Message>> raw() {
        Map<String, Map<String, Message>> m = new LinkedHashMap<>();
        for (String t : TYPES) {
            m.put(t, Map.copyOf(subs.get(t).raw));
        }
        return m;
    }

    public Map<String, String> versions() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String t : TYPES) {
            m.put(t.substring(t.lastIndexOf('.') + 1), subs.get(t).version);
        }
        return m;
    }

    public long acks() {
        return acks;
    }

    public long nacks() {
        return nacks;
    }

    static Message decode(String type, Any any) throws InvalidProtocolBufferException, ConfigRejected {
        if (!any.getTypeUrl().equals(type)) {
            throw new ConfigRejected("resource of type " + any.getTypeUrl() + " in a " + type + " response");
        }
        return switch (type) {
            case LDS -> any.unpack(Listener.class);
            case RDS -> any.unpack(RouteConfiguration.class);
            case CDS -> any.unpack(Cluster.class);
            case EDS -> any.unpack(ClusterLoadAssignment.class);
            case SDS -> any.unpack(Secret.class);
            default -> throw new ConfigRejected("unsupported type " + type);
        };
    }

    static String nameOf(Message m) {
        if (m instanceof Listener l) {
            return l.getName();
        } else if (m instanceof RouteConfiguration r) {
            return r.getName();
        } else if (m instanceof Cluster c) {
            return c.getName();
        } else if (m instanceof ClusterLoadAssignment a) {
            return a.getClusterName();
        }
        return ((Secret) m).getName();
    }

    static Object translate(Message m) throws ConfigRejected {
        if (m instanceof Listener l) {
            return ListenerTranslator.translate(l);
        } else if (m instanceof RouteConfiguration r) {
            return RouteTranslator.translate(r);
        } else if (m instanceof Cluster c) {
            return ClusterTranslator.translate(c);
        } else if (m instanceof ClusterLoadAssignment a) {
            return ClusterTranslator.endpoints(a);
        }
        return SecretTranslator.translate((Secret) m);
    }
}
