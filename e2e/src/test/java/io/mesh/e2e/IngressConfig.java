package io.mesh.e2e;

/**
 * {@link IngressGatewayIT}'s Istio YAML, as a user writes it for local-mode pilot: the Gateway istio-system/edge, the
 * VirtualServices of namespace shop bound to it, and ServiceEntries for the backends on 127.0.0.1.
 */
final class IngressConfig {

    private IngressConfig() {
    }

    /** The Gateway istio-system/edge: every server of the ingress cases, on the given ports. */
    static String gateway(int passthrough, int tcp, int mutual, int mutualSan, int http, int https, int optionalMutual,
            int tlsTerminated, int redirect) {
        return """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata:
                  name: edge
                  namespace: istio-system
                spec:
                  selector:
                    istio: ingressgateway
                  servers:
                  - port: {number: %d, name: tls-passthrough, protocol: TLS}
                    hosts: [shop/*.tls.example]
                    tls:
                      mode: PASSTHROUGH
                  - port: {number: %d, name: tcp-echo, protocol: TCP}
                    hosts: [shop/echo.example]
                  - port: {number: %d, name: https-mutual, protocol: HTTPS}
                    hosts: [shop/api.example]
                    tls:
                      mode: MUTUAL
                      credentialName: api
                  - port: {number: %d, name: https-alice, protocol: HTTPS}
                    hosts: [shop/api.example]
                    tls:
                      mode: MUTUAL
                      credentialName: api
                      subjectAltNames: [alice.partners.example]
                  - port: {number: %d, name: http, protocol: HTTP}
                    hosts: [shop/cors.example]
                  - port: {number: %8$d, name: tls-db, protocol: TLS}
                    hosts: [shop/db.example]
                    tls:
                      mode: SIMPLE
                      credentialName: db
                  - port: {number: %9$d, name: http-redirect, protocol: HTTP}
                    hosts: [shop/*.shop.example, shop/legacy.example]
                    tls:
                      httpsRedirect: true
                  - port: {number: %7$d, name: https-optional, protocol: HTTPS}
                    hosts: [shop/api.example]
                    tls:
                      mode: OPTIONAL_MUTUAL
                      credentialName: api
                  - port: {number: %6$d, name: https-wildcard, protocol: HTTPS}
                    hosts: [shop/*.shop.example]
                    tls:
                      mode: SIMPLE
                      credentialName: wildcard-shop
                  - port: {number: %6$d, name: https-api, protocol: HTTPS}
                    hosts: [shop/api.shop.example]
                    tls:
                      mode: SIMPLE
                      credentialName: api-shop
                """.formatted(passthrough, tcp, mutual, mutualSan, http, https, optionalMutual,
                tlsTerminated, redirect);
    }

