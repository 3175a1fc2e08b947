package io.mesh.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Envoy's command operators as the compiled formats render them: Envoy's default text line, {@code -} for what is
 * missing, typed JSON values, START_TIME's strftime specifiers, REQ's alternative header and length, and the errors
 * that name the operator or position.
 */
class AccessLogFormatTest {

    /** A request: GET /a?b=1 over HTTP/1.1 answered 503 UF by nothing (no upstream host), 12 bytes in, 34 out. */
    static final class Request implements LogValues {
        Map<String, String> headers = new LinkedHashMap<>(Map.of(":method", "GET", ":path", "/a?b=1",
                ":authority", "web.example", "user-agent", "curl/8.5.0", "x-request-id", "req-1"));
        Map<String, String> response = Map.of("x-envoy-upstream-service-time", "7", "content-type", "text/plain");
        String upstreamHost = null;
        Integer grpcStatus = null;
        Map<String, Map<String, Object>> metadata = Map.of();

        @Override
        public Instant startTime() {
            return Instant.parse("2026-11-28T01:02:03.456789012Z");
        }

        @Override
        public String requestHeader(String name) {
            return headers.get(name);
        }

        @Override
        public String responseHeader(String name) {
            return response.get(name);
        }

        @Override
        public String responseTrailer(String name) {
            return name.equals("grpc-status") ? "0" : null;
        }

        @Override
        public String protocol() {
            return "HTTP/1.1";
        }

        @Override
        public int responseCode() {
            return 503;
        }

        @Override
        public String responseFlags() {
            return "UF";
        }

        @Override
        public String responseCodeDetails() {
            return "upstream_reset_before_response_started{connection_failure}";
        }

        @Override
        public String connectionTerminationDetails() {
            return null;
        }

        @Override
        public long bytesReceived() {
            return 12;
        }

        @Override
        public long bytesSent() {
            return 34;
        }

        @Override
        public long durationMillis() {
            return 9;
        }

        @Override
        public Long responseDurationMillis() {
            return upstreamHost == null ? null : 7L;
        }

        @Override
        public Long responseTxDurationMillis() {
            return upstreamHost == null ? null : 2L;
        }

        @Override
        public int upstreamAttempts() {
            return upstreamHost == null ? 0 : 2;
        }

        @Override
        public Integer grpcStatus() {
            return grpcStatus;
        }

        @Override
        public Map<String, Object> dynamicMetadata(String namespace) {
            return metadata.get(namespace);
        }

        @Override
        public String upstreamHost() {
            return upstreamHost;
        }

        @Override
        public String upstreamCluster() {
            return "outbound|80||web.default.svc.cluster.local";
        }

        @Override
        public String upstreamLocalAddress() {
            return null;
        }

        @Override
        public String upstreamTransportFailureReason() {
            return null;
        }

        @Override
        public String downstreamLocalAddress() {
            return "10.0.0.1:8080";
        }

        @Override
        public String downstreamRemoteAddress() {
            return "10.0.0.2:51234";
        }

        @Override
        public String requestedServerName() {
            return null;
        }

        @Override
        public String routeName() {
            return "default";
        }

        @Override
        public Long connectionId() {
            return 42L;
        }

        /** Plaintext: no TLS either side. */
        @Override
        public ConnectionTls downstreamTls() {
            return null;
        }

        @Override
        public ConnectionTls upstreamTls() {
            return null;
        }

        @Override
        public String upstreamProtocol() {
            return upstreamHost == null ? null : "HTTP/1.1";
        }
    }

    @Test
    void envoysDefaultTextFormatWritesADashForWhatIsMissing() {
        assertEquals("[2026-11-28T01:02:03.456Z] \"GET /a?b=1 HTTP/1.1\" 503 UF 12 34 9 7 \"-\" \"curl/8.5.0\" \"req-1\""
                + " \"web.example\" \"-\"", AccessLogFormat.ENVOY_DEFAULT_FORMAT.render(new Request()));
    }

    @Test
    void reqTakesItsAlternativeHeaderAndTruncatesToItsLength() {
        Request r = new Request();
        assertEquals("/a?b=1|/a?|GET", AccessLogFormat.text("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%|%REQ(:PATH):3%|"
                + "%REQ(:method)%").render(r));
        r.headers.put("x-envoy-original-path", "/orig");
        assertEquals("/orig", AccessLogFormat.text("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%").render(r));
        assertEquals("text/plain 0 -", AccessLogFormat.text("%RESP(CONTENT-TYPE)% %TRAILER(GRPC-STATUS)% %RESP(X-NONE)%")
                .render(r));
    }

