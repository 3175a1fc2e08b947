package io.mesh.gateway.model;

import java.util.List;

/** A listener from LDS: where to bind and its filter chains. TLS listeners have only TLS chains. */
public record ListenerSpec(String name, String host, int port, List<FilterChainSpec> chains) {

    public boolean tls() {
        return !chains.isEmpty() && chains.get(0).tls();
    }

    /** The chain for an SNI name: the first with a matching server name, else the first without names. */
    public FilterChainSpec chainFor(String sni) {
        FilterChainSpec fallback = null;
        for (FilterChainSpec c : chains) {
            if (!c.serverNames().isEmpty() && c.servesSni(sni)) {
                return c;
            }
            if (c.serverNames().isEmpty() && fallback == null) {
                fallback = c;
            }
        }
        return fallback;
    }
}
