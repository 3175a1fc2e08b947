package io.mesh.gateway.upstream;

import java.nio.charset.StandardCharsets;

/** A 64-bit FNV-1a hash with a final avalanche, for the consistent-hash ring and hash policies. */
public final class Hashing {

    private Hashing() {
    }

    /**
     * The consistent-hash key of a request under a route's hash policies: the hash of the first policy's key that the
     * request has ({@code keyOf} gives it, or null), as Envoy takes the first policy that yields one; else
     * {@code Long.MIN_VALUE}, no key (a random pick).
     */
    public static long key(java.util.List<io.mesh.gateway.route.HashPolicy> policies,
            java.util.function.Function<io.mesh.gateway.route.HashPolicy, String> keyOf) {
        for (int i = 0; i < policies.size(); i++) {
            String key = keyOf.apply(policies.get(i));
            if (key != null) {
                return hash(key);
            }
        }
        return Long.MIN_VALUE;
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