    @Test
    void startTimeTakesStrftimeAndEnvoysSubSecondSpecifiers() {
        assertEquals("2026/11/28 01:02:03 +0000 1795827723 456789 03.456789012 Sat Nov 332 %",
                AccessLogFormat.text("%START_TIME(%Y/%m/%d %H:%M:%S %z %s %6f %E9S %a %b %j %%)%").render(new Request()));
    }

    @Test
    void jsonValuesThatAreOneOperatorKeepTheirTypeAndMixedOnesAreStrings() {
        Map<String, Object> labels = new LinkedHashMap<>();
        labels.put("code", "%RESPONSE_CODE%");
        labels.put("bytes", "%BYTES_SENT%");
        labels.put("host", "%UPSTREAM_HOST%");
        labels.put("line", "%REQ(:METHOD)% %UPSTREAM_HOST%");
        labels.put("time", "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%");
        labels.put("fixed", 1.0);
        labels.put("nested", Map.of("flags", "%RESPONSE_FLAGS%"));
        assertEquals("{\"bytes\":34,\"code\":503,\"fixed\":1,\"host\":null,\"line\":\"GET -\",\"nested\":{\"flags\":\"UF\"},"
                + "\"time\":\"7\"}", AccessLogFormat.json(labels).render(new Request()));
    }

    @Test
    void istiosJsonLabelsRenderEveryFieldOfEnvoyJsonLogFormatIstio() {
        String line = AccessLogFormat.ISTIO_JSON_FORMAT.render(new Request());
        assertTrue(line.startsWith("{\"authority\":\"web.example\",\"bytes_received\":12,\"bytes_sent\":34,"
                + "\"connection_termination_details\":null,\"downstream_local_address\":\"10.0.0.1:8080\","), line);
        assertEquals(24, AccessLogFormat.ISTIO_JSON.size());
    }

    @Test
    void timingsAttemptsAndAddressPartsComeFromWhatTheRequestHad() {
        Request r = new Request();
        assertEquals("- - 0 - - 10.0.0.2 51234 10.0.0.2:51234 10.0.0.2 51234 8080",
                AccessLogFormat.text("%RESPONSE_DURATION% %RESPONSE_TX_DURATION% %UPSTREAM_REQUEST_ATTEMPT_COUNT%"
                        + " %UPSTREAM_REMOTE_ADDRESS% %UPSTREAM_REMOTE_PORT% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"
                        + " %DOWNSTREAM_REMOTE_PORT% %DOWNSTREAM_DIRECT_REMOTE_ADDRESS%"
                        + " %DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_DIRECT_REMOTE_PORT%"
                        + " %DOWNSTREAM_LOCAL_PORT%").render(r));
        r.upstreamHost = "[fd00::5]:8081";
        assertEquals("7 2 2 [fd00::5]:8081 fd00::5 8081", AccessLogFormat.text("%RESPONSE_DURATION%"
                + " %RESPONSE_TX_DURATION% %UPSTREAM_REQUEST_ATTEMPT_COUNT% %UPSTREAM_REMOTE_ADDRESS%"
                + " %UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_REMOTE_PORT%").render(r));
        assertEquals("{\"attempts\":2,\"port\":8081,\"rx\":7,\"tx\":2}", AccessLogFormat.json(Map.of(
                "attempts", "%UPSTREAM_REQUEST_ATTEMPT_COUNT%", "port", "%UPSTREAM_REMOTE_PORT%",
                "rx", "%RESPONSE_DURATION%", "tx", "%RESPONSE_TX_DURATION%")).render(r));
        String host = AccessLogFormat.text("%HOSTNAME%").render(r);
        assertTrue(!host.isEmpty() && !host.equals("-"), host);
    }

    @Test
    void grpcStatusIsWrittenInEnvoysThreeFormsAndOnlyForGrpc() {
        Request r = new Request();
        AccessLogFormat f = AccessLogFormat.text("%GRPC_STATUS% %GRPC_STATUS(SNAKE_STRING)% %GRPC_STATUS(NUMBER)%"
                + " %GRPC_STATUS_NUMBER%");
        assertEquals("- - - -", f.render(r));
        r.grpcStatus = 4;
        assertEquals("DeadlineExceeded DEADLINE_EXCEEDED 4 4", f.render(r));
        r.grpcStatus = 42;
        assertEquals("42 42 42 42", f.render(r));
        r.grpcStatus = 0;
        assertEquals("{\"camel\":\"Ok\",\"n\":0,\"number\":0}", AccessLogFormat.json(Map.of("camel",
                "%GRPC_STATUS%", "number", "%GRPC_STATUS(NUMBER)%", "n", "%GRPC_STATUS_NUMBER%")).render(r));
        assertEquals("GRPC_STATUS only supports CAMEL_STRING, SNAKE_STRING or NUMBER, got (camel)",
                assertThrows(IllegalArgumentException.class, () -> AccessLogFormat.text("%GRPC_STATUS(camel)%"))
                        .getMessage());
    }

