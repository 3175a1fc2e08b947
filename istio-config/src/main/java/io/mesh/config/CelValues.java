package io.mesh.config;

import io.mesh.config.AttributeExpression.EvalError;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/**
 * CEL's values as {@link AttributeExpression} holds them: a string is a String, an int or a uint a Long (a uint above
 * 2^63-1 is not served), a bool a Boolean, a duration a {@link Duration}, a timestamp an {@link Instant}, a list a List
 * and a map a Map. What CEL's spec says of their equality, ordering, printing and the literal formats of
 * {@code duration()} and {@code timestamp()} lives here. Stateless.
 */
final class CelValues {

    /** CEL's range of timestamps: years 0001 to 9999 (the spec's, as protobuf's Timestamp). */
    private static final Instant MIN_TIME = Instant.parse("0001-01-01T00:00:00Z");
    private static final Instant MAX_TIME = Instant.parse("9999-12-31T23:59:59.999999999Z");
    /** CEL's range of durations: about ±10000 years (protobuf's Duration). */
    private static final long MAX_DURATION_SECONDS = 315_576_000_000L;

    private CelValues() {
    }

    static boolean bool(Object v) {
        if (v instanceof Boolean b) {
            return b;
        }
        throw new EvalError("not a bool");
    }

    static String string(Object v, String function) {
        if (v instanceof String s) {
            return s;
        }
        throw new EvalError("no matching overload for " + function + " on " + typeName(v));
    }

    /** CEL's heterogeneous equality: values of different types are not equal (no error); ints and uints by value. */
    static boolean equal(Object l, Object r) {
        if (l instanceof Map && r instanceof Map && l != r) {
            try {
                return l.equals(r);
            } catch (UnsupportedOperationException e) {   // a proxy's header map is looked up by name, never listed
                throw new EvalError("maps of headers are not compared");
            }
        }
        return java.util.Objects.equals(l, r);
    }

    /** CEL's ordering of two values of one type (int/uint, string, bool, duration, timestamp); else an error. */
    static int compare(String op, Object l, Object r) {
        if (l instanceof Long li && r instanceof Long ri) {
            return Long.compare(li, ri);
        }
        if (l instanceof String ls && r instanceof String rs) {
            return ls.compareTo(rs);
        }
        if (l instanceof Duration ld && r instanceof Duration rd) {
            return ld.compareTo(rd);
        }
        if (l instanceof Instant lt && r instanceof Instant rt) {
            return lt.compareTo(rt);
        }
        if (l instanceof Boolean lb && r instanceof Boolean rb) {
            return Boolean.compare(lb, rb);
        }
        throw new EvalError("no matching overload for '" + op + "' on " + typeName(l) + " and " + typeName(r));
    }

    /** CEL's type name of a value, for errors. */
    static String typeName(Object v) {
        if (v instanceof String) {
            return "string";
        }
        if (v instanceof Long) {
            return "int";
        }
        if (v instanceof Boolean) {
            return "bool";
        }
        if (v instanceof Duration) {
            return "google.protobuf.Duration";
        }
        if (v instanceof Instant) {
            return "google.protobuf.Timestamp";
        }
        if (v instanceof List) {
            return "list";
        }
        if (v instanceof Map) {
            return "map";
        }
        return v == null ? "null_type" : v.getClass().getSimpleName();
    }

    /**
     * {@code string(v)}: a string as it is, an int in decimal, a bool as true/false, a duration in seconds with the
     * fraction it has ("1.5s", "60s"), a timestamp in RFC 3339 in UTC (Go's RFC3339Nano, as cel-go prints it); null for
     * a list or a map, which CEL does not convert.
     */
    static String print(Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Long || v instanceof Boolean) {
            return v.toString();
        }
        if (v instanceof Duration d) {
            return seconds(d.getSeconds(), d.getNano(), d.isNegative()) + "s";
        }
        if (v instanceof Instant t) {
            String whole = DateTimeFormatter.ISO_INSTANT.format(Instant.ofEpochSecond(t.getEpochSecond()));
            return whole.substring(0, whole.length() - 1) + fraction(t.getNano()) + "Z";
        }
        return null;
    }

    /** Seconds and nanos (Java's: nanos always positive) as a decimal, the fraction's trailing zeros dropped. */
    private static String seconds(long seconds, int nanos, boolean negative) {
        if (negative && nanos > 0) {
            return "-" + (-(seconds + 1)) + fraction(1_000_000_000 - nanos);
        }
        return seconds + fraction(nanos);
    }

    private static String fraction(int nanos) {
        if (nanos == 0) {
            return "";
        }
        String f = String.format("%09d", nanos);
        int end = f.length();
        while (f.charAt(end - 1) == '0') {
            end--;
        }
        return "." + f.substring(0, end);
    }

    /**
     * {@code duration(text)}: Go's duration syntax as CEL takes it, an optional sign then one or more decimal numbers
     * each with a unit ({@code h}, {@code m}, {@code s}, {@code ms}, {@code us}, {@code ns}): "1s", "1.5h", "1m30s",
     * "-250ms"; "0" alone.
     */
    static Duration duration(String text) {
        String s = text;
        boolean negative = false;
        if (!s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+')) {
            negative = s.charAt(0) == '-';
            s = s.substring(1);
        }
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        if (s.isEmpty()) {
            throw new EvalError("invalid duration \"" + text + "\"");
        }
        java.math.BigDecimal nanos = java.math.BigDecimal.ZERO;
        int i = 0;
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                i++;
            }
            int unitStart = i;
            while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') {
                i++;
            }
            String number = s.substring(start, unitStart);
            long unit = switch (s.substring(unitStart, i)) {
                case "h" -> 3_600_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "s" -> 1_000_000_000L;
                case "ms" -> 1_000_000L;
                case "us", "µs" -> 1_000L;
                case "ns" -> 1L;
                default -> throw new EvalError("invalid duration \"" + text + "\" (units: h, m, s, ms, us, ns)");
            };
            if (number.isEmpty() || number.equals(".") || number.indexOf('.') != number.lastIndexOf('.')) {
                throw new EvalError("invalid duration \"" + text + "\"");
            }
            nanos = nanos.add(new java.math.BigDecimal(number).multiply(java.math.BigDecimal.valueOf(unit)));
        }
        // Whole nanoseconds (a finer fraction is dropped, as Go's), split into seconds and nanos.
        java.math.BigInteger[] secondsAndNanos = nanos.toBigInteger().divideAndRemainder(
                java.math.BigInteger.valueOf(1_000_000_000L));
        if (secondsAndNanos[0].compareTo(java.math.BigInteger.valueOf(MAX_DURATION_SECONDS)) > 0) {
            throw new EvalError("duration \"" + text + "\" out of range");
        }
        Duration d = Duration.ofSeconds(secondsAndNanos[0].longValue(), secondsAndNanos[1].longValue());
        return negative ? d.negated() : d;
    }

    /** {@code timestamp(text)}: RFC 3339 ("2024-05-01T10:00:00Z", an offset, a fraction), years 0001 to 9999. */
    static Instant timestamp(String text) {
        Instant t;
        try {
            t = OffsetDateTime.parse(text, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
        } catch (DateTimeParseException e) {
            throw new EvalError("invalid timestamp \"" + text + "\" (RFC 3339, e.g. 2024-05-01T10:00:00Z)");
        }
        if (t.isBefore(MIN_TIME) || t.isAfter(MAX_TIME)) {
            throw new EvalError("timestamp \"" + text + "\" out of range");
        }
        return t;
    }
}
