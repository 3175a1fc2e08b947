package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** meshctl analyze: pilot's validation on files, each problem at its file:line with the Istio field path. */
@QuarkusMainTest
class AnalyzeCommandTest {

    private static final String BROKEN = "src/test/resources/analyze/broken";

    @Test
    void everyIstioYamlInTheRepositoryPasses(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("analyze", "../deploy", "../pilot/src/test/resources", "../injector/src/test/resources",
                "../test-support/src/test/resources");
        assertEquals(0, result.exitCode(), result.getOutput() + result.getErrorOutput());
        assertTrue(result.getOutput().contains(" 0 errors"), result.getOutput());
        // Their gateways take their hosts, and every route can be reached (warnings, so checked by name).
        for (String code : List.of("IST0130", "IST0131", "IST0132")) {
            assertFalse(result.getOutput().contains(code), result.getOutput());
        }
    }

    @Test
    void eachBrokenConfigIsReportedAtItsFileAndLine(QuarkusMainLauncher launcher) {
        String output = analyze(launcher, 1, BROKEN);
        List<String> expected = List.of(
                BROKEN + "/not-yaml.yaml:3: error: -: invalid YAML",
                BROKEN + "/routing.yaml:40: error: VirtualService shop/reviews-regex: spec.http[0].match[0].uri.regex: invalid regex",
                BROKEN + "/routing.yaml:55: error: VirtualService shop/reviews-weights: spec.http[0].route: weights must sum to 100, got 110",
                BROKEN + "/routing.yaml:77: error: VirtualService shop/reviews-subsets: spec.http[0].route[0].destination.subset: \"v3\" is not defined",
                BROKEN + "/routing.yaml:80: warning: VirtualService shop/reviews-subsets: spec.http[1].route[0].destination.host: \"ratings\" is not a service",
                // Its first route has no match and takes every request, so the second is never used.
                BROKEN + "/routing.yaml:78: warning: VirtualService shop/reviews-subsets: spec.http[1]: is never used: spec.http[0]"
                        + " has no match and takes every request first (IST0130)",
                BROKEN + "/seed-article.yaml:11: error: VirtualService demo/web: spec.http[0].route: \"route: destinations: [...]\" is not Istio's shape",
                // The newer of two VirtualServices for one host (for sidecars), at its spec.hosts[0]. Not reported:
                // cart-edge binds it on a gateway, and team-a's and team-b's own ones (exportTo ".") override it each
                // in its namespace.
                BROKEN + "/conflicting-hosts.yaml:29: error: VirtualService shop/cart-a: spec.hosts[0]: \"cart\" is also routed by"
                        + " VirtualService shop/cart-b for sidecars in the same namespaces, and only the oldest applies",
                // A delegating route whose delegate does not exist: pilot leaves it out.
                BROKEN + "/conflicting-hosts.yaml:106: warning: VirtualService shop/cart-root: spec.http[0]: delegates to"
                        + " team-orders/orders, which is not a delegate VirtualService",
                // Telemetry (telemetry.istio.io): Istio's range, and what has no effect here.
                BROKEN + "/telemetry.yaml:15: error: Telemetry istio-system/mesh-default:"
                        + " spec.tracing[0].randomSamplingPercentage: must be in range [0.0, 100.0], got 150.0",
                BROKEN + "/telemetry.yaml:13: error: Telemetry istio-system/mesh-default:"
                        + " spec.metrics[0].overrides[0].tagOverrides.team.value: is not a valid expression: expected ']'"
                        + " at position 24 of \"request.headers['x-team'\"",
                BROKEN + "/telemetry.yaml:10: warning: Telemetry istio-system/mesh-default:"
                        + " spec.metrics[0].reportingInterval: has no effect here: TCP byte counts are recorded as they move");
        assertReports(output, expected);
        assertTrue(output.contains("\"route: - destination: {host: ...}\""), "the seed's error names the right shape:\n" + output);
        assertTrue(output.contains("5 files analyzed: 8 errors, 4 warnings."), output);
    }

