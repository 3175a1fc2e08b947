package io.mesh.gateway.model;

import io.mesh.gateway.route.RouteTable;
import java.util.List;

/**
 * One filter chain of a listener: the SNI names it serves (empty = any), the SDS secret that terminates
 * TLS (null = plain HTTP), and its routes, by RDS name or inline.
 */
public record FilterChainSpec(List<String> serverNames, String secretName, String routeConfigName,
        RouteTable inlineRoutes, List<String> alpn) {

    public boolean tls() {
        return secretName != null;
    }

    public boolean servesSni(String sni) {
        if (serverNames.isEmpty()) {
            return true;
        }
        if (sni == null) {
            return false;
        }
        for (String n : serverNames) {
            if (n.equalsIgnoreCase(sni) || (n.startsWith("*.") && sni.toLowerCase().endsWith(n.substring(1).toLowerCase()))) {
                return true;
            }
        }
        return false;
    }
}
