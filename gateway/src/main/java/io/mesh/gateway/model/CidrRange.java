package io.mesh.gateway.model;

import io.netty.util.NetUtil;

/**
 * An IP block from a filter_chain_match's {@code prefix_ranges} ({@code 10.20.0.0/16}): a sidecar's outbound chain
 * for a ServiceEntry's CIDR address takes the captured connections whose original destination is in it.
 *
 * @param prefix the address's bytes (4 or 16)
 * @param length how many leading bits must match (0 to 32, or 128)
 */
public record CidrRange(byte[] prefix, int length) {

    /** The block, or IllegalArgumentException when the address is not an IP literal or the length does not fit it. */
    public static CidrRange of(String address, int length) {
        byte[] prefix = NetUtil.createByteArrayFromIpAddressString(address);
        if (prefix == null) {
            throw new IllegalArgumentException("\"" + address + "\" is not an IP address");
        }
        if (length < 0 || length > prefix.length * 8) {
            throw new IllegalArgumentException("prefix length " + length + " does not fit " + address);
        }
        return new CidrRange(prefix, length);
    }

    /** Whether this IP literal is in the block (an address of the other family never is). */
    public boolean contains(String ip) {
        byte[] a = NetUtil.createByteArrayFromIpAddressString(ip);
        if (a == null || a.length != prefix.length) {
            return false;
        }
        int full = length / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != prefix[i]) {
                return false;
            }
        }
        int rest = length % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (a[full] & mask) == (prefix[full] & mask);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CidrRange c && c.length == length && java.util.Arrays.equals(c.prefix, prefix);
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Arrays.hashCode(prefix) + length;
    }

    @Override
    public String toString() {
        return NetUtil.bytesToIpAddress(prefix) + "/" + length;
    }
}
