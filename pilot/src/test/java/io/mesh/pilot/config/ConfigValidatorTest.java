package io.mesh.pilot.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.config.ConfigValidator;
import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import io.mesh.pilot.testing.MeshFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Istio's validation rules, table-driven: YAML in, accepted or rejected with a named reason out. */
class ConfigValidatorTest {

    static ConfigValidator.Result validate(String yaml) {
        List<RawResource> raws = YamlDocuments.parse(yaml, "test.yaml").resources();
        assertEquals(1, raws.size());
        return ConfigValidator.validate(raws.get(0));
    }

    @Test
    void seedArticleRouteShapeIsRejectedNamingTheRightShape() {
        ConfigValidator.Result r = validate(MeshFixtures.SEED_ARTICLE_VS);
        assertFalse(r.valid());
        assertTrue(r.reason().contains("spec.http[0].route"), r.reason());
        assertTrue(r.reason().contains("route: - destination: {host: ...}"), r.reason());
    }

    @Test
    void localRunnersExampleConfigIsAccepted() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("src/test/resources/configs/local"))) {
            for (Path f : files.toList()) {
                for (RawResource raw : YamlDocuments.parse(Files.readString(f), f.toString()).resources()) {
                    ConfigValidator.Result r = ConfigValidator.validate(raw);
                    assertTrue(r.valid(), raw.key() + ": " + r.reason());
                }
            }
        }
    }

    static Stream<Arguments> cases() {
        String vs = """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: r, namespace: demo}
                spec:
                """;
        String dr = """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: d, namespace: demo}
                spec:
                """;
        return Stream.of(
                Arguments.of("canary", MeshFixtures.canary(50, 50), null),
                Arguments.of("warmup", dr + "  host: web\n  trafficPolicy:\n"
                        + "    loadBalancer: {warmup: {duration: 30s, minimumPercent: 5, aggression: 1.5}}\n", null),
                Arguments.of("warmupWithoutDuration", dr + "  host: web\n  trafficPolicy:\n"
                        + "    loadBalancer: {warmup: {aggression: 2}}\n",
                        "spec.trafficPolicy.loadBalancer.warmup.duration: is required"),
                Arguments.of("warmupAggressionBelowOne", dr + "  host: web\n  trafficPolicy:\n"
                        + "    loadBalancer: {warmup: {duration: 10s, aggression: 0.5}}\n",
                        "warmup.aggression: must be at least 1, got 0.5"),
                Arguments.of("warmupMinimumOver100", dr + "  host: web\n  trafficPolicy:\n"
                        + "    loadBalancer: {warmup: {duration: 10s, minimumPercent: 150}}\n",
                        "warmup.minimumPercent: must be between 0 and 100, got 150.0"),
                Arguments.of("insecureSkipVerify", dr + "  host: api.example.com\n  trafficPolicy:\n"
                        + "    tls: {mode: SIMPLE, insecureSkipVerify: true}\n", null),
                Arguments.of("insecureSkipVerifyWithSans", dr + "  host: api.example.com\n  trafficPolicy:\n"
                        + "    tls: {mode: SIMPLE, insecureSkipVerify: true, subjectAltNames: [api.example.com]}\n",
                        "spec.trafficPolicy.tls.insecureSkipVerify: cannot specify caCertificates, credentialName or"
                                + " subjectAltNames when insecureSkipVerify is true"),
                Arguments.of("insecureSkipVerifyWithCredential", dr + "  host: api.example.com\n  trafficPolicy:\n"
                        + "    tls: {mode: SIMPLE, insecureSkipVerify: true, credentialName: api-ca}\n",
                        "cannot specify caCertificates, credentialName or subjectAltNames"),
                Arguments.of("insecureSkipVerifyMutualWithCredential", dr + "  host: api.example.com\n"
                        + "  trafficPolicy:\n    tls: {mode: MUTUAL, insecureSkipVerify: true, credentialName: client}\n",
                        null),
                Arguments.of("insecureSkipVerifyMutualWithSans", dr + "  host: api.example.com\n  trafficPolicy:\n"
                        + "    tls: {mode: MUTUAL, insecureSkipVerify: true, credentialName: client,"
                        + " subjectAltNames: [api.example.com]}\n",
                        "cannot specify caCertificates or subjectAltNames when insecureSkipVerify is true"),
                Arguments.of("weightsNot100", MeshFixtures.canary(60, 50), "weights must sum to 100, got 110"),
                Arguments.of("badRegex", vs + "  hosts: [web]\n  http:\n  - match:\n    - uri: {regex: \"a(b\"}\n"
                        + "    route:\n    - destination: {host: web}\n", "invalid regex"),
                Arguments.of("headerMatch", vs + "  hosts: [web]\n  http:\n  - match:\n    - headers:\n"
                        + "        x-canary: {exact: \"yes\"}\n    route:\n    - destination: {host: backend}\n", null),
                Arguments.of("badDuration", vs + "  hosts: [web]\n  http:\n  - timeout: 5 seconds\n"
                        + "    route:\n    - destination: {host: web}\n", "invalid duration \"5 seconds\""),
                Arguments.of("badHost", vs + "  hosts: [\"web_!\"]\n  http:\n  - route:\n"
                        + "    - destination: {host: web}\n", "not a valid DNS name"),
                Arguments.of("unknownDestinationIsOnlyAWarning", vs + "  hosts: [web]\n  http:\n  - route:\n"
                        + "    - destination: {host: nowhere.example.com}\n", null),
                Arguments.of("redirectAndRoute", vs + "  hosts: [web]\n  http:\n  - redirect: {uri: /x}\n"
                        + "    route:\n    - destination: {host: web}\n", "only one of route, redirect"),
                Arguments.of("retryOnUnknown", vs + "  hosts: [web]\n  http:\n  - retries: {attempts: 3, retryOn: "
                        + "sometimes}\n    route:\n    - destination: {host: web}\n", "unknown retry condition"),
                Arguments.of("retryBackoffZero", vs + "  hosts: [web]\n  http:\n  - retries: {attempts: 3, backoff: "
                        + "0s}\n    route:\n    - destination: {host: web}\n",
                        "spec.http[0].retries.backoff: must be at least 1ms"),
                Arguments.of("faultPercent", vs + "  hosts: [web]\n  http:\n  - fault:\n      abort: {httpStatus: 503,"
                        + " percentage: {value: 150}}\n    route:\n    - destination: {host: web}\n",
                        "percentage must be between 0 and 100"),
                Arguments.of("subsetsAndLb", dr + "  host: backend\n  trafficPolicy:\n    loadBalancer: {simple: "
                        + "LEAST_REQUEST}\n    outlierDetection: {consecutive5xxErrors: 5, interval: 10s}\n"
                        + "  subsets:\n  - name: v1\n    labels: {version: v1}\n", null),
                Arguments.of("unknownLb", dr + "  host: backend\n  trafficPolicy:\n    loadBalancer: {simple: "
                        + "FASTEST}\n", "unknown load balancer \"FASTEST\""),
                Arguments.of("duplicateSubset", dr + "  host: backend\n  subsets:\n  - name: v1\n  - name: v1\n",
                        "duplicate subset name"),
                Arguments.of("wrongApiVersion", MeshFixtures.canary(50, 50).replace("networking.istio.io/v1",
                        "networking.istio.io/v2"), "is not a version of VirtualService"),
                Arguments.of("staticNeedsIp", MeshFixtures.serviceEntry("web", "", 80).replace("127.0.0.1",
                        "web.example.com"), "resolution STATIC needs an IP address"),
                Arguments.of("addressesIpsAndCidrs", MeshFixtures.serviceEntry("web", "", 80).replace("  location:",
                        "  addresses: [10.1.2.3, 10.1.0.0/16, 10.1.2.4/32, \"2001:db8::1\", \"2001:db8::/32\"]\n  location:"),
                        null),
                Arguments.of("addressOctetTooBig", MeshFixtures.serviceEntry("web", "", 80).replace("  location:",
                        "  addresses: [10.1.2.300]\n  location:"),
                        "spec.addresses[0]: \"10.1.2.300\" is not an IP address or a CIDR block"),
                Arguments.of("presenceAndAbsence", vs + "  hosts: [web]\n  http:\n  - match:\n    - headers: {x-user: {}}\n"
                        + "      withoutHeaders: {x-debug: {}}\n      authority: {exact: web}\n    route:\n"
                        + "    - destination: {host: web}\n", null),
                Arguments.of("uriIsNotPresence", vs + "  hosts: [web]\n  http:\n  - match:\n    - uri: {}\n    route:\n"
                        + "    - destination: {host: web}\n", "exactly one of exact, prefix or regex must be set"),
                Arguments.of("mirrorAndMirrors", vs + "  hosts: [web]\n  http:\n  - route:\n    - destination: {host: web}\n"
                        + "    mirror: {host: a}\n    mirrors:\n    - destination: {host: b}\n",
                        "spec.http[0].mirrors: mirror and mirrors cannot both be set"),
                Arguments.of("corsPolicy", vs + "  hosts: [web]\n  http:\n  - route:\n    - destination: {host: web}\n"
                        + "    corsPolicy: {allowOrigins: [{exact: \"https://a.example\"}], allowMethods: [GET, POST],"
                        + " allowHeaders: [x-user], maxAge: 24h, allowCredentials: true, unmatchedPreflights: IGNORE}\n", null),
                Arguments.of("corsBadMethod", vs + "  hosts: [web]\n  http:\n  - route:\n    - destination: {host: web}\n"
                        + "    corsPolicy: {allowMethods: [GET, FETCH]}\n",
                        "spec.http[0].corsPolicy.allowMethods[1]: \"FETCH\" is not a supported HTTP method"),
                Arguments.of("corsBadHeader", vs + "  hosts: [web]\n  http:\n  - route:\n    - destination: {host: web}\n"
                        + "    corsPolicy: {allowHeaders: [\"x user\"]}\n", "\"x user\" is not a valid header name"),
                Arguments.of("corsMaxAgeSeconds", vs + "  hosts: [web]\n  http:\n  - route:\n    - destination: {host: web}\n"
                        + "    corsPolicy: {maxAge: 1500ms}\n", "spec.http[0].corsPolicy.maxAge: must be whole seconds"),
                Arguments.of("delegateRoot", vs + "  hosts: [web]\n  http:\n  - match: [{uri: {prefix: /a}}]\n"
                        + "    delegate: {name: a, namespace: team-a}\n", null),
                Arguments.of("delegateVirtualService", vs.replace("spec:", "spec:\n  http:\n  - route:\n"
                        + "    - destination: {host: web}"), null),
                Arguments.of("delegateWithGateways", vs + "  gateways: [edge]\n  http:\n  - route:\n"
                        + "    - destination: {host: web}\n", "a delegate VirtualService (one without hosts) must have no gateways"),
                Arguments.of("delegateInADelegate", vs + "  http:\n  - delegate: {name: b}\n",
                        "delegate applies only to a root VirtualService"),
                Arguments.of("delegateAndRoute", vs + "  hosts: [web]\n  http:\n  - delegate: {name: b}\n    route:\n"
                        + "    - destination: {host: web}\n", "only one of route, redirect, directResponse or delegate may be set"),
                Arguments.of("portLevelSettings", dr + "  host: backend\n  trafficPolicy:\n    portLevelSettings:\n"
                        + "    - port: {number: 8443}\n      tls: {mode: SIMPLE}\n", null),
                Arguments.of("portLevelWithoutPort", dr + "  host: backend\n  trafficPolicy:\n    portLevelSettings:\n"
                        + "    - tls: {mode: SIMPLE}\n", "spec.trafficPolicy.portLevelSettings[0].port: is required"),
                Arguments.of("portLevelEmpty", dr + "  host: backend\n  trafficPolicy:\n    portLevelSettings:\n"
                        + "    - port: {number: 80}\n", "port traffic policy must have at least one field"),
                Arguments.of("portLevelTwice", dr + "  host: backend\n  trafficPolicy:\n    portLevelSettings:\n"
                        + "    - port: {number: 80}\n      tls: {mode: SIMPLE}\n    - port: {number: 80}\n"
                        + "      tls: {mode: DISABLE}\n", "port 80 already has port-level settings"),
                Arguments.of("twoHashKeys", dr + "  host: backend\n  trafficPolicy:\n    loadBalancer:\n"
                        + "      consistentHash: {httpHeaderName: x-user, useSourceIp: true}\n", "only one hash key"),
                Arguments.of("h2UpgradePolicyUnknown", dr + "  host: backend\n  trafficPolicy:\n    connectionPool:\n"
                        + "      http: {h2UpgradePolicy: ALWAYS}\n", "must be DEFAULT, DO_NOT_UPGRADE or UPGRADE"),
                Arguments.of("tcpIdleTimeout", dr + "  host: backend\n  trafficPolicy:\n    connectionPool:\n"
                        + "      tcp: {idleTimeout: 1h30m}\n", null),
                Arguments.of("tcpIdleTimeoutZeroDisablesIt", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {idleTimeout: 0s}\n", null),
                Arguments.of("tcpIdleTimeoutNotADuration", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {idleTimeout: an hour}\n",
                        "spec.trafficPolicy.connectionPool.tcp.idleTimeout: invalid duration \"an hour\""),
                Arguments.of("tcpIdleTimeoutBelowAMillisecond", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {idleTimeout: 500us}\n",
                        "spec.trafficPolicy.connectionPool.tcp.idleTimeout: duration must be at least 1ms"),
                Arguments.of("tcpIdleTimeoutFinerThanAMillisecond", dr + "  host: backend\n  subsets:\n  - name: v1\n"
                        + "    trafficPolicy:\n      connectionPool:\n        tcp: {idleTimeout: 1500us}\n",
                        "spec.subsets[0].trafficPolicy.connectionPool.tcp.idleTimeout: only durations to ms precision"),
                Arguments.of("tcpKeepaliveAndMaxConnectionDuration", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {maxConnectionDuration: 30m, tcpKeepalive: {probes: 3, time: 60s,"
                        + " interval: 10s}}\n", null),
                Arguments.of("emptyTcpKeepalive", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {tcpKeepalive: {}}\n", null),
                Arguments.of("maxConnectionDurationZero", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {maxConnectionDuration: 0s}\n",
                        "spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration: duration must be at least 1ms"),
                Arguments.of("maxConnectionDurationFinerThanAMillisecond", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {maxConnectionDuration: 1500us}\n",
                        "spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration: only durations to ms precision"),
                Arguments.of("tcpKeepaliveTimeBelowAMillisecond", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {tcpKeepalive: {time: 500us}}\n",
                        "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.time: duration must be at least 1ms"),
                Arguments.of("tcpKeepaliveIntervalNotADuration", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {tcpKeepalive: {interval: often}}\n",
                        "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.interval: invalid duration \"often\""),
                Arguments.of("tcpKeepaliveNegativeProbes", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {tcpKeepalive: {probes: -1}}\n",
                        "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.probes"),
                Arguments.of("tcpKeepaliveUnknownField", dr + "  host: backend\n  trafficPolicy:\n"
                        + "    connectionPool:\n      tcp: {tcpKeepalive: {timeout: 10s}}\n",
                        "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive.timeout"),
                Arguments.of("exportToNamespaces", vs + "  hosts: [web]\n  exportTo: [\".\", team-a]\n  http:\n"
                        + "  - route:\n    - destination: {host: web}\n", null),
                Arguments.of("exportToDotIsOwnNamespace", vs + "  hosts: [web]\n  exportTo: [\".\", demo]\n", "spec."
                        + "exportTo[1]: duplicate entry: \".\" and the current namespace \"demo\" are the same"),
                Arguments.of("exportToPublicAndMore", dr + "  host: backend\n  exportTo: [\"*\", team-a]\n",
                        "spec.exportTo: cannot have both public (\"*\") and other exportTo values"),
                Arguments.of("exportToNotANamespace", dr + "  host: backend\n  exportTo: [Team_A]\n",
                        "spec.exportTo[0]: \"Team_A\" is not \".\", \"*\" or a namespace name"),
                Arguments.of("exportToNoneOnlyOnServiceEntry", vs + "  hosts: [web]\n  exportTo: [\"~\"]\n",
                        "spec.exportTo[0]: \"~\" (no namespace) is allowed only on a ServiceEntry"),
                Arguments.of("serviceEntryExportedToNone", MeshFixtures.serviceEntry("web", "", 80).replace("  location:",
                        "  exportTo: [\"~\"]\n  location:"), null),
                Arguments.of("serviceEntryNoneAndMore", MeshFixtures.serviceEntry("web", "", 80).replace("  location:",
                        "  exportTo: [\"~\", \".\"]\n  location:"), "cannot export to no namespace (\"~\") and to some"),
                Arguments.of("addressPrefixTooLong", MeshFixtures.serviceEntry("web", "", 80).replace("  location:",
                        "  addresses: [\"2001:db8::/129\"]\n  location:"),
                        "spec.addresses[0]: \"2001:db8::/129\" is not an IP address or a CIDR block"));
    }

    /** Istio fields this mesh accepts but does not apply are named in a warning, never silently dropped. */
    @Test
    void fieldsWithNoEffectHereAreAcceptedWithAWarningNamingThem() {
        ConfigValidator.Result sidecar = validate("""
                apiVersion: networking.istio.io/v1
                kind: Sidecar
                metadata: {name: default, namespace: demo}
                spec:
                  ingress: [{port: {number: 9080, protocol: HTTP, name: http}, defaultEndpoint: "127.0.0.1:8080"}]
                  egress: [{port: {number: 80, protocol: HTTP, name: http}, hosts: ["./*"]}]
                """);
        assertTrue(sidecar.valid(), sidecar.reason());
        assertEquals(List.of("spec.ingress: has no effect here: the sidecar's inbound ports and pools come from the"
                + " services its workload serves", "spec.egress[0].port: has no effect here: an egress listener's hosts"
                + " apply to every port"), sidecar.warnings());
        ConfigValidator.Result dr = validate("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: d, namespace: demo}
                spec:
                  host: backend
                  trafficPolicy:
                    tunnel: {targetHost: proxy.example.com, targetPort: 8080}
                    tls: {mode: SIMPLE, insecureSkipVerify: true}
                """);
        assertTrue(dr.valid(), dr.reason());
        assertEquals(1, dr.warnings().size(), "insecureSkipVerify is served: " + dr.warnings());
        assertTrue(dr.warnings().get(0).startsWith("spec.trafficPolicy.tunnel: has no effect here"), dr.warnings().toString());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void validatesAsIstioDoes(String name, String yaml, String expectedError) {
        ConfigValidator.Result r = validate(yaml);
        if (expectedError == null) {
            assertTrue(r.valid(), name + ": " + r.reason());
        } else {
            assertFalse(r.valid(), name + " should be rejected");
            assertTrue(r.reason().contains(expectedError), name + ": " + r.reason());
        }
    }
}
