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

    /**
     * The chain for an SNI name, as Envoy's filter_chain_match picks it: the most specific server name that matches,
     * whatever the chains' order (for www.example.com: www.example.com, then *.example.com, then *.com), else the first
     * chain without server names; null when none applies.
     */
    public FilterChainSpec chainFor(String sni) {
        return chainFor(chains, sni);
    }

    /** {@link #chainFor(String)} over a list of chains. */
    public static FilterChainSpec chainFor(List<FilterChainSpec> chains, String sni) {
        FilterChainSpec best = null;
        int bestSpecificity = -1;
        FilterChainSpec fallback = null;
        for (FilterChainSpec c : chains) {
            if (c.serverNames().isEmpty()) {
                if (fallback == null) {
                    fallback = c;
                }
                continue;
            }
            for (String name : c.serverNames()) {
                int specificity = sniSpecificity(name, sni);
                if (specificity > bestSpecificity) {
                    best = c;
                    bestSpecificity = specificity;
                }
            }
        }
        return best != null ? best : fallback;
    }

    /**
     * How specifically a server name matches an SNI: the name itself beats any wildcard, a longer wildcard a shorter
     * one; -1 when it does not match.
     */
    static int sniSpecificity(String serverName, String sni) {
        if (sni == null) {
            return -1;
        }
        if (serverName.equalsIgnoreCase(sni)) {
            return Integer.MAX_VALUE;
        }
        if (serverName.startsWith("*.")) {
            String suffix = serverName.substring(1);   // ".example.com"
            int start = sni.length() - suffix.length();
            if (start > 0 && sni.regionMatches(true, start, suffix, 0, suffix.length())) {
                return suffix.length();
            }
        }
        return -1;
    }

    /**
     * The chains that may take a connection to this destination IP, as Envoy's filter_chain_match narrows them before
     * server names: those whose destination ranges hold it most specifically (the longest prefix), else those without
     * ranges; empty when neither exists.
     */
    public List<FilterChainSpec> chainsTo(String ip) {
        int best = -1;
        for (FilterChainSpec c : chains) {
            best = Math.max(best, c.destinationSpecificity(ip));
        }
        int chosen = best;
        return best < 0 ? List.of() : chains.stream().filter(c -> c.destinationSpecificity(ip) == chosen).toList();
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
