package io.mesh.gateway.proxy;

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

    static String childOf(String traceparent, double samplingPercent) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        byte[] b = new byte[LENGTH];
        if (traceparent != null && traceparent.length() == LENGTH && traceparent.startsWith("00-")
                && traceparent.charAt(35) == '-' && traceparent.charAt(52) == '-' && latin1(traceparent)) {
            // version, trace id and '-' as they came; a new parent id; '-' and the flags as they came.
            for (int i = 0; i < 36; i++) {
                b[i] = (byte) traceparent.charAt(i);
            }
            hex(r.nextLong(), b, 36);
            for (int i = 52; i < LENGTH; i++) {
                b[i] = (byte) traceparent.charAt(i);
            }
            return new String(b, StandardCharsets.ISO_8859_1);
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
        return new String(b, StandardCharsets.ISO_8859_1);
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
        for (int i = at + 15; i >= at; i--) {
            b[i] = HEX_BYTES[(int) (v & 0xf)];
            v >>>= 4;
        }
    }
}
