package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The CEL subset of metric tag values: what each expression yields over one request's attributes. */
class AttributeExpressionTest {
    static final AttributeExpression.Activation REQUEST = (root, field) -> switch (root + "." + field) {
        case "request.headers" -> Map.of("x-team", "payments", "x-empty", "");
        case "request.method" -> "GET";
        case "request.host" -> "web.demo";
        case "response.code" -> 503L;
        case "upstream_peer.app" -> "cart";
        default -> null;
    };

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
        "request.headers['x-team']                                  => payments",
        "request.headers[\"x-team\"]                                => payments",
        "request.headers['x-missing']                               => unknown",
        "request.useragent                                          => unknown",
        "has(request.headers) && request.method == 'GET'            => true",
        "has(request.useragent)                                     => false",
        "'team-' + request.headers['x-team']                        => team-payments",
        "response.code >= 500 ? 'server_error' : 'ok'               => server_error",
        "response.code                                              => 503",
        "response.code + 1                                          => 504",
        "request.method != 'GET' || upstream_peer.app == 'cart'     => true",
        "!(request.host == 'web.demo')                              => false",
        "request.method + response.code                             => unknown",
        "response.code == 503 && request.host                       => unknown",
        "(1 < 2) ? \"yes\" : 'no'                                   => yes",
    })
    void anExpressionYieldsItsLabelOrUnknown(String expression, String label) {
        assertEquals(label, AttributeExpression.parse(expression.strip()).label(REQUEST));
    }

    @org.junit.jupiter.api.Test
    void theHeadersAnExpressionReadsAreKnownWhenItIsParsed() {
        assertEquals(java.util.Set.of("x-team", "x-env"), AttributeExpression.parse(
                "has(request.headers['X-Team']) ? request.headers['x-team'] : request.headers[\"x-env\"]").headerNames());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
        "request.headers['x'              => expected ']' at position 19 of \"request.headers['x'\"",
        "request                          => expected '.' after request at position 7 of \"request\"",
        "filter_state.x                   => unknown attribute \"filter_state\" (served: [connection, destination,"
                + " downstream_peer, request, response, source, upstream, upstream_peer, xds]) at position 0 of \"filter_state.x\"",
        "'abc                             => unterminated string at position 4 of \"'abc\"",
        "a ? 'b'                          => unknown attribute \"a\" (served: [connection, destination, downstream_peer,"
                + " request, response, source, upstream, upstream_peer, xds]) at position 0 of \"a ? 'b'\"",
        "true ? 'b'                       => expected ':' at position 10 of \"true ? 'b'\"",
        "'a' 'b'                          => unexpected ''' at position 4 of \"'a' 'b'\"",
        "request.headers[request.host]    => request.headers is indexed by a string literal here at position 16 of"
                + " \"request.headers[request.host]\"",
        "request.host.name                => attribute \"request.host\" has no fields (use [\"key\"] on maps) at position 13"
                + " of \"request.host.name\"",
    })
    void aBadExpressionIsRejectedWithThePosition(String expression, String reason) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttributeExpression.parse(expression.strip()));
        assertEquals(reason, e.getMessage());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiterString = "=>", value = {
        "response.code >= 400                                       => true",
        "response.code < 400                                        => false",
        "request.headers['x-missing'] == 'on'                       => false",
        "request.useragent == 'curl' || response.code == 503        => true",
        "request.headers['x-team']                                  => false",
        "response.code == null                                      => false",
        "request.useragent == 'curl' && response.code == 200        => false",
    })
    void aFilterIsTrueOnlyWhenItsValueIsTrueAsEnvoysCelFilter(String expression, boolean logged) {
        assertEquals(logged, AttributeExpression.parse(expression.strip()).test(REQUEST));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
        "response.code >= 400                                       => true",
        "has(request.useragent)                                     => true",
        "connection.mtls                                            => true",
        "response.code > 1 ? true : 'x'                             => true",
        "request.path + '/'                                         => false",
        "'yes'                                                      => false",
        "response.code                                              => false",
        "response.code > 1 ? 'a' : 'b'                              => false",
    })
    void anExpressionThatCannotBeABoolIsToldApart(String expression, boolean bool) {
        assertEquals(bool, AttributeExpression.parse(expression.strip()).mayBeBool());
    }
}
