package io.mesh.gateway.route;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One RouteConfiguration, compiled: virtual hosts indexed by domain in Envoy's order (exact, then the
 * longest {@code *.suffix}, then the longest {@code prefix.*}, then {@code *}). Immutable; a config change
 * builds a new table and swaps it in, so a request only ever sees one consistent table.
 */
public final class RouteTable {

    private final String name;
    private final List<VirtualHost> virtualHosts;
    private final HeaderMutation requestHeaders;
    private final HeaderMutation responseHeaders;
    private final Map<String, VirtualHost> exact = new HashMap<>();
    private final List<Map.Entry<String, VirtualHost>> suffixes = new ArrayList<>();
    private final List<Map.Entry<String, VirtualHost>> prefixes = new ArrayList<>();
    private VirtualHost any;

    public RouteTable(String name, List<VirtualHost> virtualHosts, HeaderMutation requestHeaders,
            HeaderMutation responseHeaders) {
        this.name = name;
        this.virtualHosts = List.copyOf(virtualHosts);
        this.requestHeaders = requestHeaders;
        this.responseHeaders = responseHeaders;
        for (VirtualHost vh : virtualHosts) {
            for (String d : vh.domains()) {
                String domain = d.toLowerCase(Locale.ROOT);
                if (domain.equals("*")) {
                    if (any == null) {
                        any = vh;
                    }
                } else if (domain.startsWith("*")) {
                    suffixes.add(Map.entry(domain.substring(1), vh));
                } else if (domain.endsWith("*")) {
                    prefixes.add(Map.entry(domain.substring(0, domain.length() - 1), vh));
                } else {
                    exact.putIfAbsent(domain, vh);
                }
            }
        }
        Comparator<Map.Entry<String, VirtualHost>> longestFirst = Comparator.comparingInt(e -> -e.getKey().length());
        suffixes.sort(longestFirst);
        prefixes.sort(longestFirst);
    }

    public String name() {
        return name;
    }

    public List<VirtualHost> virtualHosts() {
        return virtualHosts;
    }

    public HeaderMutation requestHeaders() {
        return requestHeaders;
    }

    public HeaderMutation responseHeaders() {
        return responseHeaders;
    }

    /** The virtual host for an authority, tried with its port first and then without it. */
    public VirtualHost virtualHost(String authority) {
        if (authority == null || (exact.isEmpty() && suffixes.isEmpty() && prefixes.isEmpty())) {
            return any;   // only a "*" domain (or none): nothing to look up
        }
        String host = authority.toLowerCase(Locale.ROOT);
        VirtualHost vh = byDomain(host);
        if (vh == null) {
            int colon = host.lastIndexOf(':');
            if (colon > 0 && host.indexOf(']') < colon) {
                vh = byDomain(host.substring(0, colon));
            }
        }
        return vh != null ? vh : any;
    }

    private VirtualHost byDomain(String host) {
        VirtualHost vh = exact.get(host);
        if (vh != null) {
            return vh;
        }
        for (Map.Entry<String, VirtualHost> e : suffixes) {
            if (host.endsWith(e.getKey()) && host.length() > e.getKey().length()) {
                return e.getValue();
            }
        }
        for (Map.Entry<String, VirtualHost> e : prefixes) {
            if (host.startsWith(e.getKey()) && host.length() > e.getKey().length()) {
                return e.getValue();
            }
        }
        return null;
    }
}
