package io.mesh.gateway.capture;

import java.util.ArrayList;
import java.util.List;

/**
 * The iptables rules that capture a pod's traffic, as a pure function of {@link CaptureOptions}: a list of
 * iptables argument lists for the {@code nat} table. Chain names are Istio's, so operators' habits
 * ({@code iptables -t nat -L ISTIO_OUTPUT}) carry over.
 *
 * <pre>
 * PREROUTING -> ISTIO_INBOUND  -> (excluded ports: RETURN) -> ISTIO_IN_REDIRECT -> REDIRECT :inboundPort
 * OUTPUT     -> ISTIO_OUTPUT   -> (the proxy's own uid/gid, loopback, excluded: RETURN) -> ISTIO_REDIRECT -> REDIRECT :proxyPort
 * </pre>
 */
public final class CaptureRules {

    public static final String INBOUND = "ISTIO_INBOUND";
    public static final String IN_REDIRECT = "ISTIO_IN_REDIRECT";
    public static final String OUTPUT = "ISTIO_OUTPUT";
    public static final String REDIRECT = "ISTIO_REDIRECT";

    /** The chains this capture owns; {@link #cleanup()} removes exactly these and the jumps into them. */
    public static final List<String> CHAINS = List.of(INBOUND, IN_REDIRECT, OUTPUT, REDIRECT);

    /** The source address the proxy uses to reach the app on inbound passthrough; never re-captured. */
    static final String INBOUND_PASSTHROUGH_SOURCE = "127.0.0.6/32";

    private CaptureRules() {
    }

    /** The jumps from the built-in chains into ours, each of which {@link #cleanup()} deletes. */
    static List<List<String>> jumps(CaptureOptions options) {
        List<List<String>> jumps = new ArrayList<>();
        if (!options.includeInboundPorts().isEmpty()) {
            jumps.add(List.of("-A", "PREROUTING", "-p", "tcp", "-j", INBOUND));
        }
        jumps.add(List.of("-A", "OUTPUT", "-p", "tcp", "-j", OUTPUT));
        return jumps;
    }

    /** Every rule to add, in order, after {@link #cleanup()} has removed any earlier capture. */
    public static List<List<String>> install(CaptureOptions options) {
        List<List<String>> rules = new ArrayList<>();
        CHAINS.forEach(chain -> rules.add(List.of("-N", chain)));
        rules.add(List.of("-A", REDIRECT, "-p", "tcp", "-j", "REDIRECT", "--to-ports", Integer.toString(options.proxyPort())));
        rules.add(List.of("-A", IN_REDIRECT, "-p", "tcp", "-j", "REDIRECT", "--to-ports", Integer.toString(options.inboundPort())));

        // Inbound: the proxy's own ports and the excluded ones pass; the rest goes to the inbound listener.
        for (int port : options.excludeInboundPorts()) {
            rules.add(List.of("-A", INBOUND, "-p", "tcp", "--dport", Integer.toString(port), "-j", "RETURN"));
        }
        if (options.includeInboundPorts().contains(CaptureOptions.ALL)) {
            rules.add(List.of("-A", INBOUND, "-p", "tcp", "-j", IN_REDIRECT));
        } else {
            for (String port : options.includeInboundPorts()) {
                rules.add(List.of("-A", INBOUND, "-p", "tcp", "--dport", port, "-j", IN_REDIRECT));
            }
        }

        // Outbound: never the proxy's own traffic (it would loop), nor loopback, nor what is excluded.
        String uid = Integer.toString(options.proxyUid());
        String gid = Integer.toString(options.proxyGid());
        rules.add(List.of("-A", OUTPUT, "-o", "lo", "-s", INBOUND_PASSTHROUGH_SOURCE, "-j", "RETURN"));
        // The proxy calling the app's own pod IP over loopback is inbound traffic for the app.
        rules.add(List.of("-A", OUTPUT, "!", "-d", "127.0.0.1/32", "-o", "lo", "-m", "owner", "--uid-owner", uid, "-j", IN_REDIRECT));
        rules.add(List.of("-A", OUTPUT, "-o", "lo", "-m", "owner", "!", "--uid-owner", uid, "-j", "RETURN"));
        rules.add(List.of("-A", OUTPUT, "-m", "owner", "--uid-owner", uid, "-j", "RETURN"));
        rules.add(List.of("-A", OUTPUT, "!", "-d", "127.0.0.1/32", "-o", "lo", "-m", "owner", "--gid-owner", gid, "-j", IN_REDIRECT));
        rules.add(List.of("-A", OUTPUT, "-o", "lo", "-m", "owner", "!", "--gid-owner", gid, "-j", "RETURN"));
        rules.add(List.of("-A", OUTPUT, "-m", "owner", "--gid-owner", gid, "-j", "RETURN"));
        rules.add(List.of("-A", OUTPUT, "-d", "127.0.0.1/32", "-j", "RETURN"));
        for (int port : options.excludeOutboundPorts()) {
            rules.add(List.of("-A", OUTPUT, "-p", "tcp", "--dport", Integer.toString(port), "-j", "RETURN"));
        }
        for (String cidr : options.excludeOutboundCidrs()) {
            rules.add(List.of("-A", OUTPUT, "-d", cidr, "-j", "RETURN"));
        }
        if (options.includeOutboundCidrs().contains(CaptureOptions.ALL)) {
            rules.add(List.of("-A", OUTPUT, "-j", REDIRECT));
        } else {
            for (String cidr : options.includeOutboundCidrs()) {
                rules.add(List.of("-A", OUTPUT, "-d", cidr, "-j", REDIRECT));
            }
        }
        rules.addAll(jumps(options));
        return rules;
    }

    /**
     * What removes a capture, whatever options installed it: the jumps from PREROUTING and OUTPUT (each
     * deleted until none is left), then our chains, flushed and deleted. Each may fail harmlessly when
     * nothing is installed.
     */
    public static List<List<String>> cleanup() {
        List<List<String>> rules = new ArrayList<>();
        rules.add(List.of("-D", "PREROUTING", "-p", "tcp", "-j", INBOUND));
        rules.add(List.of("-D", "OUTPUT", "-p", "tcp", "-j", OUTPUT));
        CHAINS.forEach(chain -> rules.add(List.of("-F", chain)));
        CHAINS.forEach(chain -> rules.add(List.of("-X", chain)));
        return rules;
    }
}
