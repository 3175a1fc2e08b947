package io.mesh.pilot.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.mesh.pilot.PilotConfig;
import io.mesh.pilot.model.ExtAuthzProviders;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * meshConfig {@code extensionProviders[].envoyExtAuthzHttp} read from pilot's setting {@code mesh.pilot.extension-providers}:
 * every field istio/api defines, and istiod's checks (ValidateExtensionProviderEnvoyExtAuthzHTTP, buildExtAuthzHTTP),
 * each refusal naming the entry and the field.
 */
class ExtAuthzProviderSettingsTest {
    static PilotConfig config(String providers) {
        return new SmallRyeConfigBuilder().withMapping(PilotConfig.class)
                .withConverter(Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
                .withSources(new PropertiesConfigSource(Map.of("mesh.pilot.extension-providers", providers), "test", 500))
                .build().getConfigMapping(PilotConfig.class);
    }

    static ExtAuthzProviders providers(String yaml) {
        return config(yaml).extAuthzProviders();
    }

    static String refused(String httpProvider) {
        return assertThrows(IllegalArgumentException.class,
                () -> providers("[{name: p, envoyExtAuthzHttp: " + httpProvider + "}]")).getMessage();
    }

    @Test
    void everyFieldIsRead() {
        ExtAuthzProviders.HttpProvider p = providers("""
                - name: log
                  envoyFileAccessLog: {path: /dev/stdout}
                - name: authz
                  envoyExtAuthzHttp:
                    service: foo/ext-authz.foo.svc.cluster.local
                    port: 8000
                    timeout: 1.5s
                    pathPrefix: /check
                    failOpen: true
                    statusOnError: "403"
                    includeRequestHeadersInCheck: [x-ext-authz]
                    includeAdditionalHeadersInCheck: {x-b: b, x-a: a}
                    includeRequestBodyInCheck: {maxRequestBytes: 100, allowPartialMessage: true, packAsBytes: true}
                    headersToUpstreamOnAllow: [x-up]
                    headersToDownstreamOnDeny: [x-deny]
                    headersToDownstreamOnAllow: [x-allow]
                """).provider("authz");
        assertEquals(new ExtAuthzProviders.HttpProvider("authz", "foo/ext-authz.foo.svc.cluster.local", 8000,
                Duration.ofMillis(1500), "/check", true, 403, List.of("x-ext-authz"), Map.of("x-a", "a", "x-b", "b"),
                new ExtAuthzProviders.RequestBody(100, true, true), List.of("x-up"), List.of("x-deny"),
                List.of("x-allow")), p);
        assertEquals(List.of("x-a", "x-b"), List.copyOf(p.additionalHeaders().keySet()));
    }

    @Test
    void providersAreFoundByTheirExactName() {
        ExtAuthzProviders all = providers("[{name: Authz, envoyExtAuthzHttp: {service: a.b.svc.cluster.local, port: 80}}]");
        assertEquals("Authz", all.provider("Authz").name());
        assertNull(all.provider("authz"));
    }

    @Test
    void theDeprecatedIncludeHeadersInCheckIsUsedOnlyWithoutIncludeRequestHeadersInCheck() {
        assertEquals(List.of("x-old"), providers("[{name: p, envoyExtAuthzHttp: {service: a.b, port: 80,"
                + " includeHeadersInCheck: [x-old]}}]").provider("p").requestHeaders());
        assertEquals(List.of("x-new"), providers("[{name: p, envoyExtAuthzHttp: {service: a.b, port: 80,"
                + " includeHeadersInCheck: [x-old], includeRequestHeadersInCheck: [x-new]}}]").provider("p")
                .requestHeaders());
    }

    @Test
    void grpcProvidersAreNotServedAndAreSkippedWithTheWarning() {
        String yaml = "[{name: g, envoyExtAuthzGrpc: {service: a.b, port: 9000}},"
                + " {name: h, envoyExtAuthzHttp: {service: a.b, port: 80}}]";
        assertNull(providers(yaml).provider("g"));
        List<String> skipped = new ArrayList<>();
        config(yaml).accessLogFormats(skipped);
        assertEquals(List.of("g"), skipped);
    }

    @Test
    void badFieldsAreRefusedNamingTheEntryAndField() {
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.port: port must be in the range [1, 65535], found: 0",
                refused("{service: a.b, port: 0}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.port: port must be in the range [1, 65535], found: null",
                refused("{service: a.b}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.service: service must not be empty",
                refused("{port: 80}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.service: invalid service host \"bad_host\" (a DNS name or"
                + " an IP address)", refused("{service: foo/bad_host, port: 80}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.service: \"a/b/c\" must be NAMESPACE/HOSTNAME or"
                + " HOSTNAME", refused("{service: a/b/c, port: 80}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.statusOnError: unsupported statusOnError 999 (an HTTP"
                + " status code of Envoy's StatusCode)", refused("{service: a.b, port: 80, statusOnError: \"999\"}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.statusOnError: invalid statusOnError \"abc\": not a number",
                refused("{service: a.b, port: 80, statusOnError: abc}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.pathPrefix must begin with `/`, found: \"check\"",
                refused("{service: a.b, port: 80, pathPrefix: check}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.timeout: invalid duration \"soon\" (use e.g. 500ms, 10s)",
                refused("{service: a.b, port: 80, timeout: soon}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.headersToDownstreamOnDeny[1]: a single wildcard (\"*\") is"
                + " not supported, change it to either prefix or suffix match",
                refused("{service: a.b, port: 80, headersToDownstreamOnDeny: [x-a, \"*\"]}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.includeRequestBodyInCheck.maxBytes is not a field"
                + " (maxRequestBytes, allowPartialMessage, packAsBytes are)",
                refused("{service: a.b, port: 80, includeRequestBodyInCheck: {maxBytes: 1}}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.failOpen must be true or false",
                refused("{service: a.b, port: 80, failOpen: yes-please}"));
        assertEquals("extensionProviders[0].envoyExtAuthzHttp.statusOnErr is not a field of envoyExtAuthzHttp",
                refused("{service: a.b, port: 80, statusOnErr: \"403\"}"));
        assertEquals("extensionProviders[1].name: provider \"p\" is defined twice",
                assertThrows(IllegalArgumentException.class, () -> providers("[{name: p, envoyFileAccessLog: {}},"
                        + " {name: p, envoyExtAuthzHttp: {service: a.b, port: 80}}]")).getMessage());
    }
}
