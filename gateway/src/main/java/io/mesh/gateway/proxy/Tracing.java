package io.mesh.gateway.proxy;

import java.util.concurrent.ThreadLocalRandom;

/**
 * W3C trace context: the gateway's hop is a span, so the upstream sees the incoming trace id with a new
 * parent id; a request without (valid) context starts a new trace, sampled at the configured percentage.
 */
final class Tracing {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private Tracing() {
    }

    static String childOf(String traceparent, double samplingPercent) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        if (traceparent != null && traceparent.length() == 55 && traceparent.startsWith("00-")
                && traceparent.charAt(35) == '-' && traceparent.charAt(52) == '-') {
            return traceparent.substring(0, 36) + hex(r.nextLong(), 16) + traceparent.substring(52);
        }
        boolean sampled = r.nextDouble() * 100 < samplingPercent;
        return "00-" + hex(r.nextLong(), 16) + hex(r.nextLong(), 16) + "-" + hex(r.nextLong(), 16) + (sampled ? "-01" : "-00");
    }

    static String hex(long v, int digits) {
        char[] c = new char[digits];
        for (int i = digits - 1; i >= 0; i--) {
            c[i] = HEX[(int) (v & 0xf)];
            v >>>= 4;
        }
        return new String(c);
    }
}