    @Test
    void dynamicMetadataIsWalkedByItsKeysAndKeepsItsTypeInJson() {
        Request r = new Request();
        Map<String, Object> claims = new LinkedHashMap<>();
        claims.put("sub", "alice");
        claims.put("exp", 1795827723L);
        claims.put("admin", true);
        claims.put("groups", java.util.List.of("a", "b"));
        claims.put("org", Map.of("id", "o-1"));
        r.metadata = Map.of("envoy.filters.http.jwt_authn", Map.of("issuer-1", claims));
        assertEquals("alice o-1 true - -", AccessLogFormat.text("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1:sub)%"
                + " %DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1:org:id)%"
                + " %DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1:admin)%"
                + " %DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1:none)% %DYNAMIC_METADATA(istio_authn)%")
                .render(r));
        assertEquals("{\"admin\":true,\"exp\":1795827723,\"groups\":[\"a\",\"b\"],\"org\":{\"id\":\"o-1\"},"
                + "\"sub\":\"alice\"}", AccessLogFormat.text("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1)%")
                .render(r));
        assertEquals("{\"admin\":", AccessLogFormat.text("%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1):9%")
                .render(r));
        assertEquals("{\"exp\":1795827723,\"groups\":[\"a\",\"b\"],\"missing\":null,\"org\":{\"id\":\"o-1\"}}",
                AccessLogFormat.json(Map.of(
                        "exp", "%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1:exp)%",
                        "groups", "%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1:groups)%",
                        "org", "%DYNAMIC_METADATA(envoy.filters.http.jwt_authn:issuer-1:org):3%",
                        "missing", "%DYNAMIC_METADATA(envoy.filters.http.rbac)%")).render(r));
        assertEquals("%DYNAMIC_METADATA% needs a namespace and optional keys: %DYNAMIC_METADATA(NAMESPACE:KEY:...)%,"
                + " got (a::b)", assertThrows(IllegalArgumentException.class,
                        () -> AccessLogFormat.text("%DYNAMIC_METADATA(a::b)%")).getMessage());
    }

    @Test
    void anUnknownOperatorOrAStrayPercentIsAnErrorNamingIt() {
        assertEquals("command operator %NOPE% is not supported (served: " + java.util.Arrays.toString(
                LogOperator.values()) + ")", assertThrows(IllegalArgumentException.class,
                () -> AccessLogFormat.text("[%NOPE%]")).getMessage());
        assertEquals("Couldn't find valid command at position 4 of \"100 % done\"",
                assertThrows(IllegalArgumentException.class, () -> AccessLogFormat.text("100 % done")).getMessage());
        assertEquals("%REQ% needs a header: %REQ(NAME)%",
                assertThrows(IllegalArgumentException.class, () -> AccessLogFormat.text("%REQ%")).getMessage());
        assertEquals("json_format.a.b: command operator %X% is not supported (served: " + java.util.Arrays.toString(
                LogOperator.values()) + ")", assertThrows(IllegalArgumentException.class,
                () -> AccessLogFormat.json(Map.of("a", Map.of("b", "%X%")))).getMessage());
        assertEquals("START_TIME format \"%Q\": specifier %Q is not supported",
                assertThrows(IllegalArgumentException.class, () -> AccessLogFormat.text("%START_TIME(%Q)%")).getMessage());
    }

    /** Every TLS operator Envoy has on each side, in text and as a JSON value. */
    static final java.util.List<String> TLS_OPERATORS = java.util.List.of("DOWNSTREAM_PEER_URI_SAN",
            "DOWNSTREAM_LOCAL_URI_SAN", "DOWNSTREAM_PEER_DNS_SAN", "DOWNSTREAM_LOCAL_DNS_SAN", "DOWNSTREAM_PEER_SUBJECT",
            "DOWNSTREAM_LOCAL_SUBJECT", "DOWNSTREAM_PEER_ISSUER", "DOWNSTREAM_TLS_VERSION", "DOWNSTREAM_TLS_CIPHER",
            "DOWNSTREAM_TLS_SESSION_ID", "DOWNSTREAM_PEER_FINGERPRINT_256", "DOWNSTREAM_PEER_FINGERPRINT_1",
            "DOWNSTREAM_PEER_SERIAL", "DOWNSTREAM_PEER_CERT_V_START", "DOWNSTREAM_PEER_CERT_V_END", "DOWNSTREAM_PEER_CERT",
            "UPSTREAM_PEER_URI_SAN", "UPSTREAM_LOCAL_URI_SAN", "UPSTREAM_PEER_DNS_SAN", "UPSTREAM_LOCAL_DNS_SAN",
            "UPSTREAM_PEER_SUBJECT", "UPSTREAM_LOCAL_SUBJECT", "UPSTREAM_PEER_ISSUER", "UPSTREAM_TLS_VERSION",
            "UPSTREAM_TLS_CIPHER", "UPSTREAM_TLS_SESSION_ID", "UPSTREAM_PEER_CERT_V_START", "UPSTREAM_PEER_CERT_V_END",
            "UPSTREAM_PEER_CERT");

