package io.mesh.citadel.ca;

import java.math.BigInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Certificate serial numbers. Invariant: a serial is never reused. Each serial is 64 fresh random bits followed
 * by a 62-bit counter, so two serials from one process always differ, and serials from different processes
 * (or after a restart) collide only if 64 random bits repeat. The result is positive and 127 bits long, well
 * within RFC 5280's 20 octets.
 */
public final class SerialNumbers {

    private final AtomicLong counter;

    public SerialNumbers() {
        // Start the counter at a random point so that two processes do not walk the same sequence.
        this.counter = new AtomicLong(BouncyCastle.random().nextLong() >>> 2);
    }

    public BigInteger next() {
        byte[] random = new byte[8];
        BouncyCastle.random().nextBytes(random);
        long sequence = counter.getAndIncrement() & 0x3FFF_FFFF_FFFF_FFFFL;
        // Bit 126 is always set, so every serial is positive and has the same length.
        return new BigInteger(1, random).shiftLeft(62).or(BigInteger.valueOf(sequence)).setBit(126);
    }
}
