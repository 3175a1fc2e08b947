package io.mesh.gateway.model;

import java.util.List;

/**
 * A listener from LDS: where to bind and its filter chains. TLS listeners have only TLS chains, except
 * capture listeners (a sidecar's {@code virtualInbound}), which pick a chain per connection by original
 * destination port and detected transport. {@code bindToPort=false} listeners (a sidecar's {@code 0.0.0.0_PORT})
 * are never bound: captured connections to that port are handed to them. {@code capture} marks a listener that
 * recovers the original destination of redirected connections (Envoy's original_dst listener filter).
 */
public record ListenerSpec(String name, String host, int port, List<FilterChainSpec> chains, boolean bindToPort,
        boolean capture) {

    public ListenerSpec(String name, String host, int port, List<FilterChainSpec> chains) {
        this(name, host, port, chains, true, false);
    }

    /** A router's TCP listener: bound, not a capture listener, and only tcp_proxy chains (matched by SNI, or any). */
    public boolean tcp() {
        return bindToPort && !capture && !chains.isEmpty() && chains.stream().allMatch(FilterChainSpec::tcp);
    }

    public boolean tls() {
        return !capture && !chains.isEmpty() && chains.get(0).tls();
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

    /** A capture listener's chain for a connection: the first whose filter_chain_match accepts it, or null. */
    public FilterChainSpec chainFor(int originalPort, boolean tlsDetected) {
        for (FilterChainSpec c : chains) {
            if (c.matches(originalPort, tlsDetected)) {
                return c;
            }
        }
        return null;
    }

    /** Whether any chain for this port would take a TLS connection, so the first bytes must be inspected. */
    public boolean hasChainsFor(int originalPort) {
        for (FilterChainSpec c : chains) {
            if (c.destinationPort() == originalPort) {
                return true;
            }
        }
        return false;
    }
}
