package io.mesh.pilot.model;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The {@code extensionProviders[]} of Istio's MeshConfig with {@code envoyExtAuthzHttp}, which an AuthorizationPolicy
 * of action CUSTOM names by {@code provider.name} (exactly, as istiod's getExtAuthz). Checked when parsed as istiod's
 * ValidateExtensionProviderEnvoyExtAuthzHTTP and buildExtAuthzHTTP check them, each error naming the entry and the
 * field; istiod would log the error and deny what the policies match, here pilot refuses the setting at startup.
 * Immutable.
 */
public record ExtAuthzProviders(List<HttpProvider> providers) {
    public static final ExtAuthzProviders NONE = new ExtAuthzProviders(List.of());

    /** The fields istio/api's EnvoyExternalAuthorizationHttpProvider documents, with a provider name. */
    private static final Set<String> FIELDS = Set.of("service", "port", "timeout", "pathPrefix", "failOpen",
            "statusOnError", "includeRequestHeadersInCheck", "includeAdditionalHeadersInCheck",
            "includeRequestBodyInCheck", "headersToUpstreamOnAllow", "headersToDownstreamOnDeny",
            "headersToDownstreamOnAllow", "includeHeadersInCheck");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?");

    /**
     * {@code includeRequestBodyInCheck}: Envoy's BufferSettings.
     */
    public record RequestBody(int maxRequestBytes, boolean allowPartialMessage, boolean packAsBytes) {
    }

    /**
     * One envoyExtAuthzHttp provider. {@code service}: "NAMESPACE/HOSTNAME" or "HOSTNAME"; {@code timeout} null: istiod's
     * 600s; {@code statusOnError} 0: not set; {@code additionalHeaders} sorted by name (istiod sorts them);
     * {@code requestBody} null: not set.
     */
    public record HttpProvider(String name, String service, int port, Duration timeout, String pathPrefix,
            boolean failOpen, int statusOnError, List<String> requestHeaders, Map<String, String> additionalHeaders,
            RequestBody requestBody, List<String> upstreamOnAllow, List<String> downstreamOnDeny,
            List<String> downstreamOnAllow) {
        public HttpProvider {
            requestHeaders = List.copyOf(requestHeaders);
            additionalHeaders = java.util.Collections.unmodifiableMap(new TreeMap<>(additionalHeaders));
            upstreamOnAllow = List.copyOf(upstreamOnAllow);
            downstreamOnDeny = List.copyOf(downstreamOnDeny);
            downstreamOnAllow = List.copyOf(downstreamOnAllow);
        }
    }

    public ExtAuthzProviders {
        providers = List.copyOf(providers);
    }

    /** The provider named exactly {@code name}, or null. */
    public HttpProvider provider(String name) {
        for (HttpProvider p : providers) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    /**
     * istiod's LookupCluster: "NAMESPACE/HOSTNAME" is the service of that hostname in that namespace; a hostname alone
     * the service of that hostname (one per hostname here). Null when the registry has none.
     */
    public static ServiceModel lookup(Map<String, ServiceModel> services, String service) {
        int slash = service.indexOf('/');
        ServiceModel svc = services.get(slash < 0 ? service : service.substring(slash + 1));
        if (svc == null || (slash >= 0 && !svc.namespace().equals(service.substring(0, slash)))) {
            return null;
        }
        return svc;
    }

    /**
     * A warning for each CUSTOM policy these providers cannot serve (its provider is not one of them, or the provider's
     * service is not in the registry): the requests its rules match are denied, as istiod denies them.
     */
    List<String> unusable(List<io.mesh.config.PolicyConfig.AuthorizationPolicy> policies,
            Map<String, ServiceModel> services) {
        List<String> out = new ArrayList<>();
        for (io.mesh.config.PolicyConfig.AuthorizationPolicy ap : policies) {
            if (!"CUSTOM".equals(ap.action())) {
                continue;
            }
            String at = "AuthorizationPolicy " + ap.namespace() + "/" + ap.name() + ": provider \"" + ap.provider() + "\" ";
            HttpProvider p = provider(ap.provider());
            if (p == null) {
                out.add(at + "is not an envoyExtAuthzHttp provider of extension-providers; the requests its rules match"
                        + " are denied");
            } else if (lookup(services, p.service()) == null) {
                out.add(at + "has service " + p.service() + ", which is not in the registry; the requests its rules"
                        + " match are denied");
            }
        }
        return out;
    }

    /**
     * meshConfig {@code extensionProviders} as YAML or JSON: the {@code envoyExtAuthzHttp} providers, in order. Names
     * must be unique over all providers (istiod: "extension provider name must be unique").
     */
    public static ExtAuthzProviders parse(String yaml) {
        List<HttpProvider> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        List<Map<?, ?>> entries = AccessLogFormats.entries(yaml);
        for (int i = 0; i < entries.size(); i++) {
            Map<?, ?> entry = entries.get(i);
            String name = (String) entry.get("name");
            if (!names.add(name)) {
                throw new IllegalArgumentException("extensionProviders[" + i + "].name: provider \"" + name
                        + "\" is defined twice");
            }
            Object http = entry.get("envoyExtAuthzHttp");
            if (http != null) {
                out.add(http("extensionProviders[" + i + "].envoyExtAuthzHttp", name, http));
            }
        }
        return new ExtAuthzProviders(out);
    }

    private static HttpProvider http(String at, String name, Object value) {
        if (!(value instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(at + " must be an object");
        }
        for (Object key : m.keySet()) {
            if (!FIELDS.contains(key)) {
                throw new IllegalArgumentException(at + "." + key + " is not a field of envoyExtAuthzHttp");
            }
        }
        String service = string(m, at, "service");
        checkService(at + ".service", service);
        Object portValue = m.get("port");
        if (!(portValue instanceof Integer port) || port < 1 || port > 65535) {
            throw new IllegalArgumentException(at + ".port: port must be in the range [1, 65535], found: " + portValue);
        }
        Duration timeout = null;
        String t = string(m, at, "timeout");
        if (!t.isEmpty()) {
            timeout = io.mesh.config.SpecReader.parseDuration(t);
            if (timeout == null || timeout.isNegative()) {
                throw new IllegalArgumentException(at + ".timeout: invalid duration \"" + t + "\" (use e.g. 500ms, 10s)");
            }
        }
        String pathPrefix = string(m, at, "pathPrefix");
        if (!pathPrefix.isEmpty()) {
            if (!pathPrefix.startsWith("/")) {
                throw new IllegalArgumentException(at + ".pathPrefix must begin with `/`, found: \"" + pathPrefix + "\"");
            }
            try {
                new java.net.URI(pathPrefix);
            } catch (java.net.URISyntaxException e) {
                throw new IllegalArgumentException(at + ".pathPrefix: invalid pathPrefix \"" + pathPrefix + "\": "
                        + e.getReason());
            }
        }
        int status = statusOnError(at + ".statusOnError", string(m, at, "statusOnError"));
        List<String> requestHeaders = headers(m, at, "includeRequestHeadersInCheck");
        if (requestHeaders.isEmpty()) {
            // istiod: the deprecated includeHeadersInCheck, only when includeRequestHeadersInCheck is not set.
            requestHeaders = headers(m, at, "includeHeadersInCheck");
        }
        return new HttpProvider(name, service, (Integer) portValue, timeout, pathPrefix, bool(m, at, "failOpen"), status,
                requestHeaders, additionalHeaders(m, at), requestBody(m, at),
                headers(m, at, "headersToUpstreamOnAllow"), headers(m, at, "headersToDownstreamOnDeny"),
                headers(m, at, "headersToDownstreamOnAllow"));
    }

    /** istiod's validateExtensionProviderService: "NAMESPACE/HOSTNAME", or an FQDN or IP address alone. */
    private static void checkService(String at, String service) {
        if (service.isEmpty()) {
            throw new IllegalArgumentException(at + ": service must not be empty");
        }
        String[] parts = service.split("/", -1);
        if (parts.length > 2 || (parts.length == 2 && parts[0].isEmpty())) {
            throw new IllegalArgumentException(at + ": \"" + service + "\" must be NAMESPACE/HOSTNAME or HOSTNAME");
        }
        String host = parts[parts.length - 1];
        if (!isIp(host) && !isFqdn(host)) {
            throw new IllegalArgumentException(at + ": invalid service host \"" + host + "\" (a DNS name or an IP address)");
        }
    }

    private static boolean isFqdn(String host) {
        if (host.isEmpty() || host.length() > 255) {
            return false;
        }
        for (String label : (host.endsWith(".") ? host.substring(0, host.length() - 1) : host).split("\\.", -1)) {
            if (!DNS_LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }

    private static boolean isIp(String host) {
        return host.matches("[0-9.]+") ? host.matches("(\\d{1,3}\\.){3}\\d{1,3}") : host.contains(":")
                && host.matches("[0-9a-fA-F:.]+");
    }

    /** istiod's parseStatusOnError: empty (not set) or a code of Envoy's StatusCode enum. */
    private static int statusOnError(String at, String s) {
        if (s.isEmpty()) {
            return 0;
        }
        int code;
        try {
            code = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(at + ": invalid statusOnError \"" + s + "\": not a number");
        }
        io.envoyproxy.envoy.type.v3.StatusCode c = io.envoyproxy.envoy.type.v3.StatusCode.forNumber(code);
        if (c == null || c == io.envoyproxy.envoy.type.v3.StatusCode.Empty) {
            throw new IllegalArgumentException(at + ": unsupported statusOnError " + s + " (an HTTP status code of"
                    + " Envoy's StatusCode)");
        }
        return code;
    }

    private static RequestBody requestBody(Map<?, ?> m, String at) {
        Object v = m.get("includeRequestBodyInCheck");
        if (v == null) {
            return null;
        }
        String here = at + ".includeRequestBodyInCheck";
        if (!(v instanceof Map<?, ?> body)) {
            throw new IllegalArgumentException(here + " must be an object");
        }
        for (Object key : body.keySet()) {
            if (!Set.of("maxRequestBytes", "allowPartialMessage", "packAsBytes").contains(key)) {
                throw new IllegalArgumentException(here + "." + key + " is not a field (maxRequestBytes,"
                        + " allowPartialMessage, packAsBytes are)");
            }
        }
        Object max = body.get("maxRequestBytes");
        if (max != null && (!(max instanceof Integer n) || n < 0)) {
            throw new IllegalArgumentException(here + ".maxRequestBytes must be a non-negative integer, found: " + max);
        }
        return new RequestBody(max == null ? 0 : (Integer) max, bool(body, here, "allowPartialMessage"),
                bool(body, here, "packAsBytes"));
    }

    private static Map<String, String> additionalHeaders(Map<?, ?> m, String at) {
        Object v = m.get("includeAdditionalHeadersInCheck");
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map<?, ?> h)) {
            throw new IllegalArgumentException(at + ".includeAdditionalHeadersInCheck must be an object of header: value");
        }
        Map<String, String> out = new TreeMap<>();
        h.forEach((k, value) -> {
            if (!(value instanceof String s)) {
                throw new IllegalArgumentException(at + ".includeAdditionalHeadersInCheck." + k + " must be a string");
            }
            out.put(String.valueOf(k), s);
        });
        return out;
    }

    /** A list of header names; istiod's buildExtAuthzHTTP refuses a single wildcard ("*") in any of them. */
    private static List<String> headers(Map<?, ?> m, String at, String field) {
        Object v = m.get(field);
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException(at + "." + field + " must be a list of header names");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof String s) || s.isEmpty()) {
                throw new IllegalArgumentException(at + "." + field + "[" + i + "] must be a header name");
            }
            if (s.equals("*")) {
                throw new IllegalArgumentException(at + "." + field + "[" + i + "]: a single wildcard (\"*\") is not"
                        + " supported, change it to either prefix or suffix match");
            }
            out.add(s);
        }
        return out;
    }

    private static String string(Map<?, ?> m, String at, String field) {
        Object v = m.get(field);
        if (v != null && !(v instanceof String)) {
            throw new IllegalArgumentException(at + "." + field + " must be a string");
        }
        return v == null ? "" : (String) v;
    }

    private static boolean bool(Map<?, ?> m, String at, String field) {
        Object v = m.get(field);
        if (v != null && !(v instanceof Boolean)) {
            throw new IllegalArgumentException(at + "." + field + " must be true or false");
        }
        return Boolean.TRUE.equals(v);
    }
}
