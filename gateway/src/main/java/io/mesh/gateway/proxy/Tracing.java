package io.mesh.gateway.proxy;

import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/**
 * W3C trace context: the gateway's hop is a span, so the upstream sees the incoming trace id with a new
 * parent id; a request without (valid) context starts a new trace, sampled at the configured percentage.
 * The header is built in one byte array (it runs for every request).
 */
final class Tracing {

    private static final byte[] HEX_BYTES = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final int LENGTH = 55;

    private Tracing() {
    }

    /** {@link #chainSampling}'s answer when the request's OTLP span is to be started. */
    static final double START_SPAN = -1;

    /**
     * Under a filter chain's telemetry (from its HCM): {@link #START_SPAN} when the request's OTLP span is started (OTLP
     * is on, the chain reports spans, and the request continues a trace or starts one this roll samples at the chain's
     * percentage), else the percentage {@link #childOf} samples a new trace at (100 or 0: the roll's answer). One roll
     * per request, so the sampled share is the chain's percentage whichever way the header is made.
     */
    static double chainSampling(io.mesh.gateway.model.ChainTelemetry t, boolean otlp, String traceparent) {
        boolean report = otlp && t.reportSpans();
        if (continues(traceparent)) {
            return report ? START_SPAN : 0;   // the incoming flags are kept: the percentage is not read
        }
        boolean sampled = ThreadLocalRandom.current().nextDouble() * 100 < t.samplingPercent();
        return sampled && report ? START_SPAN : sampled ? 100 : 0;
    }

    /** Whether a traceparent is valid enough to be continued (its trace id and flags are kept). */
    private static boolean continues(String traceparent) {
        return traceparent != null && traceparent.length() == LENGTH && traceparent.startsWith("00-")
                && traceparent.charAt(35) == '-' && traceparent.charAt(52) == '-' && latin1(traceparent);
    }

    /** The header as an AsciiString over the bytes built here: header maps and encoders take it without a copy. */
    static AsciiString childOf(String traceparent, double samplingPercent) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        byte[] b = new byte[LENGTH];
        if (continues(traceparent)) {
            // version, trace id and '-' as they came; a new parent id; '-' and the flags as they came.
            for (int i = 0; i < 36; i++) {
                b[i] = (byte) traceparent.charAt(i);
            }
            hex(r.nextLong(), b, 36);
            for (int i = 52; i < LENGTH; i++) {
                b[i] = (byte) traceparent.charAt(i);
            }
            return new AsciiString(b, false);
        }
        boolean sampled = r.nextDouble() * 100 < samplingPercent;
        b[0] = '0';
        b[1] = '0';
        b[2] = '-';
        hex(r.nextLong(), b, 3);
        hex(r.nextLong(), b, 19);
        b[35] = '-';
        hex(r.nextLong(), b, 36);
        b[52] = '-';
        b[53] = '0';
        b[54] = (byte) (sampled ? '1' : '0');
        return new AsciiString(b, false);
    }

    private static boolean latin1(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xff) {
                return false;
            }
        }
        return true;
    }

    /** 16 lower-case hex digits of {@code v} into {@code b} at {@code at}. */
    private static void hex(long v, byte[] b, int at) {
        hex(v, b, at, 16);
    }

    /** The low {@code digits} hex digits of {@code v} into {@code b} at {@code at}. */
    private static void hex(long v, byte[] b, int at, int digits) {
        for (int i = at + digits - 1; i >= at; i--) {
            b[i] = HEX_BYTES[(int) (v & 0xf)];
            v >>>= 4;
        }
    }

    /**
     * A random (version 4) UUID as x-request-id text, 8-4-4-4-12 lower-case hex digits, as {@code UUID.toString()}
     * writes it, built in one byte array. Not UUID.randomUUID(): SecureRandom on every request is slow and contended.
     */
    static AsciiString requestId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long msb = (r.nextLong() & ~0xf000L) | 0x4000L;
        long lsb = (r.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L;
        byte[] b = new byte[36];
        hex(msb >>> 32, b, 0, 8);
        b[8] = '-';
        hex(msb >>> 16, b, 9, 4);
        b[13] = '-';
        hex(msb, b, 14, 4);
        b[18] = '-';
        hex(lsb >>> 48, b, 19, 4);
        b[23] = '-';
        hex(lsb, b, 24, 12);
        return new AsciiString(b, false);
    }
}
