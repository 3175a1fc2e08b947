package io.mesh.pilot.debug;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.controlplane.cache.Resources;
import io.mesh.pilot.generator.XdsGenerators;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.xds.XdsConnection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A proxy's resources as JSON, generated from the current snapshot for exactly the names it watches. */
final class ConfigDump {
    private static final TypeRegistry TYPES = io.mesh.proto.XdsTypes.REGISTRY;
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().usingTypeRegistry(TYPES)
            .omittingInsignificantWhitespace();
    private static final Map<String, String> SECTIONS = Map.of(Resources.V3.LISTENER_TYPE_URL, "listeners",
            Resources.V3.ROUTE_TYPE_URL, "routes", Resources.V3.CLUSTER_TYPE_URL, "clusters",
            Resources.V3.ENDPOINT_TYPE_URL, "endpoints");

    private ConfigDump() {
    }

    /** JSON text: {"proxyID":..., "listeners":[...], "routes":[...], "clusters":[...], "endpoints":[...]}. */
    static String of(XdsConnection c, MeshSnapshot snapshot) {
        Map<String, Set<String>> watched = c.watchedNames();
        StringBuilder out = new StringBuilder("{\"proxyID\":").append(quote(c.proxy().id()))
                .append(",\"type\":").append(quote(c.proxy().type().name()));
        for (String type : List.of(Resources.V3.LISTENER_TYPE_URL, Resources.V3.ROUTE_TYPE_URL,
                Resources.V3.CLUSTER_TYPE_URL, Resources.V3.ENDPOINT_TYPE_URL)) {
            out.append(",\"").append(SECTIONS.get(type)).append("\":[");
            if (watched.containsKey(type)) {
                List<? extends Message> resources = XdsGenerators.generate(type, c.proxy(), snapshot, watched.get(type));
                for (int i = 0; i < resources.size(); i++) {
                    out.append(i == 0 ? "" : ",").append(print(resources.get(i)));
                }
            }
            out.append(']');
        }
        return out.append('}').toString();
    }

    private static String print(Message m) {
        try {
            return PRINTER.print(m);
        } catch (InvalidProtocolBufferException e) {
            return quote("unprintable: " + e.getMessage());
        }
    }

    static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