    @Test
    void gatewaysNotInTheFilesAreErrorsAndGatewaysThatTakeNoneOfTheHostsAreWarnings(QuarkusMainLauncher launcher) {
        String dir = "src/test/resources/analyze/gateways";
        String output = analyze(launcher, 1, dir);
        List<String> expected = List.of(
                // A short name is looked up in the VirtualService's namespace; "mesh" (spec.gateways[0]) is never looked up.
                dir + "/gateways.yaml:49: error: VirtualService shop/missing: spec.gateways[1]: gateway \"edge\" is not in the"
                        + " analyzed files (no Gateway shop/edge) (IST0101)",
                dir + "/gateways.yaml:50: error: VirtualService shop/missing: spec.gateways[2]: gateway \"istio-system/nowhere\""
                        + " is not in the analyzed files (no Gateway istio-system/nowhere) (IST0101)",
                dir + "/gateways.yaml:57: error: VirtualService shop/missing: spec.http[0].match[0].gateways[1]: gateway"
                        + " \"shop/front\" is not in the analyzed files (no Gateway shop/front) (IST0101)",
                dir + "/gateways.yaml:75: warning: VirtualService shop/wrong-host: spec.gateways[0]: no host of the VirtualService"
                        + " [www.example.com] is accepted by Gateway istio-system/edge for namespace shop (its server hosts:"
                        + " [shop/shop.example.com, ./status.example.com, *.api.example.com]) (IST0132)",
                // "shop/" takes the host for namespace shop only, "./" for the Gateway's own (istio-system) only.
                dir + "/gateways.yaml:92: warning: VirtualService blog/other-namespace: spec.gateways[0]: no host of the"
                        + " VirtualService [shop.example.com, status.example.com] is accepted by Gateway istio-system/edge for"
                        + " namespace blog");
        assertReports(output, expected);
        assertTrue(output.contains("1 files analyzed: 3 errors, 2 warnings."), output);
    }

    @Test
    void routesAndMatchesThatAnEarlierRouteTakesFirstAreReported(QuarkusMainLauncher launcher) {
        String file = "src/test/resources/analyze/routes/routes.yaml";
        String output = analyze(launcher, 0, file);
        List<String> expected = List.of(
                file + ":40: info: VirtualService shop/web: spec.http[1].match[0]: is never used: spec.http[0].match[0]"
                        + " (uri prefix \"/api\") matches every request it does (uri prefix \"/api/v1\") first (IST0131)",
                // The same match under another name; it was the route's only one, so the route is never used either.
                file + ":49: info: VirtualService shop/web: spec.http[2].match[0]: is never used: spec.http[0].match[1]"
                        + " matches the same requests first (IST0131)",
                file + ":48: warning: VirtualService shop/web: spec.http[2]: is never used: each of its matches is an earlier"
                        + " route's (IST0130)",
                file + ":59: warning: VirtualService shop/web: spec.http[4]: is never used: spec.http[3] has no match and takes"
                        + " every request first (IST0130)",
                file + ":65: warning: VirtualService shop/web: spec.http[5]: is never used: spec.http[3] has no match and takes"
                        + " every request first (IST0130)");
        assertReports(output, expected);
        // Not reported: http[1]'s /docs, which nothing earlier takes. An unused match is an info (IST0131), as in istioctl.
        assertTrue(output.contains("1 files analyzed: 0 errors, 3 warnings, 2 infos."), output);
    }

    @Test
    void destinationPortsAndServicePortNamesAreCheckedAgainstTheServices(QuarkusMainLauncher launcher) {
        String file = "src/test/resources/analyze/ports/ports.yaml";
        String output = analyze(launcher, 1, file);
        List<String> expected = List.of(
                file + ":47: error: VirtualService shop/reviews: spec.http[0].route[0].destination.host: this VirtualService"
                        + " routes to a service \"reviews\" that exposes multiple ports [9080, 9090, 8080, 8443, 53]. Specifying a"
                        + " port in the destination is required to disambiguate (IST0112)",
                file + ":51: error: VirtualService shop/reviews: spec.http[0].mirror.port: referenced host:port not found:"
                        + " \"reviews:9081\" (its ports: [9080, 9090, 8080, 8443, 53]) (IST0101)",
                file + ":57: error: VirtualService shop/reviews: spec.tcp[1].route[0].destination.port: referenced host:port"
                        + " not found: \"ratings.shop.svc.cluster.local:9090\" (its ports: [9080]) (IST0101)",
                file + ":13: info: Service shop/reviews: spec.ports[2].name: port name \"web\" (port: 8080, targetPort: 80)"
                        + " doesn't follow the naming convention of Istio port",
                file + ":27: info: Service shop/ratings: spec.ports[0]: port name \"\" (port: 9080, targetPort: 9080)"
                        + " doesn't follow the naming convention of Istio port");
        assertReports(output, expected);
        // Not reported: ratings (one port) without a port, payments:443, grpc-admin, the appProtocol and UDP ports.
        // A port name outside the convention is an info (IST0118), as in istioctl.
        assertTrue(output.contains("1 files analyzed: 3 errors, 0 warnings, 2 infos."), output);
    }

