package io.mesh.gateway.upstream;

import java.nio.charset.StandardCharsets;

/** A 64-bit FNV-1a hash with a final avalanche, for the consistent-hash ring and hash policies. */
public final class Hashing {

    private Hashing() {
    }

    public static long hash(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
