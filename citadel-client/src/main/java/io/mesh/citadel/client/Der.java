package io.mesh.citadel.client;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The little DER a PKCS#10 request needs, written from byte arrays: tag-length-value around parts that are already
 * DER, object identifiers, and a few fixed values. Definite lengths only (DER has no other kind); lengths of any
 * size are written in the short form below 128 and the long form (0x81, 0x82, ...) from 128 on. The CA writes its
 * certificates with {@link #tlv} too.
 */
public final class Der {

    static final int BOOLEAN = 0x01;
    static final int INTEGER = 0x02;
    static final int BIT_STRING = 0x03;
    static final int OCTET_STRING = 0x04;
    static final int NULL = 0x05;
    static final int OBJECT_IDENTIFIER = 0x06;
    static final int SEQUENCE = 0x30;
    static final int SET = 0x31;
    /** [0] IMPLICIT, constructed (the attributes of a CertificationRequestInfo). */
    static final int CONTEXT_0_CONSTRUCTED = 0xA0;
    /** [6] IMPLICIT IA5String, primitive (a GeneralName's uniformResourceIdentifier). */
    static final int CONTEXT_6 = 0x86;

    static final byte[] TRUE = {BOOLEAN, 1, (byte) 0xFF};
    static final byte[] NULL_VALUE = {NULL, 0};

    private Der() {
    }

    /** tag, length, then every part in order. */
    public static byte[] tlv(int tag, byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        int header = 1 + lengthOfLength(length);
        byte[] out = new byte[header + length];
        out[0] = (byte) tag;
        writeLength(out, 1, length);
        int at = header;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    static byte[] sequence(byte[]... parts) {
        return tlv(SEQUENCE, parts);
    }

    /** A BIT STRING of whole bytes (no unused bits). */
    static byte[] bitString(byte[] bytes) {
        return tlv(BIT_STRING, new byte[] {0}, bytes);
    }

    /** A small non-negative INTEGER (0 to 127), which is one content byte. */
    static byte[] smallInteger(int value) {
        if (value < 0 || value > 127) {
            throw new IllegalArgumentException("not a one-byte DER INTEGER: " + value);
        }
        return new byte[] {INTEGER, 1, (byte) value};
    }

    /**
     * An IA5String's content: 7-bit ASCII only, so a name outside it is refused here rather than written as
     * bytes that mean something else.
     */
    static byte[] ia5(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) > 0x7F) {
                throw new IllegalArgumentException("not an IA5 (ASCII) string: " + text);
            }
        }
        return text.getBytes(StandardCharsets.US_ASCII);
    }

    /** An OBJECT IDENTIFIER from its dotted form, e.g. "2.5.29.17". */
    static byte[] oid(String dotted) {
        String[] arcs = dotted.split("\\.", -1);
        if (arcs.length < 2) {
            throw new IllegalArgumentException("an object identifier has at least two arcs: " + dotted);
        }
        long first = Long.parseLong(arcs[0]);
        long second = Long.parseLong(arcs[1]);
        if (first < 0 || first > 2 || second < 0 || (first < 2 && second > 39)) {
            throw new IllegalArgumentException("not an object identifier: " + dotted);
        }
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        writeArc(content, first * 40 + second);
        for (int i = 2; i < arcs.length; i++) {
            long arc = Long.parseLong(arcs[i]);
            if (arc < 0) {
                throw new IllegalArgumentException("not an object identifier: " + dotted);
            }
            writeArc(content, arc);
        }
        return tlv(OBJECT_IDENTIFIER, content.toByteArray());
    }

    /** Base-128, most significant group first, every byte but the last with its top bit set. */
    private static void writeArc(ByteArrayOutputStream out, long arc) {
        int groups = 1;
        for (long rest = arc >>> 7; rest != 0; rest >>>= 7) {
            groups++;
        }
        for (int g = groups - 1; g >= 0; g--) {
            int bits = (int) ((arc >>> (7 * g)) & 0x7F);
            out.write(g == 0 ? bits : bits | 0x80);
        }
    }

    /** How many bytes the length field of a content of {@code length} bytes takes. */
    static int lengthOfLength(int length) {
        if (length < 0x80) {
            return 1;
        }
        int bytes = 1;
        for (int rest = length >>> 8; rest != 0; rest >>>= 8) {
            bytes++;
        }
        return 1 + bytes;
    }

    private static void writeLength(byte[] out, int at, int length) {
        if (length < 0x80) {
            out[at] = (byte) length;
            return;
        }
        int bytes = lengthOfLength(length) - 1;
        out[at] = (byte) (0x80 | bytes);
        for (int i = 0; i < bytes; i++) {
            out[at + bytes - i] = (byte) (length >>> (8 * i));
        }
    }
}
