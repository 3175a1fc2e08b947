package io.mesh.config;

import java.util.regex.Pattern;

/** Host name rules shared by the parsers, and how Istio resolves a short name in a namespace. */
public final class Hosts {
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z0-9]([-a-zA-Z0-9_]{0,61}[a-zA-Z0-9])?");
    public static final String DOMAIN_SUFFIX = "svc.cluster.local";

    private Hosts() {
    }

    /** Returns an error message, or null when {@code host} is a valid (optionally wildcard) DNS name. */
    public static String check(String host, boolean allowWildcard) {
        if (host == null || host.isEmpty()) {
            return "host must not be empty";
        }
        if (host.length() > 253) {
            return "host \"" + host + "\" is longer than 253 characters";
        }
        String rest = host;
        if (host.equals("*")) {
            return allowWildcard ? null : "wildcard host \"*\" is not allowed here";
        }
        if (host.startsWith("*.")) {
            if (!allowWildcard) {
                return "wildcard host \"" + host + "\" is not allowed here";
            }
            rest = host.substring(2);
        }
        for (String label : rest.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return "host \"" + host + "\" is not a valid DNS name (label \"" + label + "\")";
            }
        }
        return null;
    }

    /**
     * Whether {@code pattern} ("*", "*.suffix" or a name) takes {@code host}, as Istio's host matching does for one
     * direction: a name takes itself, "*" takes every name, "*.example.com" takes "a.example.com",
     * "a.b.example.com" and the narrower wildcard "*.b.example.com".
     */
    public static boolean covers(String pattern, String host) {
        return pattern.equals("*") || pattern.equals(host)
                || (pattern.startsWith("*.") && host.endsWith(pattern.substring(1)));
    }

    /** Istio's short-name rule: "web" in namespace "demo" is "web.demo.svc.cluster.local"; a name with a dot is kept. */
    private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    /** Whether {@code name} is a Kubernetes namespace name (an RFC 1123 label: lower-case, digits, '-', at most 63). */
    public static boolean isNamespace(String name) {
        return NAMESPACE.matcher(name).matches();
    }

    public static String resolve(String host, String namespace) {
        if (host.contains(".") || host.equals("*")) {
            return host;
        }
        return host + "." + namespace + "." + DOMAIN_SUFFIX;
    }
}
