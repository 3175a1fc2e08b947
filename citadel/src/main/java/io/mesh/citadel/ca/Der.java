package io.mesh.citadel.ca;

/**
 * The few DER operations on the issuance path, on byte arrays: writing a tag-length-value from parts that are
 * already DER, and finding where one element of a buffer ends. BouncyCastle's ASN.1 objects do the same through an
 * object tree that is built, measured and written on every call; a leaf is mostly parts that never change per
 * issuer, so it is assembled from their bytes instead. Definite lengths only (DER has no other kind).
 */
final class Der {

    static final int INTEGER = 0x02;
    static final int BIT_STRING = 0x03;
    static final int SEQUENCE = 0x30;
    /** [0] EXPLICIT, constructed. */
    static final int CONTEXT_0 = 0xA0;
    /** [3] EXPLICIT, constructed. */
    static final int CONTEXT_3 = 0xA3;

    private Der() {
    }

    /** tag, length, then every part in order. */
    static byte[] tlv(int tag, byte[]... parts) {
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

    /** Concatenation of parts. */
    static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] out = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, out, at, part.length);
            at += part.length;
        }
        return out;
    }

    private static int lengthOfLength(int length) {
        if (length < 0x80) {
            return 1;
        }
        if (length <= 0xFF) {
            return 2;
        }
        if (length <= 0xFFFF) {
            return 3;
        }
        return length <= 0xFF_FFFF ? 4 : 5;
    }

    private static void writeLength(byte[] out, int at, int length) {
        int size = lengthOfLength(length);
        if (size == 1) {
            out[at] = (byte) length;
            return;
        }
        out[at] = (byte) (0x80 | (size - 1));
        for (int i = size - 1; i >= 1; i--) {
            out[at + i] = (byte) length;
            length >>>= 8;
        }
    }

    /**
     * The offset just past the element that starts at {@code at} (its tag, length and contents), checked against the
     * buffer's end. Single-byte tags only, which is every tag of a CSR's outer structure.
     *
     * @throws IllegalArgumentException on a truncated element, a long-form tag or an indefinite length
     */
    static int end(byte[] der, int at, int limit) {
        return contentStart(der, at, limit) + contentLength(der, at, limit);
    }

    /** The offset of the contents of the element at {@code at}. */
    static int contentStart(byte[] der, int at, int limit) {
        if (at + 2 > limit || (der[at] & 0x1F) == 0x1F) {
            throw new IllegalArgumentException("not a DER element");
        }
        int first = der[at + 1] & 0xFF;
        if (first < 0x80) {
            return at + 2;
        }
        int size = first & 0x7F;
        if (size == 0 || size > 4) {
            throw new IllegalArgumentException("not a DER length");
        }
        return at + 2 + size;
    }

    /** The length of the contents of the element at {@code at}, checked to fit before {@code limit}. */
    static int contentLength(byte[] der, int at, int limit) {
        int start = contentStart(der, at, limit);
        int first = der[at + 1] & 0xFF;
        long length;
        if (first < 0x80) {
            length = first;
        } else {
            if (start > limit) {
                throw new IllegalArgumentException("truncated DER length");
            }
            length = 0;
            for (int i = at + 2; i < start; i++) {
                length = (length << 8) | (der[i] & 0xFF);
            }
        }
        if (start + length > limit) {
            throw new IllegalArgumentException("truncated DER element");
        }
        return (int) length;
    }
}