    @Test
    void gatewaysForTheSameWorkloadsThatTerminateTlsForOneHostOnOnePortConflict(QuarkusMainLauncher launcher) {
        String file = "src/test/resources/analyze/gateway-conflicts/conflicting.yaml";
        String output = analyze(launcher, 1, file);
        assertReports(output, List.of(
                file + ":10: error: Gateway shop/shop-tls: spec.servers[0]: conflict with gateways istio-system/wildcard-tls"
                        + " (workload selector istio=ingressgateway, port 443, hosts shop/shop.example.com) (IST0145)",
                file + ":22: error: Gateway istio-system/wildcard-tls: spec.servers[0]: conflict with gateways shop/shop-tls"
                        + " (workload selector istio=ingressgateway, port 443, hosts */*.example.com,*/shop.example.com)"
                        + " (IST0145)"));
        // Not reported: blog.example.com on port 80 in both (merged by host), the internal gateway's other selector.
        assertTrue(output.contains("1 files analyzed: 2 errors, 0 warnings."), output);
    }

    @Test
    void twoSidecarsWithoutASelectorInOneNamespaceAreErrors(QuarkusMainLauncher launcher) {
        String file = "src/test/resources/analyze/sidecars/sidecars.yaml";
        String output = analyze(launcher, 1, file);
        for (String name : List.of("default", "restricted")) {
            assertReports(output, List.of("error: Sidecar shop/" + name + ": spec: the Sidecars [default, restricted] in"
                    + " namespace \"shop\" have no workload selector, which can lead to undefined behavior (IST0111)"));
        }
        assertTrue(output.contains("1 files analyzed: 2 errors, 0 warnings."), output);
    }

    @Test
    void nearMissesOfTheGatewayAndRouteChecksAreClean(QuarkusMainLauncher launcher) {
        // A Gateway in another namespace as ns/name, "mesh", wildcard hosts either way, "*/" and "./" namespace parts, a
        // Gateway API Gateway; matches after routes that have other matches only; a subset a wildcard-host rule defines.
        LaunchResult result = launcher.launch("analyze", "src/test/resources/analyze/near-misses");
        assertEquals(0, result.exitCode(), result.getOutput());
        // The Gateway API Gateway is served and valid (and a VirtualService may name it too).
        assertTrue(result.getOutput().contains("3 files analyzed: 0 errors, 0 warnings."), result.getOutput());
    }

    @Test
    void gatewayTlsThatIstiodRejectsIsAnErrorAtItsField(QuarkusMainLauncher launcher) {
        String dir = "src/test/resources/analyze/gateway-tls";
        String output = analyze(launcher, 1, dir);
        assertReports(output, List.of(
                dir + "/gateways.yaml:12: error: Gateway istio-system/east-west: spec.servers[0].tls.credentialName:"
                        + " ISTIO_MUTUAL TLS cannot have an associated credentialName: it uses the gateway's own mesh"
                        + " certificate",
                dir + "/gateways.yaml:25: error: Gateway istio-system/edge: spec.servers[0].tls.caCertificates: MUTUAL TLS"
                        + " requires a client CA bundle (caCertificates), or a credentialName whose Secret holds it",
                dir + "/gateways.yaml:31: error: Gateway istio-system/edge: spec.servers[1].tls: only one of"
                        + " credentialName, credentialNames, serverCertificate/privateKey and tlsCertificates may be set",
                dir + "/gateways.yaml:36: warning: Gateway istio-system/edge: spec.servers[1].tls.cipherSuites: ignoring"
                        + " invalid cipher suites: [NOT-A-CIPHER]"));
        // An HTTPS server in AUTO_PASSTHROUGH mode is served as istiod serves it (as a TLS one): nothing to say.
        assertFalse(output.contains("east-west: spec.servers[1]"), output);
        // credentialNames (an RSA and an ECDSA certificate) and client-certificate pins are served: nothing to say.
        assertFalse(output.contains("istio-system/dual"), output);
        assertTrue(output.contains("1 files analyzed: 3 errors, 2 warnings."), output);
    }

