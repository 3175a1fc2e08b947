package io.mesh.gateway.proxy;

import io.mesh.gateway.GatewayConfig;
import io.mesh.gateway.model.ListenerSpec;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.jboss.logging.Logger;

/**
 * Where a router's listener binds: its LDS address, or for a wildcard address ({@code 0.0.0.0}, {@code ::}) the
 * configured {@code listeners.host} when there is one; its LDS port through {@code listeners.port-map} and the 80/443
 * remap. A listener with a specific address (a Gateway server's {@code bind}: istiod's {@code BIND_PORT} listeners)
 * binds that address whatever {@code listeners.host} says, as Envoy would.
 *
 * <p>Listeners of one port on different addresses are separate sockets. When one of them is a wildcard, the kernel
 * refuses the second bind unless both sockets set SO_REUSEPORT, so such listeners set it (each socket keeps its own
 * address; Linux hands a connection to the socket bound to its exact destination before the wildcard one, as
 * Envoy's listeners get it). A wildcard listener whose {@code listeners.host} is the very address of a specific
 * listener on the same port could only ever take that listener's connections, so it is not bound at all.
 */
record ListenerBinding(String host, int port, boolean reusePort) {

    private static final Logger LOG = Logger.getLogger(ListenerBinding.class);
    private static final Set<String> WILDCARDS = Set.of("", "0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0");

    /**
     * The bindings of the listeners this plane binds ({@code binds}), by listener name; a listener left out is not
     * bound.
     */
    static Map<String, ListenerBinding> of(Collection<ListenerSpec> listeners, Predicate<ListenerSpec> binds,
            GatewayConfig.Listeners config) {
        Map<String, ListenerBinding> out = new HashMap<>();
        Set<String> specific = new HashSet<>();
        for (ListenerSpec spec : listeners) {
            if (binds.test(spec) && !wildcard(spec.host())) {
                ListenerBinding b = new ListenerBinding(spec.host(), config.bindPort(spec.port()), false);
                out.put(spec.name(), b);
                specific.add(b.socket());
            }
        }
        for (ListenerSpec spec : listeners) {
            if (binds.test(spec) && wildcard(spec.host())) {
                ListenerBinding b = new ListenerBinding(config.host().orElse(spec.host()), config.bindPort(spec.port()), false);
                if (specific.contains(b.socket())) {
                    LOG.debugf("listener %s is not bound: listeners.host puts it on %s, where a listener for that very"
                            + " address is", spec.name(), b.socket());
                    continue;
                }
                out.put(spec.name(), b);
            }
        }
        // Ports (other than "any free port") that listeners on different addresses share.
        Map<Integer, Set<String>> hostsByPort = new HashMap<>();
        out.values().forEach(b -> hostsByPort.computeIfAbsent(b.port(), p -> new HashSet<>()).add(b.host()));
        out.replaceAll((name, b) -> b.port() != 0 && hostsByPort.get(b.port()).size() > 1
                ? new ListenerBinding(b.host(), b.port(), true) : b);
        return out;
    }

    /** An address of every interface: the listener takes the gateway's configured host, if any. */
    static boolean wildcard(String host) {
        return WILDCARDS.contains(host);
    }

    private String socket() {
        return host + ":" + port;
    }

    @Override
    public String toString() {
        return socket() + (reusePort ? " (SO_REUSEPORT)" : "");
    }
}
