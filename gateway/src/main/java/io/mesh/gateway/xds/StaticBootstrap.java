package io.mesh.gateway.xds;

import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.mesh.gateway.model.ListenerSpec;
import io.mesh.gateway.model.TlsCertificate;
import io.mesh.gateway.upstream.ClusterSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The static_resources of an Envoy bootstrap (JSON): listeners, clusters with inline load assignments,
 * and secrets. Routes must be inline in the listeners. xDS resources of the same name override these.
 */
public record StaticBootstrap(Map<String, ListenerSpec> listeners, Map<String, ClusterSpec> clusters,
        Map<String, TlsCertificate> secrets) {

    public static final StaticBootstrap EMPTY = new StaticBootstrap(Map.of(), Map.of(), Map.of());

    /** The Envoy types an Any may hold here (the mesh's one registry, shared with pilot). */
    public static final TypeRegistry TYPES = io.mesh.proto.XdsTypes.REGISTRY;

    public static StaticBootstrap load(Path file) throws IOException, ConfigRejected {
        Bootstrap.Builder b = Bootstrap.newBuilder();
        JsonFormat.parser().usingTypeRegistry(TYPES).ignoringUnknownFields().merge(Files.readString(file), b);
        return of(b.build());
    }

    public static StaticBootstrap of(Bootstrap b) throws ConfigRejected {
        Map<String, ListenerSpec> l = new LinkedHashMap<>();
        for (Listener x : b.getStaticResources().getListenersList()) {
            l.put(x.getName(), ListenerTranslator.translate(x));
        }
        Map<String, ClusterSpec> c = new LinkedHashMap<>();
        for (Cluster x : b.getStaticResources().getClustersList()) {
            ClusterSpec spec = ClusterTranslator.translate(x);
            if (spec.edsName() != null) {
                throw new ConfigRejected("bootstrap cluster " + x.getName() + ": EDS is only available over xDS");
            }
            c.put(x.getName(), spec);
        }
        Map<String, TlsCertificate> s = new LinkedHashMap<>();
        for (Secret x : b.getStaticResources().getSecretsList()) {
            s.put(x.getName(), SecretTranslator.translate(x));
        }
        for (ListenerSpec spec : l.values()) {
            for (var chain : spec.chains()) {
                if (chain.routeConfigName() != null) {
                    throw new ConfigRejected("bootstrap listener " + spec.name() + ": routes must be inline (route_config)");
                }
            }
        }
        return new StaticBootstrap(Map.copyOf(l), Map.copyOf(c), Map.copyOf(s));
    }
}
