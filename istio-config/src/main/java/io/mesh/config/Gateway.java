package io.mesh.config;

import java.util.List;
import java.util.Map;

/** A validated Gateway: the servers a router proxy (selected by labels) listens with. */
public record Gateway(String namespace, String name, Map<String, String> selector, List<Server> servers) {
    public Gateway {
        selector = Map.copyOf(selector);
        servers = List.copyOf(servers);
    }

    public record Server(String name, int port, String portName, String protocol, List<String> hosts,
            ServerTls tls) {
        public Server {
            hosts = List.copyOf(hosts);
        }
    }

    /** mode is SIMPLE, MUTUAL, PASSTHROUGH or ISTIO_MUTUAL; credentialName names a Secret or a local file. */
    public record ServerTls(String mode, String credentialName, boolean httpsRedirect) {
    }
}