    @Test
    void kindsThisMeshDoesNotServeAreNamedAsSuch(QuarkusMainLauncher launcher) {
        String dir = "src/test/resources/analyze/unserved-kinds";
        String output = analyze(launcher, 1, dir);
        assertReports(output, List.of(
                dir + "/kinds.yaml:2: error: EnvoyFilter shop/add-header: kind: unsupported kind \"EnvoyFilter\": this mesh"
                        + " serves only VirtualService, DestinationRule, Gateway,",
                dir + "/kinds.yaml:12: warning: UDPRoute shop/dns: kind: of the Kubernetes Gateway API this mesh serves"
                        + " Gateway, HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, ReferenceGrant, BackendTLSPolicy only, so this UDPRoute is not"
                        + " applied",
                // The HTTPRoute is served, so pilot's own validation checks it.
                dir + "/kinds.yaml:26: error: HTTPRoute shop/web: spec.rules[0].matches[0].path.value: must be an absolute"
                        + " path (start with \"/\"), got \"api\"",
                // So is the TCPRoute (a Service backend needs its port); the valid GRPCRoute gets no finding.
                dir + "/kinds.yaml:36: error: TCPRoute shop/db: spec.rules[0].backendRefs[0].port: is required when the"
                        + " backend is a Service"));
        assertFalse(output.contains("greeter"), output);
    }

    @Test
    void podsNamespacesAndServicesInTheFilesAreCheckedAgainstWhatSelectsThem(QuarkusMainLauncher launcher) {
        String file = "src/test/resources/analyze/workloads/workloads.yaml";
        String output = analyze(launcher, 1, file);
        assertReports(output, List.of(
                // reviews-1 has app=reviews and version=v1.
                file + ":95: error: Sidecar shop/reviews-all: spec.workloadSelector: the Sidecars [reviews-all, reviews-v1] in"
                        + " namespace \"shop\" select the same workload pod \"reviews-1\", which can lead to undefined behavior"
                        + " (IST0110)",
                file + ":106: error: Sidecar shop/reviews-v1: spec.workloadSelector: the Sidecars [reviews-all, reviews-v1] in"
                        + " namespace \"shop\" select the same workload pod \"reviews-1\"",
                file + ":142: warning: AuthorizationPolicy shop/details: spec.selector.matchLabels: no matching workloads for"
                        + " this resource with the following labels: app=details (no pod in the mesh in namespace shop has them)"
                        + " (IST0127)",
                // batch-1 has the label but opted out of injection: the policy applies to no proxy.
                file + ":155: warning: AuthorizationPolicy shop/batch: spec.selector.matchLabels: no matching workloads for"
                        + " this resource with the following labels: app=batch",
                file + ":189: warning: AuthorizationPolicy istio-system/nowhere: spec.selector.matchLabels: no matching"
                        + " workloads for this resource with the following labels: app=nowhere (no pod in the mesh in any"
                        + " namespace has them) (IST0127)",
                file + ":205: warning: Gateway istio-system/edge: spec.servers[1].port.number: the gateway is listening on a"
                        + " target port (port 8004) that is not defined in the Service associated with its workload instances"
                        + " (Pod selector istio=ingressgateway). If you need to access the gateway port through the gateway"
                        + " Service, it will not be available (IST0162)",
                file + ":11: info: Namespace blog: the namespace is not enabled for Istio injection. Run 'kubectl label"
                        + " namespace blog istio-injection=enabled' to enable it, or 'kubectl label namespace blog"
                        + " istio-injection=disabled' to explicitly mark it as not needing injection (IST0102)",
                // istioctl takes a revision label as enabling injection; this mesh's webhook does not.
                file + ":22: info: Namespace canary: the namespace is not enabled for Istio injection. Run 'kubectl label"
                        + " namespace canary istio-injection=enabled' to enable it, or 'kubectl label namespace canary"
                        + " istio-injection=disabled' to explicitly mark it as not needing injection; its label"
                        + " istio.io/rev=canary selects no injector here: the mesh's webhook takes namespaces labelled"
                        + " istio-injection=enabled (IST0102)"));
        // Not reported: the ratings Sidecar; the reviews, blog (no pod of blog given) and mesh-wide ratings policies;
        // servers 80 (the gateway listens on 8080, which port 80 leads to) and 3306; the internal Gateway, whose pods the
        // files do not hold; the namespace labelled disabled, and kube-node-lease.
        assertTrue(output.contains("1 files analyzed: 2 errors, 4 warnings, 2 infos."), output);
    }

