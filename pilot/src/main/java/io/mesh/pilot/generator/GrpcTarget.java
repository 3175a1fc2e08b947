package io.mesh.pilot.generator;

import io.mesh.config.Hosts;
import io.mesh.pilot.model.MeshSnapshot;
import io.mesh.pilot.model.ServiceModel;

/** The service a proxyless gRPC client means by a listener name "host[:port]" (its xds:/// target). */
record GrpcTarget(String name, String host, int port) {

    static GrpcTarget parse(String name, String namespace, MeshSnapshot snapshot) {
        String host = name;
        Integer port = null;
        int colon = name.lastIndexOf(':');
        if (colon > 0) {
            try {
                port = Integer.parseInt(name.substring(colon + 1));
                host = name.substring(0, colon);
            } catch (NumberFormatException e) {
                return null;
            }
        }
        ServiceModel s = snapshot.service(host, namespace);
        if (s == null) {
            s = snapshot.service(Hosts.resolve(host, namespace), namespace);
        }
        if (s == null && host.split("\\.").length == 2) {
            s = snapshot.service(host + "." + Hosts.DOMAIN_SUFFIX, namespace);
        }
        if (s == null) {
            return null;
        }
        if (port == null) {
            if (s.ports().size() != 1) {
                return null;
            }
            port = s.ports().get(0).number();
        }
        return s.port(port) == null ? null : new GrpcTarget(name, s.hostname(), port);
    }
}
