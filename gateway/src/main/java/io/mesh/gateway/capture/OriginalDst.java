package io.mesh.gateway.capture;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * The original destination of a connection that iptables REDIRECTed to the proxy: Linux's
 * {@code getsockopt(fd, SOL_IP, SO_ORIGINAL_DST)} (and {@code SOL_IPV6, IP6T_SO_ORIGINAL_DST}), read from
 * conntrack. Java has no API for it, so it is called through JNA's direct mapping on the accepted socket's
 * file descriptor (Netty's native epoll transport exposes it).
 *
 * <p>Why REDIRECT and not TPROXY: REDIRECT works for the proxy's own outbound capture (TPROXY only applies in
 * PREROUTING), needs no policy routing, and needs no capability in the proxy (IP_TRANSPARENT needs
 * CAP_NET_ADMIN), so the sidecar runs as an unprivileged user.
 */
public final class OriginalDst {

    private static final int SOL_IP = 0;
    private static final int SOL_IPV6 = 41;
    private static final int SO_ORIGINAL_DST = 80;

    private static final Throwable UNAVAILABLE;

    static {
        Throwable failure = null;
        try {
            Native.register(OriginalDst.class, NativeLibrary.getInstance("c"));
        } catch (Throwable t) {
            failure = t;
        }
        UNAVAILABLE = failure;
    }

    private OriginalDst() {
    }

    private static native int getsockopt(int fd, int level, int name, byte[] value, int[] length) throws LastErrorException;

    /** Whether the native call could be linked on this platform. */
    public static boolean available() {
        return UNAVAILABLE == null;
    }

    /**
     * The address the connection on {@code fd} was headed to before REDIRECT. Throws when the connection was
     * not redirected (no conntrack NAT entry: ENOENT) or the platform has no such option.
     */
    public static InetSocketAddress of(int fd, boolean ipv6) {
        if (UNAVAILABLE != null) {
            throw new IllegalStateException("SO_ORIGINAL_DST needs libc through JNA: " + UNAVAILABLE.getMessage());
        }
        byte[] buf = new byte[ipv6 ? 28 : 16];
        int[] len = {buf.length};
        try {
            getsockopt(fd, ipv6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, len);
        } catch (LastErrorException e) {
            throw new IllegalStateException("getsockopt(SO_ORIGINAL_DST) failed: errno " + e.getErrorCode()
                    + (e.getErrorCode() == 2 ? " (the connection was not redirected by iptables)" : ""));
        }
        return parse(buf);
    }

    /** Decodes a sockaddr_in / sockaddr_in6 (family in host order, port in network order). */
    static InetSocketAddress parse(byte[] sa) {
        int family = (sa[0] & 0xff) | (sa[1] & 0xff) << 8;
        int port = (sa[2] & 0xff) << 8 | (sa[3] & 0xff);
        byte[] addr;
        if (family == 2) {
            addr = new byte[4];
            System.arraycopy(sa, 4, addr, 0, 4);
        } else if (family == 10) {
            addr = new byte[16];
            System.arraycopy(sa, 8, addr, 0, 16);
        } else {
            throw new IllegalStateException("unexpected address family " + family);
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(addr), port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
