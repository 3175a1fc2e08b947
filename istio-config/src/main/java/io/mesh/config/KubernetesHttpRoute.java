package io.mesh.config;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A validated Kubernetes Gateway API {@code HTTPRoute} (gateway.networking.k8s.io v1 or v1beta1), before pilot binds it
 * to Gateways. {@code hostnames}: empty for any host.
 */
public record KubernetesHttpRoute(String namespace, String name, List<ParentRef> parentRefs, List<String> hostnames,
        List<Rule> rules, Instant created) {
    public KubernetesHttpRoute {
        parentRefs = List.copyOf(parentRefs);
        hostnames = List.copyOf(hostnames);
        rules = List.copyOf(rules);
    }

    /**
     * A parent: a Gateway (group gateway.networking.k8s.io, kind Gateway: the defaults) by name, in {@code namespace}
     * (null: the route's), one listener of it by {@code sectionName} and/or {@code port} (null: all); or a Service
     * or ServiceEntry (GAMMA), whose {@code port} narrows the route to that port of it.
     */
    public record ParentRef(String group, String kind, String namespace, String name, String sectionName,
            Integer port) {
        /** Whether it names a Gateway API Gateway (rather than a Mesh or another controller's kind). */
        public boolean gateway() {
            return Kind.GATEWAY_API.equals(group) && "Gateway".equals(kind);
        }

        /** Whether it names a Kubernetes Service (group "" or "core"): a GAMMA mesh route for its sidecars. */
        public boolean service() {
            return ("".equals(group) || "core".equals(group)) && "Service".equals(kind);
        }

        /** Whether it names an Istio ServiceEntry (group networking.istio.io): a mesh route for its hosts. */
        public boolean serviceEntry() {
            return "networking.istio.io".equals(group) && "ServiceEntry".equals(kind);
        }

        /** Whether it is a mesh parent (istiod's meshParentKey): a Service or a ServiceEntry. */
        public boolean mesh() {
            return service() || serviceEntry();
        }
    }

    /**
     * {@code request} and {@code backendRequest}: {@code timeouts}, each null when unset (0: none); {@code retry}: the
     * rule's {@code retry} (Gateway API v1.2, experimental), or null.
     */
    public record Rule(String name, List<Match> matches, List<Filter> filters, List<BackendRef> backendRefs,
            Duration request, Duration backendRequest, Retry retry) {
        public Rule {
            matches = List.copyOf(matches);
            filters = List.copyOf(filters);
            backendRefs = List.copyOf(backendRefs);
        }

        /** A rule without timeouts or retry (GRPCRoute's, TLSRoute's and TCPRoute's as an HTTPRoute's). */
        public Rule(String name, List<Match> matches, List<Filter> filters, List<BackendRef> backendRefs) {
            this(name, matches, filters, backendRefs, null, null, null);
        }
    }

    /**
     * A rule's {@code retry}: {@code attempts} (null: unset, the implementation's default), {@code backoff} (null:
     * unset) and the HTTP status {@code codes} (400-599) that are retried besides connection errors.
     */
    public record Retry(Integer attempts, Duration backoff, List<Integer> codes) {
        public Retry {
            codes = List.copyOf(codes);
        }
    }

    /** {@code path}: null for none (PathPrefix "/"); {@code method}: null for any. */
    public record Match(PathMatch path, List<ValueMatch> headers, List<ValueMatch> queryParams, String method) {
        public Match {
            headers = List.copyOf(headers);
            queryParams = List.copyOf(queryParams);
        }
    }

    /** {@code type}: Exact, PathPrefix or RegularExpression. */
    public record PathMatch(String type, String value) {
    }

    /** A header or query parameter condition: {@code type} Exact or RegularExpression. */
    public record ValueMatch(String type, String name, String value) {
    }

    /**
     * A filter: exactly the field its {@code type} names is set (RequestHeaderModifier, ResponseHeaderModifier,
     * RequestRedirect, URLRewrite, RequestMirror, CORS).
     */
    public record Filter(String type, HeaderModifier requestHeaders, HeaderModifier responseHeaders, Redirect redirect,
            Rewrite rewrite, Mirror mirror, Cors cors) {
    }

    /**
     * The CORS filter (Gateway API v1.3, experimental): {@code allowOrigins} "*" or {@code SCHEME://HOST[:PORT]}, whose
     * host may be or start with a "*" wildcard; {@code maxAge} in seconds, null when unset.
     */
    public record Cors(List<String> allowOrigins, boolean allowCredentials, List<String> allowMethods,
            List<String> allowHeaders, List<String> exposeHeaders, Integer maxAge) {
        public Cors {
            allowOrigins = List.copyOf(allowOrigins);
            allowMethods = List.copyOf(allowMethods);
            allowHeaders = List.copyOf(allowHeaders);
            exposeHeaders = List.copyOf(exposeHeaders);
        }
    }

    /** set, add (each name once: later ones of the same name are ignored, as the spec says) and remove. */
    public record HeaderModifier(java.util.Map<String, String> set, java.util.Map<String, String> add,
            List<String> remove) {
        public HeaderModifier {
            set = java.util.Map.copyOf(set);
            add = java.util.Map.copyOf(add);
            remove = List.copyOf(remove);
        }
    }

    /** A path modifier: {@code type} ReplaceFullPath or ReplacePrefixMatch, with its value. */
    public record PathModifier(String type, String value) {
    }

    /** RequestRedirect: each field null when unset. */
    public record Redirect(String scheme, String hostname, PathModifier path, Integer port, Integer statusCode) {
    }

    /** URLRewrite: each field null when unset. */
    public record Rewrite(String hostname, PathModifier path) {
    }

    /** RequestMirror: the backend, and the share of requests mirrored in percent (null: all). */
    public record Mirror(BackendRef backend, Double percent) {
    }

    /**
     * A backend: a Service (group "" and kind Service, the defaults) by name, in {@code namespace} (null: the route's),
     * on {@code port}; {@code weight} 1 by default; {@code filters}: its own header modifiers.
     */
    public record BackendRef(String group, String kind, String name, String namespace, Integer port, int weight,
            List<Filter> filters) {
        public BackendRef {
            filters = List.copyOf(filters);
        }

        /** Whether it names a Kubernetes Service. */
        public boolean service() {
            return group.isEmpty() && kind.equals("Service");
        }
    }
}
