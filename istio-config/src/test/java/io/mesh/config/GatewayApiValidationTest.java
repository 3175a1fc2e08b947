package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes Gateway API's Gateway and HTTPRoute (gateway.networking.k8s.io v1 and v1beta1) are read and validated
 * as their CRD schemas and istiod's conversion check them; bad input is rejected naming the field.
 */
class GatewayApiValidationTest {

    static ConfigValidator.Result validate(String yaml) {
        return ConfigValidator.validate(YamlDocuments.parse(yaml, "gw.yaml").resources().get(0));
    }

    /** Asserts that {@code yaml} is refused with a reason that contains {@code error} (the field's path and what is wrong). */
    static void assertRejected(String yaml, String error) {
        ConfigValidator.Result r = validate(yaml);
        assertFalse(r.valid(), yaml);
        assertTrue(r.reason().contains(error), r.reason());
    }

    static final String GATEWAY = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: Gateway
            metadata: {name: edge, namespace: istio-system}
            spec:
              gatewayClassName: istio
              addresses:
              - {type: Hostname, value: istio-ingressgateway.istio-system.svc.cluster.local}
              listeners:
              - name: http
                port: 80
                protocol: HTTP
                hostname: "*.example.com"
                allowedRoutes: {namespaces: {from: All}}
              - name: https
                port: 443
                protocol: HTTPS
                tls:
                  certificateRefs: [{name: edge-cert}]
            """;

    @Test
    void istioClassGatewayIsReadWithItsListenersAddressesAndTls() {
        ConfigValidator.Result r = validate(GATEWAY);
        assertTrue(r.valid(), r.reason());
        KubernetesGateway g = (KubernetesGateway) r.model();
        assertTrue(g.owned());
        assertEquals(List.of(new KubernetesGateway.Address("Hostname",
                "istio-ingressgateway.istio-system.svc.cluster.local")), g.addresses());
        assertEquals(new KubernetesGateway.Listener("http", "*.example.com", 80, "HTTP", null, "All", null),
                g.listeners().get(0));
        KubernetesGateway.Listener https = g.listeners().get(1);
        assertEquals("Same", https.from());
        assertEquals(new KubernetesGateway.Tls("Terminate", List.of(new KubernetesGateway.SecretRef("", "Secret",
                "edge-cert", null))), https.tls());
    }

    @Test
    void gatewayApiGatewayIsAnotherResourceThanTheIstioGatewayOfTheSameName() {
        RawResource api = YamlDocuments.parse(GATEWAY, "a.yaml").resources().get(0);
        RawResource istio = YamlDocuments.parse("""
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec: {servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}
                """, "b.yaml").resources().get(0);
        assertNotEquals(api.key(), istio.key());
        assertEquals("Gateway.gateway.networking.k8s.io/istio-system/edge", api.key().toString());
        assertTrue(ConfigValidator.validate(istio).model() instanceof Gateway);
    }

    @Test
    void gatewayOfAnotherClassIsKeptUnvalidatedAndNotOwned() {
        ConfigValidator.Result r = validate("""
                apiVersion: gateway.networking.k8s.io/v1beta1
                kind: Gateway
                metadata: {name: other, namespace: default}
                spec:
                  gatewayClassName: envoy
                  listeners: [{name: x, port: 0, protocol: SCTP, whatever: true}]
                """);
        assertTrue(r.valid(), r.reason());
        assertFalse(((KubernetesGateway) r.model()).owned());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "port: 0                                   | spec.listeners[0].port: must be between 1 and 65535",
        "protocol: SCTP                            | spec.listeners[0].protocol: must be HTTP, HTTPS, TLS, TCP or UDP",
        "hostname: '10.0.0.1'                      | spec.listeners[0].hostname: must be a host name, not an IP address",
        "allowedRoutes: {namespaces: {from: Some}} | spec.listeners[0].allowedRoutes.namespaces.from: must be Same, All or Selector",
        "allowedRoutes: {namespaces: {from: Selector}} | spec.listeners[0].allowedRoutes.namespaces.selector: is required",
        "protocol: HTTPS                           | spec.listeners[0].tls: is required for protocol HTTPS",
        "bogus: 1                                  | spec.listeners[0].bogus: unknown field",
    })
    void invalidListenerIsRejectedNamingTheField(String change, String error) {
        String field = change.substring(0, change.indexOf(':'));
        StringBuilder listener = new StringBuilder("{name: http");
        for (String f : List.of("port: 80", "protocol: HTTP")) {
            if (!f.startsWith(field + ":")) {
                listener.append(", ").append(f);
            }
        }
        listener.append(", ").append(change).append('}');
        assertRejected("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  listeners: [%s]
                """.formatted(listener), error);
    }

    @Test
    void terminatingListenerNeedsExactlyOneSecretReference() {
        ConfigValidator.Result r = validate("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  listeners:
                  - name: https
                    port: 443
                    protocol: HTTPS
                    tls: {certificateRefs: [{name: a, kind: ConfigMap}, {name: b}]}
                """);
        assertTrue(r.reason().contains("spec.listeners[0].tls.certificateRefs[0]: only a Secret"), r.reason());
        assertTrue(r.reason().contains("spec.listeners[0].tls.certificateRefs: exactly one certificateRef"), r.reason());
    }

    static final String ROUTE = """
            apiVersion: gateway.networking.k8s.io/v1beta1
            kind: HTTPRoute
            metadata: {name: web, namespace: demo}
            spec:
              parentRefs: [{name: edge, namespace: istio-system, sectionName: http}]
              hostnames: [web.example.com]
              rules:
              - matches:
                - path: {type: PathPrefix, value: /api}
                  headers: [{name: X-Version, value: v2}]
                  queryParams: [{type: RegularExpression, name: debug, value: "1|true"}]
                  method: GET
                filters:
                - type: RequestHeaderModifier
                  requestHeaderModifier:
                    set: [{name: X-A, value: a}]
                    add: [{name: x-b, value: b}, {name: X-B, value: ignored}]
                    remove: [x-c]
                - type: URLRewrite
                  urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
                backendRefs:
                - {name: web, port: 80, weight: 90}
                - {name: web-canary, port: 80, weight: 10}
                timeouts: {request: 2s}
            """;

    @Test
    void httpRouteIsReadWithParentsMatchesFiltersBackendsAndTimeout() {
        ConfigValidator.Result r = validate(ROUTE);
        assertTrue(r.valid(), r.reason());
        KubernetesHttpRoute route = (KubernetesHttpRoute) r.model();
        assertEquals(List.of(new KubernetesHttpRoute.ParentRef(Kind.GATEWAY_API, "Gateway", "istio-system", "edge", "http",
                null)), route.parentRefs());
        KubernetesHttpRoute.Rule rule = route.rules().get(0);
        assertEquals(new KubernetesHttpRoute.Match(new KubernetesHttpRoute.PathMatch("PathPrefix", "/api"),
                List.of(new KubernetesHttpRoute.ValueMatch("Exact", "x-version", "v2")),
                List.of(new KubernetesHttpRoute.ValueMatch("RegularExpression", "debug", "1|true")), "GET"), rule.matches().get(0));
        assertEquals(new KubernetesHttpRoute.HeaderModifier(Map.of("x-a", "a"), Map.of("x-b", "b"), List.of("x-c")),
                rule.filters().get(0).requestHeaders());
        assertEquals(new KubernetesHttpRoute.PathModifier("ReplacePrefixMatch", "/v2"), rule.filters().get(1).rewrite().path());
        assertEquals(List.of(90, 10), rule.backendRefs().stream().map(KubernetesHttpRoute.BackendRef::weight).toList());
        assertEquals(Duration.ofSeconds(2), rule.request());
        assertEquals(null, rule.retry());
    }

    @Test
    void httpRouteRetryIsReadWithAttemptsBackoffAndCodes() {
        ConfigValidator.Result r = validate(ROUTE.replace("timeouts: {request: 2s}",
                "timeouts: {request: 2s, backendRequest: 500ms}\n    retry: {attempts: 3, backoff: 100ms, codes: [500, 503]}"));
        assertTrue(r.valid(), r.reason());
        assertTrue(r.warnings().isEmpty(), r.warnings().toString());
        KubernetesHttpRoute.Rule rule = ((KubernetesHttpRoute) r.model()).rules().get(0);
        assertEquals(new KubernetesHttpRoute.Retry(3, Duration.ofMillis(100), List.of(500, 503)), rule.retry());
        assertEquals(Duration.ofMillis(500), rule.backendRequest());
    }

    @Test
    void httpRouteCorsFilterIsReadWithItsOriginsMethodsHeadersAndMaxAge() {
        ConfigValidator.Result r = validate(ROUTE.replace("    - type: URLRewrite", """
                    - type: CORS
                      cors:
                        allowOrigins: ["https://app.example.com", "https://*.example.org", "*"]
                        allowCredentials: true
                        allowMethods: [GET, POST]
                        allowHeaders: [x-token, Content-Type]
                        exposeHeaders: [x-trace]
                        maxAge: 600
                    - type: URLRewrite""".indent(4).stripTrailing()));
        assertTrue(r.valid(), r.reason());
        KubernetesHttpRoute.Filter cors = ((KubernetesHttpRoute) r.model()).rules().get(0).filters().get(1);
        assertEquals("CORS", cors.type());
        assertEquals(new KubernetesHttpRoute.Cors(List.of("https://app.example.com", "https://*.example.org", "*"),
                true, List.of("GET", "POST"), List.of("x-token", "Content-Type"), List.of("x-trace"), 600), cors.cors());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "- matches: [{path: {type: Prefix, value: /a}}] | spec.rules[0].matches[0].path.type: must be Exact, PathPrefix or RegularExpression",
        "- matches: [{path: {value: a}}]                | spec.rules[0].matches[0].path.value: must be an absolute path",
        "- matches: [{path: {type: RegularExpression, value: '('}}] | spec.rules[0].matches[0].path.value: invalid regular expression",
        "- matches: [{method: FETCH}]                   | spec.rules[0].matches[0].method: must be one of",
        "- backendRefs: [{name: web}]                   | spec.rules[0].backendRefs[0].port: is required when the backend is a Service",
        "- backendRefs: [{name: web.demo.svc.cluster.local, port: 80}] | spec.rules[0].backendRefs[0].name: must be the name of the Service",
        "- filters: [{type: ExtensionRef, extensionRef: {name: x}}] | spec.rules[0].filters[0].type: unsupported filter type \"ExtensionRef\"",
        "- filters: [{type: RequestRedirect}]           | spec.rules[0].filters[0].requestRedirect: is required for filter type RequestRedirect",
        "- filters: [{type: RequestRedirect, requestRedirect: {statusCode: 307}}] | spec.rules[0].filters[0].requestRedirect.statusCode: must be 301 or 302",
        "- timeouts: {request: soon}                    | spec.rules[0].timeouts.request: invalid duration",
        "- retry: {attempts: -1}                        | spec.rules[0].retry.attempts: must not be negative, got -1",
        "- retry: {backoff: 0s}                         | spec.rules[0].retry.backoff: must be at least 1ms, got \"0s\"",
        "- retry: {backoff: later}                      | spec.rules[0].retry.backoff: invalid duration \"later\"",
        "- retry: {codes: [503, 302]}                   | spec.rules[0].retry.codes[1]: must be between 400 and 599, got 302",
        "- retry: {codes: [5xx]}                        | spec.rules[0].retry.codes[0]: must be an HTTP status code between 400 and 599, got \"5xx\"",
        "- retry: {attempts: 2, perTryTimeout: 1s}      | spec.rules[0].retry.perTryTimeout: unknown field",
        "- filters: [{type: CORS}]                      | spec.rules[0].filters[0].cors: is required for filter type CORS",
        "- filters: [{type: CORS, cors: {allowOrigins: [example.com]}}] | spec.rules[0].filters[0].cors.allowOrigins[0]: must be \"*\" or an origin SCHEME://HOST[:PORT] (the host may be \"*\" or start with \"*.\"), got \"example.com\"",
        "- filters: [{type: CORS, cors: {allowOrigins: ['https://a.example.com/app']}}] | spec.rules[0].filters[0].cors.allowOrigins[0]: must be \"*\" or an origin",
        "- filters: [{type: CORS, cors: {allowOrigins: ['https://a.*.com']}}] | spec.rules[0].filters[0].cors.allowOrigins[0]: must be \"*\" or an origin",
        "- filters: [{type: CORS, cors: {allowMethods: [GET, FETCH]}}] | spec.rules[0].filters[0].cors.allowMethods[1]: must be \"*\" or one of CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE, got \"FETCH\"",
        "- filters: [{type: CORS, cors: {allowMethods: ['*', GET]}}] | spec.rules[0].filters[0].cors.allowMethods: \"*\" allows every method and must be the only one",
        "- filters: [{type: CORS, cors: {allowHeaders: ['x token']}}] | spec.rules[0].filters[0].cors.allowHeaders[0]: must be an HTTP header name, got \"x token\"",
        "- filters: [{type: CORS, cors: {exposeHeaders: ['x:y']}}] | spec.rules[0].filters[0].cors.exposeHeaders[0]: must be an HTTP header name, got \"x:y\"",
        "- filters: [{type: CORS, cors: {maxAge: 0}}]   | spec.rules[0].filters[0].cors.maxAge: must be at least 1 (seconds), got 0",
        "- filters: [{type: CORS, cors: {allowCredentials: 1}}]   | spec.rules[0].filters[0].cors.allowCredentials: must be true or false",
        "- filters: [{type: CORS, cors: {maxAge: 5}}, {type: CORS, cors: {maxAge: 6}}] | spec.rules[0].filters: CORS may be used at most once per rule",
        "- filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}}] | spec.rules[0].filters: ReplacePrefixMatch needs every match of the rule to be a PathPrefix match",
    })
    void invalidRuleIsRejectedNamingTheField(String rules, String error) {
        assertRejected("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web, namespace: demo}
                spec:
                  parentRefs: [{name: edge}]
                  rules: [%s]
                """.formatted(rules.strip().substring(2)), error);
    }

    @Test
    void wrongApiVersionOfHttpRouteIsRejected() {
        ConfigValidator.Result r = validate(ROUTE.replace("v1beta1", "v1alpha1"));
        assertTrue(r.reason().contains("apiVersion: \"gateway.networking.k8s.io/v1alpha1\" is not a version of HTTPRoute"),
                r.reason());
    }
}