    @Test
    void thresholdsHideFindingsBelowALevelAndSetTheLevelThatFails(QuarkusMainLauncher launcher) {
        String file = "src/test/resources/analyze/workloads/workloads.yaml";
        String shown = analyze(launcher, 1, file, "--output-threshold", "Warning");
        assertFalse(shown.contains("IST0102"), shown);
        assertTrue(shown.contains("1 files analyzed: 2 errors, 4 warnings."), shown);
        // Warnings only: exit 0 by default, 1 when warnings fail too.
        String tls = "src/test/resources/analyze/server-tls";
        analyze(launcher, 0, tls);
        analyze(launcher, 1, tls, "--failure-threshold", "warning");
        assertEquals(2, launcher.launch("analyze", tls, "--failure-threshold", "fatal").exitCode());
    }

    @Test
    void tlsOriginationWithoutACaForTheServerIsAWarning(QuarkusMainLauncher launcher) {
        String file = "src/test/resources/analyze/server-tls/destination-rules.yaml";
        String output = analyze(launcher, 0, file);
        assertReports(output, List.of(
                file + ":11: warning: DestinationRule shop/db-tls: spec.trafficPolicy.tls.mode: DestinationRule shop/db-tls in"
                        + " namespace shop has TLS mode set to SIMPLE but no caCertificates are set to validate server"
                        + " identity for host: db.example.com (IST0128)",
                // A credentialName serves sidecars only for a rule with a workloadSelector, as in Istio.
                file + ":24: warning: DestinationRule shop/payments: spec.trafficPolicy.portLevelSettings[0].tls.mode:"
                        + " DestinationRule shop/payments in namespace shop has TLS mode set to MUTUAL but no caCertificates"
                        + " are set to validate server identity for host: payments.example.com at port 443 (IST0129)"));
        // Not reported: port 8443's caCertificates (pilot's validation says the proxy reads no files), ledger (its
        // credentialName for the selected workloads), ISTIO_MUTUAL and DISABLE.
        assertFalse(output.contains("shop/ledger"), output);
        assertFalse(output.contains("shop/reviews"), output);
        assertFalse(output.contains("at port 8443"), output);
        assertTrue(output.contains("1 files analyzed: 0 errors, 3 warnings."), output);
    }

    @Test
    void serviceEntryTcpPortsWithoutAddressesAreWarnings(QuarkusMainLauncher launcher) {
        String file = "src/test/resources/analyze/service-entries/entries.yaml";
        String output = analyze(launcher, 0, file);
        assertReports(output, List.of(file + ":12: warning: ServiceEntry shop/database: spec.ports[0]: ServiceEntry addresses"
                + " are required for this protocol (IST0134)"));
        // Not reported: the HTTPS port, cache (an address) and api (HTTP).
        assertTrue(output.contains("1 files analyzed: 0 errors, 1 warnings."), output);
    }

    @Test
    void jsonListsEachFindingForScripts(QuarkusMainLauncher launcher) {
        LaunchResult result = launcher.launch("analyze", BROKEN + "/seed-article.yaml", "-o", "json");
        assertEquals(1, result.exitCode());
        assertTrue(result.getOutput().contains("\"line\" : 11"), result.getOutput());
        assertTrue(result.getOutput().contains("\"severity\" : \"error\""), result.getOutput());
    }

    @Test
    void aMissingPathIsAUsageError(QuarkusMainLauncher launcher) {
        assertEquals(2, launcher.launch("analyze", "no/such/file.yaml").exitCode());
    }

    /** meshctl analyze with these arguments, which must exit with {@code exit}; its output. */
    static String analyze(QuarkusMainLauncher launcher, int exit, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "analyze";
        System.arraycopy(args, 0, all, 1, args.length);
        LaunchResult result = launcher.launch(all);
        assertEquals(exit, result.exitCode(), result.getOutput() + result.getErrorOutput());
        return result.getOutput();
    }

    /** Each expected finding line is in meshctl's output. */
    static void assertReports(String output, List<String> expected) {
        for (String line : expected) {
            assertTrue(output.contains(line), "missing «" + line + "» in:\n" + output);
        }
    }
}
