package io.mesh.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * CEL's functions, {@code in}, list literals, durations and timestamps as Telemetry expressions use them, with the CEL
 * spec's semantics: a string test with an empty argument is true, {@code size} counts a string's code points,
 * {@code matches} is RE2's partial match (RE2's syntax: no lookaround, no backreference; linear time, so a pattern that
 * backtracks exponentially in java.util.regex is answered at once), ints and uints compare by value, {@code in} a map
 * asks for the key. A call no
 * overload takes is refused when parsed, naming the position; one whose value is wrong at run time has none.
 */
class AttributeExpressionFunctionsTest {
    /** Looked up by name whatever its case, as a proxy's header map. */
    static final Map<String, String> HEADERS = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);

    static {
        HEADERS.putAll(Map.of("user-agent", "kube-probe/1.29", "x-team", "payments-prod", "x-token", "abc",
                "x-empty", "", "x-unicode", "h\u00e9llo\ud83d\ude00", "x-neg", "-5", "x-n", "12"));
    }

    static final AttributeExpression.Activation REQUEST = (root, field) -> switch (root + "." + field) {
        case "request.headers" -> HEADERS;
        case "request.url_path" -> "/api/v2/items";
        case "request.path" -> "/api/v2/items?x=1";
        case "request.method" -> "POST";
        case "request.time" -> Instant.parse("2024-05-01T10:00:00Z");
        case "request.duration" -> Duration.ofMillis(1500);
        case "response.code" -> 503L;
        case "response.flags" -> 0x100L;
        case "response.headers" -> Map.of("x-cache", "HIT");
        default -> null;
    };

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
        "!request.url_path.startsWith('/healthz')                       => true",
        "request.headers['user-agent'].contains('kube-probe')           => true",
        "request.headers['x-team'].endsWith('-prod')                    => true",
        "request.headers['x-team'].endsWith('-dev')                     => false",
        "'abc'.startsWith('') && 'abc'.endsWith('') && 'abc'.contains('') => true",
        "request.path.matches('^/api/v[0-9]+/')                         => true",
        "request.path.matches('v2')                                     => true",
        "matches(request.path, '^/api/v[0-9]+/items$')                  => false",
        "request.url_path.matches('(?i)/API/')                          => true",
        "request.headers['x-n'].matches('^\\\\d+$')                     => true",
        "request.headers['x-n'].matches(r'^\\d+$')                      => true",
        "request.path.matches(request.headers['x-n'])                   => false",
        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'.matches('^(a+)+$') => false",
        "response.code >= 500 || request.duration > duration('1s')      => true",
        "request.duration > duration('1s')                              => true",
        "request.duration < duration('1500ms')                          => false",
        "request.duration == duration('1.5s')                           => true",
        "request.duration >= duration('1m30s')                          => false",
        "request.duration                                               => 1.5s",
        "string(duration('1m'))                                         => 60s",
        "string(duration('-1.5s'))                                      => -1.5s",
        "string(duration('1m1ms'))                                      => 60.001s",
        "duration(request.duration) == duration('1500ms')               => true",
        "timestamp(request.time) == request.time                        => true",
        "request.time > timestamp('2024-01-01T00:00:00Z')               => true",
        "request.time == timestamp('2024-05-01T12:00:00+02:00')         => true",
        "request.time                                                   => 2024-05-01T10:00:00Z",
        "string(timestamp('2024-05-01T10:00:00.120Z'))                  => 2024-05-01T10:00:00.12Z",
        "int(request.time)                                              => 1714557600",
        "size(request.headers['x-token']) > 0                           => true",
        "size(request.headers['x-empty'])                               => 0",
        "size(request.headers['x-unicode'])                             => 6",
        "request.headers['x-unicode'].size()                            => 6",
        "size([1, 2] + [3])                                             => 3",
        "request.method in ['POST', 'PUT']                              => true",
        "request.method in ['GET']                                      => false",
        "request.method in [request.headers['x-team'], 'POST']          => true",
        "'a' in []                                                      => false",
        "'x-team' in request.headers                                    => true",
        "'X-Team' in request.headers                                    => true",
        "'x-missing' in request.headers                                 => false",
        "string(response.code)                                          => 503",
        "string(response.code) + '/' + string(true)                     => 503/true",
        "int('42') + 1                                                  => 43",
        "int(request.headers['x-n']) > 10                               => true",
        "int(request.headers['x-team'])                                 => unknown",
        "uint(request.headers['x-n'])                                   => 12",
        "uint(request.headers['x-neg'])                                 => unknown",
        "response.flags == 256u && response.flags > 0 && 1u < 2 && 2u == 2 => true",
        "response.code in [500u, 503u]                                  => true",
        "response.headers['x-cache'] == 'HIT'                           => true",
        "'x-cache' in response.headers                                  => true",
        "request.headers['x-missing'].startsWith('a')                   => unknown",
        "(response.code > 1 ? response.code : 'x').startsWith('5')      => unknown",
        "has(request.headers['x-team']) && request.method == 'POST'     => true",
    })
    void aFunctionYieldsItsValueAsCelDefinesIt(String expression, String value) {
        assertEquals(value, AttributeExpression.parse(expression.strip()).label(REQUEST));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
        "request.path.foo('x')           => unknown function \"foo\" (served: [contains, duration, endsWith, int, matches,"
                + " size, startsWith, string, timestamp, uint], and has()) at position 13 of \"request.path.foo('x')\"",
        "startsWith(request.path, '/x')  => startsWith() is a member function: call it as value.startsWith(...) at"
                + " position 0 of \"startsWith(request.path, '/x')\"",
        "request.path.string()           => string() is not a member function: call it as string(value) at position 13"
                + " of \"request.path.string()\"",
        "request.path.startsWith()       => .startsWith() takes 1 argument, got 0 at position 13 of"
                + " \"request.path.startsWith()\"",
        "size('a', 'b')                  => size() takes 1 argument, got 2 at position 0 of \"size('a', 'b')\"",
        "request.path.startsWith(1)      => no matching overload for startsWith() on int (takes [string]) at position 24"
                + " of \"request.path.startsWith(1)\"",
        "response.code.startsWith('5')   => no matching overload for startsWith() on int (takes [string]) at position 0"
                + " of \"response.code.startsWith('5')\"",
        "size(response.code)             => no matching overload for size() on int (takes [list, map, string]) at"
                + " position 5 of \"size(response.code)\"",
        "string([1])                     => no matching overload for string() on list (takes [bool,"
                + " google.protobuf.Duration, google.protobuf.Timestamp, int, string]) at position 7 of \"string([1])\"",
        "request.path.matches('(')       => invalid regex for matches(): missing closing ) in \"(\" at position 21 of"
                + " \"request.path.matches('(')\"",
        "request.path.matches('(?=api)') => invalid regex for matches(): invalid or unsupported Perl syntax in"
                + " \"(?=api)\" at position 21 of \"request.path.matches('(?=api)')\"",
        "request.path.matches(r'(a)\\1') => invalid regex for matches(): invalid escape sequence in \"(a)\\1\" at"
                + " position 21 of \"request.path.matches(r'(a)\\1')\"",
        "duration('1x')                  => invalid duration \"1x\" (units: h, m, s, ms, us, ns) at position 0 of"
                + " \"duration('1x')\"",
        "timestamp('yesterday')          => invalid timestamp \"yesterday\" (RFC 3339, e.g. 2024-05-01T10:00:00Z) at"
                + " position 0 of \"timestamp('yesterday')\"",
        "uint(-1)                        => uint(): -1 out of range at position 0 of \"uint(-1)\"",
        "int('x')                        => int(): cannot convert \"x\" at position 0 of \"int('x')\"",
        "size(request.headers)           => size(request.headers) is not served: headers are looked up by name, never"
                + " listed at position 5 of \"size(request.headers)\"",
        "request.method in request.headers => 'in request.headers' takes a string literal here at position 18 of"
                + " \"request.method in request.headers\"",
        "'a' in 'abc'                    => no matching overload for 'in' on string (takes a list or a map) at position"
                + " 7 of \"'a' in 'abc'\"",
        "request.path.matches('\\d')     => invalid escape \\d (a regex's backslash is written \\\\, or use r'...') at"
                + " position 22 of \"request.path.matches('\\d')\"",
        "[1, 2                           => expected ']' at position 5 of \"[1, 2\"",
        "['a'].exists(x, x == 'a')       => unknown function \"exists\" (served: [contains, duration, endsWith, int,"
                + " matches, size, startsWith, string, timestamp, uint], and has()) at position 6 of"
                + " \"['a'].exists(x, x == 'a')\"",
        "response.code > 1.5             => doubles are not served (use an int, or a duration('1.5s')) at position 17"
                + " of \"response.code > 1.5\"",
        "request.host.size               => attribute \"request.host\" has no fields (use [\"key\"] on maps) at position"
                + " 13 of \"request.host.size\"",
    })
    void aCallNoOverloadTakesIsRefusedWithThePosition(String expression, String reason) {
        assertEquals(reason, assertThrows(IllegalArgumentException.class,
                () -> AttributeExpression.parse(expression.strip())).getMessage());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
        "request.path.startsWith('/')          => true",
        "'x-team' in request.headers           => true",
        "matches(request.path, 'a')            => true",
        "string(response.code)                 => false",
        "size(request.path)                    => false",
        "duration('1s')                        => false",
        "request.time                          => false",
    })
    void aFunctionsResultTypeTellsWhetherItCanBeABool(String expression, boolean bool) {
        assertEquals(bool, AttributeExpression.parse(expression.strip()).mayBeBool());
    }

    @Test
    void theHeadersAnExpressionTestsOrReadsAreKnownWhenItIsParsed() {
        AttributeExpression e = AttributeExpression.parse("'X-Team' in request.headers"
                + " && request.headers['x-env'].startsWith('p') || response.headers['X-Cache'] == 'HIT'"
                + " || 'grpc-status' in response.trailers");
        assertEquals(Set.of("x-team", "x-env"), e.headerNames());
        assertEquals(Set.of("x-cache", "grpc-status"), e.responseHeaderNames());
        assertEquals(Set.of(), AttributeExpression.parse("request.path.startsWith('/')").responseHeaderNames());
    }

    @Test
    void aHeaderMapThatIsOnlyLookedUpByNameHasNoSizeNorEqualityAtRunTime() {
        java.util.function.Supplier<Map<Object, Object>> byName = () -> new java.util.AbstractMap<>() {
            @Override
            public Object get(Object key) {
                return "x-team".equals(key) ? "payments" : null;
            }

            @Override
            public Set<Map.Entry<Object, Object>> entrySet() {
                throw new UnsupportedOperationException("looked up by name");
            }
        };
        AttributeExpression.Activation proxy = (root, field) -> field.equals("headers") ? byName.get() : null;
        assertEquals("unknown", AttributeExpression.parse("size(true ? request.headers : [])").label(proxy));
        assertEquals("unknown", AttributeExpression.parse("request.headers == response.headers").label(proxy));
        assertEquals("unknown", AttributeExpression.parse("request.headers").label(proxy));
        assertEquals("true", AttributeExpression.parse("'x-team' in request.headers").label(proxy));
    }

    @Test
    void aFilterWhoseCallHasNoValueIsFalse() {
        assertEquals(false, AttributeExpression.parse("int(request.headers['x-team']) > 1").test(REQUEST));
        assertEquals(true, AttributeExpression.parse("int(request.headers['x-team']) > 1 || request.method == 'POST'")
                .test(REQUEST));
    }
}