    /**
     * A Kubernetes Gateway API Gateway istio-system/edge-api served by the router (its address names a ServiceEntry
     * whose workloadSelector selects it, as in local mode): a TLS Passthrough listener for a.tls.example with a
     * TLSRoute to secure-a, a TLS Terminate listener for db.example (Secret db) and a TCP listener, each with a TCPRoute
     * (to echo-1 and echo-2), and on the Terminate listener's port another for api.shop.example (Secret api-shop) with a
     * TLSRoute to echo-2 (the Gateway API's TLSRouteModeTerminate).
     */
    static String gatewayApi(int tlsPort, int tlsTerminatedPort, int tcpPort) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: istio-ingressgateway, namespace: istio-system}
                spec:
                  hosts: [istio-ingressgateway.istio-system.svc.cluster.local]
                  location: MESH_INTERNAL
                  ports: [{number: 8080, name: http, protocol: HTTP}]
                  resolution: STATIC
                  workloadSelector: {labels: {istio: ingressgateway}}
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge-api, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  addresses: [{type: Hostname, value: istio-ingressgateway}]
                  listeners:
                  - name: tls
                    port: %d
                    protocol: TLS
                    hostname: a.tls.example
                    tls: {mode: Passthrough}
                    allowedRoutes: {namespaces: {from: All}}
                  - name: tls-term
                    port: %d
                    protocol: TLS
                    hostname: db.example
                    tls: {mode: Terminate, certificateRefs: [{name: db}]}
                    allowedRoutes: {namespaces: {from: All}}
                  - name: tls-route-term
                    port: %2$d
                    protocol: TLS
                    hostname: api.shop.example
                    tls: {mode: Terminate, certificateRefs: [{name: api-shop}]}
                    allowedRoutes: {namespaces: {from: All}}
                  - {name: tcp, port: %3$d, protocol: TCP, allowedRoutes: {namespaces: {from: All}}}
                ---
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TLSRoute
                metadata: {name: secure, namespace: shop}
                spec:
                  parentRefs: [{name: edge-api, namespace: istio-system, sectionName: tls}]
                  rules: [{backendRefs: [{name: secure-a, port: 443}]}]
                ---
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TLSRoute
                metadata: {name: echo-tls, namespace: shop}
                spec:
                  parentRefs: [{name: edge-api, namespace: istio-system, sectionName: tls-route-term}]
                  hostnames: [api.shop.example]
                  rules: [{backendRefs: [{name: echo-2, port: 9000}]}]
                ---
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TCPRoute
                metadata: {name: db, namespace: shop}
                spec:
                  parentRefs: [{name: edge-api, namespace: istio-system, sectionName: tls-term}]
                  rules: [{backendRefs: [{name: echo-1, port: 9000}]}]
                ---
                apiVersion: gateway.networking.k8s.io/v1alpha2
                kind: TCPRoute
                metadata: {name: echo, namespace: shop}
                spec:
                  parentRefs: [{name: edge-api, namespace: istio-system, sectionName: tcp}]
                  rules: [{backendRefs: [{name: echo-2, port: 9000}]}]
                """.formatted(tlsPort, tlsTerminatedPort, tcpPort);
    }

    /**
     * An HTTP listener of the Gateway API Gateway istio-system/edge-tls (served by the router, as
     * {@link #gatewayApi}'s), whose HTTPRoute for api.backend.example goes to the HTTPS backend api-backend (port 443
     * on {@code backendPort}); the BackendTLSPolicy api-backend-tls makes the router originate TLS to it with SNI
     * api.backend.example, verified by the CA in ConfigMap shop/backends-ca ({@code caPem}).
     */
    static String backendTls(int listenerPort, int backendPort, String caPem) {
        return gatewayApi(0, 0, 0).substring(0, gatewayApi(0, 0, 0).indexOf("---")) + """
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: Gateway
                metadata: {name: edge-tls, namespace: istio-system}
                spec:
                  gatewayClassName: istio
                  addresses: [{type: Hostname, value: istio-ingressgateway}]
                  listeners:
                  - {name: http, port: %d, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: api-backend, namespace: shop}
                spec:
                  parentRefs: [{name: edge-tls, namespace: istio-system}]
                  hostnames: [api.backend.example]
                  rules: [{backendRefs: [{name: api-backend, port: 443}]}]
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: BackendTLSPolicy
                metadata: {name: api-backend-tls, namespace: shop}
                spec:
                  targetRefs: [{group: "", kind: Service, name: api-backend}]
                  validation:
                    caCertificateRefs: [{group: "", kind: ConfigMap, name: backends-ca}]
                    hostname: api.backend.example
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: backends-ca, namespace: shop}
                data:
                  ca.crt: |
                %s---
                """.formatted(listenerPort, caPem.indent(4)) + serviceEntry("api-backend", 443, "http", "HTTP", backendPort);
    }

    /** The Gateway istio-system/cross-network: an AUTO_PASSTHROUGH server for every service under *.local. */
    static String eastWestGateway(int port) {
        return """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata:
                  name: cross-network
                  namespace: istio-system
                spec:
                  selector:
                    istio: ingressgateway
                  servers:
                  - port: {number: %d, name: tls, protocol: TLS}
                    hosts: ["*.local"]
                    tls:
                      mode: AUTO_PASSTHROUGH
                """.formatted(port);
    }

    /** TLS passthrough routes by SNI: *.tls.example to secure-b (listed first), a.tls.example to secure-a. */
    static String secureRoutes(int port) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: secure
                  namespace: shop
                spec:
                  hosts: ["*.tls.example"]
                  gateways: [istio-system/edge]
                  tls:
                  - match:
                    - port: %1$d
                      sniHosts: ["*.tls.example"]
                    route:
                    - destination:
                        host: secure-b.shop.svc.cluster.local
                        port: {number: 443}
                  - match:
                    - port: %1$d
                      sniHosts: [a.tls.example]
                    route:
                    - destination:
                        host: secure-a.shop.svc.cluster.local
                        port: {number: 443}
                """.formatted(port);
    }

    /** The tcp route of the TLS server that terminates TLS (db.example) to echo-1. */
    static String dbRoute(int port) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: db
                  namespace: shop
                spec:
                  hosts: [db.example]
                  gateways: [istio-system/edge]
                  tcp:
                  - match:
                    - port: %d
                    route:
                    - destination:
                        host: echo-1.shop.svc.cluster.local
                        port: {number: 9000}
                """.formatted(port);
    }

    /** api.example (the MUTUAL servers) to web. */
    static String apiRoute() {
        return webRoute("api", "api.example", "");
    }

    /** *.shop.example (the SIMPLE HTTPS servers and the redirecting HTTP one) to web. */
    static String storefrontRoute() {
        return webRoute("storefront", "\"*.shop.example\"", "");
    }

    /** cors.example to web, with a CORS policy for https://app.example. */
    static String corsRoute() {
        return webRoute("cors", "cors.example", """
                    corsPolicy:
                      allowOrigins:
                      - exact: https://app.example
                      allowMethods: [GET, POST]
                      allowHeaders: [content-type]
                      exposeHeaders: [x-served-by]
                      maxAge: 10m
                """);
    }

    /** A VirtualService {@code name} on the edge gateway: {@code host} to web, then {@code more} of its one route. */
    private static String webRoute(String name, String host, String more) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: %s
                  namespace: shop
                spec:
                  hosts: [%s]
                  gateways: [istio-system/edge]
                  http:
                  - route:
                    - destination:
                        host: web.shop.svc.cluster.local
                        port: {number: 80}
                """.formatted(name, host) + more;
    }

    /** The tcp route of the TCP server on {@code port}: echo-1 and echo-2 by weight. */
    static String echoRoute(int port, int weight1, int weight2) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: echo
                  namespace: shop
                spec:
                  hosts: [echo.example]
                  gateways: [istio-system/edge]
                  tcp:
                  - match:
                    - port: %d
                    route:
                    - destination:
                        host: echo-1.shop.svc.cluster.local
                        port: {number: 9000}
                      weight: %d
                    - destination:
                        host: echo-2.shop.svc.cluster.local
                        port: {number: 9000}
                      weight: %d
                """.formatted(port, weight1, weight2);
    }

    /** A ServiceEntry in namespace shop: one port, one endpoint on 127.0.0.1 at {@code targetPort}. */
    static String serviceEntry(String name, int port, String portName, String protocol, int targetPort) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: %1$s
                  namespace: shop
                spec:
                  hosts: [%1$s.shop.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports:
                  - number: %2$d
                    name: %3$s
                    protocol: %4$s
                  endpoints:
                  - address: 127.0.0.1
                    ports:
                      %3$s: %5$d
                    labels:
                      app: %1$s
                """.formatted(name, port, portName, protocol, targetPort);
    }
}
