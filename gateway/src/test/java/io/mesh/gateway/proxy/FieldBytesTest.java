package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The word-at-a-time field-value check agrees with the byte-at-a-time definition for every byte, place and length. */
class FieldBytesTest {

    private static boolean reference(ByteBuf b, int from, int to) {
        for (int k = from; k < to; k++) {
            if (!FastUpstreamConnection.fieldByte(b.getByte(k))) {
                return false;
            }
        }
        return true;
    }

    @Test
    void everyByteValueAtEveryPlaceOfWordsAndTails() {
        for (ByteBuf buf : new ByteBuf[] {Unpooled.buffer(64), PooledByteBufAllocator.DEFAULT.directBuffer(64)}) {
            try {
                for (int from = 0; from < 3; from++) {
                    for (int len = 0; len <= 20; len++) {
                        for (int at = 0; at < len; at++) {
                            for (int v = 0; v < 256; v++) {
                                buf.clear();
                                for (int k = 0; k < 40; k++) {
                                    buf.writeByte('a');
                                }
                                buf.setByte(from + at, v);
                                assertEquals(reference(buf, from, from + len), FastUpstreamConnection.fieldBytes(buf, from, from + len),
                                        "byte 0x" + Integer.toHexString(v) + " at " + at + " of " + len + " from " + from);
                            }
                        }
                    }
                }
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void randomMixesOfTextObsTextTabsAndControlBytes() {
        Random random = new Random(7);
        byte[] alphabet = {'a', ' ', '\t', 0x00, 0x1f, 0x20, 0x7e, 0x7f, (byte) 0x80, (byte) 0xa0, (byte) 0xff, '\r', '\n'};
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        try {
            for (int n = 0; n < 100_000; n++) {
                buf.clear();
                int len = random.nextInt(40);
                for (int k = 0; k < len; k++) {
                    // mostly harmless bytes, so whole clean words occur too
                    buf.writeByte(random.nextInt(4) == 0 ? alphabet[random.nextInt(alphabet.length)] : 'a' + random.nextInt(26));
                }
                int from = len == 0 ? 0 : random.nextInt(len);
                assertEquals(reference(buf, from, len), FastUpstreamConnection.fieldBytes(buf, from, len), "case " + n);
            }
        } finally {
            buf.release();
        }
    }
}
