package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Envoy's attributes that access log filters are written with beyond the metric overrides' ones: the response's flags
 * (Envoy's bit vector, a uint: {@code 0u} literals) and code details, its size and the request's, the upstream's
 * address, port and transport failure reason, the connection's SNI and termination details. An attribute the subset
 * does not serve stays an error that names it.
 */
class AttributeExpressionEnvoyAttributesTest {
    static final AttributeExpression.Activation DENIED = (root, field) -> switch (root + "." + field) {
        case "response.flags" -> 0x100L;
        case "response.code_details" -> "route_not_found";
        case "response.size" -> 9L;
        case "request.size" -> 0L;
        case "upstream.address" -> "10.0.0.7";
        case "upstream.port" -> 8080L;
        case "connection.requested_server_name" -> "db.example";
        case "connection.termination_details" -> "rbac_access_denied_matched_policy[none]";
        default -> null;
    };

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
        "response.flags != 0u                                           => true",
        "response.flags == 256                                          => true",
        "response.flags == 256u && response.code_details == 'route_not_found' => true",
        "response.flags > 0U                                            => true",
        "response.size > 0 && request.size == 0                         => true",
        "upstream.address == '10.0.0.7' && upstream.port == 8080        => true",
        "has(upstream.transport_failure_reason)                         => false",
        "connection.requested_server_name == 'db.example'               => true",
        "has(connection.termination_details)                            => true",
        "connection.termination_details == 'rbac_access_denied_matched_policy[none]' => true",
    })
    void theAttributesAccessLogFiltersReadEvaluate(String expression, String value) {
        assertEquals(value, AttributeExpression.parse(expression.strip()).label(DENIED));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
        "upstream.cluster == 'x'   => unknown attribute \"upstream.cluster\" (served: [upstream.address,"
                + " upstream.local_address, upstream.port, upstream.transport_failure_reason]) at position 9 of"
                + " \"upstream.cluster == 'x'\"",
        "connection.transport_failure_reason => unknown attribute \"connection.transport_failure_reason\" (served:"
                + " [connection.dns_san_local_certificate, connection.dns_san_peer_certificate, connection.id,"
                + " connection.mtls, connection.requested_server_name, connection.sha256_peer_certificate_digest,"
                + " connection.subject_local_certificate, connection.subject_peer_certificate,"
                + " connection.termination_details, connection.tls_version, connection.uri_san_local_certificate,"
                + " connection.uri_san_peer_certificate]) at position 11 of \"connection.transport_failure_reason\"",
        "response.flags == -1u     => a uint cannot be negative at position 20 of \"response.flags == -1u\"",
    })
    void anAttributeTheSubsetDoesNotServeIsAnErrorNamingIt(String expression, String message) {
        assertEquals(message, assertThrows(IllegalArgumentException.class,
                () -> AttributeExpression.parse(expression.strip())).getMessage());
    }
}