    @Test
    void theConnectionAndTlsOperatorsCompileAndAPlaintextConnectionHasDashesAndNulls() {
        Request r = new Request();
        StringBuilder text = new StringBuilder();
        Map<String, Object> json = new LinkedHashMap<>();
        for (String op : TLS_OPERATORS) {
            text.append('%').append(op).append("% ");
            json.put(op, "%" + op + "%");
        }
        assertEquals("- ".repeat(TLS_OPERATORS.size()).strip(), AccessLogFormat.text(text.toString().strip()).render(r));
        String line = AccessLogFormat.json(json).render(r);
        for (String op : TLS_OPERATORS) {
            assertTrue(line.contains("\"" + op + "\":null"), line);
        }
        // CONNECTION_ID is a number in JSON; UPSTREAM_PROTOCOL is the upstream's, none without an upstream.
        assertEquals("{\"id\":42,\"p\":null}", AccessLogFormat.json(Map.of("id", "%CONNECTION_ID%",
                "p", "%UPSTREAM_PROTOCOL%")).render(r));
        r.upstreamHost = "10.0.0.3:80";
        assertEquals("42 HTTP/1.1", AccessLogFormat.text("%CONNECTION_ID% %UPSTREAM_PROTOCOL%").render(r));
        // The certificate validity takes START_TIME's format, and its errors.
        assertEquals("-", AccessLogFormat.text("%DOWNSTREAM_PEER_CERT_V_START(%Y/%m/%d)%").render(r));
        assertEquals("START_TIME format \"%Q\": specifier %Q is not supported", assertThrows(
                IllegalArgumentException.class, () -> AccessLogFormat.text("%UPSTREAM_PEER_CERT_V_END(%Q)%")).getMessage());
        assertEquals("%DOWNSTREAM_TLS_VERSION% takes no argument, got (x)", assertThrows(IllegalArgumentException.class,
                () -> AccessLogFormat.text("%DOWNSTREAM_TLS_VERSION(x)%")).getMessage());
        // Envoy's operators not served are still refused by name.
        String refused = assertThrows(IllegalArgumentException.class,
                () -> AccessLogFormat.text("%DOWNSTREAM_PEER_IP_SAN%")).getMessage();
        assertTrue(refused.startsWith("command operator %DOWNSTREAM_PEER_IP_SAN% is not supported (served: ["), refused);
        assertTrue(refused.contains("DOWNSTREAM_PEER_URI_SAN") && refused.contains("CONNECTION_ID"), refused);
    }

    @Test
    void theFormatsListWhatTheyReadSoTheFastPathKeepsOnlyThat() {
        AccessLogFormat f = AccessLogFormat.text("%REQ(X-A?X-B)% %REQ(:PATH)% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%");
        assertEquals(java.util.List.of("x-a", "x-b"), java.util.List.of(f.requestHeaders()));
        assertTrue(!f.readsResponseHeaders() && !f.readsTrailers());
        assertTrue(AccessLogFormat.text("%RESP(SERVER)%").readsResponseHeaders());
        assertTrue(AccessLogFormat.text("%TRAILER(GRPC-STATUS)%").readsTrailers());
        assertTrue(AccessLogFormat.text("%UPSTREAM_PEER_URI_SAN%").readsUpstreamTls());
        assertTrue(!AccessLogFormat.text("%DOWNSTREAM_TLS_VERSION% %UPSTREAM_PROTOCOL% %UPSTREAM_HOST%").readsUpstreamTls());
    }

    @Test
    void theSameFormatResentIsEqualSoAPushChangesNothing() {
        assertEquals(AccessLogFormat.text("%REQ(:PATH)%"), AccessLogFormat.text("%REQ(:PATH)%"));
        assertTrue(!AccessLogFormat.text("%REQ(:PATH)%").equals(AccessLogFormat.text("%REQ(:PATH)% ")));
        assertEquals(AccessLogFormat.json(Map.of("a", "%DURATION%")), AccessLogFormat.json(Map.of("a", "%DURATION%")));
        ChainTelemetry a = new ChainTelemetry(java.util.List.of(new AccessLogEntry(null, AccessLogFormat.text("%DURATION%"))),
                100, true, null);
        ChainTelemetry b = new ChainTelemetry(java.util.List.of(new AccessLogEntry(null, AccessLogFormat.text("%DURATION%"))),
                100, true, null);
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
    }
}
