package io.mesh.gateway.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** The sockaddr decoding, and the native call itself on a socket that was not redirected. */
class OriginalDstTest {

    @Test
    void decodesIpv4AndIpv6SocketAddresses() {
        byte[] v4 = {2, 0, 0x1f, (byte) 0x90, (byte) 198, 51, 100, 12, 0, 0, 0, 0, 0, 0, 0, 0};
        assertEquals(new InetSocketAddress("198.51.100.12", 8080), OriginalDst.parse(v4));
        byte[] v6 = new byte[28];
        v6[0] = 10;
        v6[2] = 0x1f;
        v6[3] = (byte) 0x90;
        v6[8] = 0x20;
        v6[9] = 0x01;
        v6[10] = 0x0d;
        v6[11] = (byte) 0xb8;
        v6[23] = 1;
        assertEquals(new InetSocketAddress("2001:db8::1", 8080), OriginalDst.parse(v6));
    }

    @Test
    void theNativeCallIsLinkedAndAnErrorIsReportedNotTurnedIntoAnAddress() {
        assertTrue(OriginalDst.available(), "libc is linked through JNA");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> OriginalDst.of(-1, false));
        assertTrue(e.getMessage().contains("errno 9"), e.getMessage());   // EBADF
    }
}
