package io.mesh.citadel.ca;

/**
 * The few DER operations on the issuance path, on byte arrays: writing a tag-length-value from parts that are
 * already DER (citadel-client's {@code Der}), and finding where one element of a buffer ends. BouncyCastle's ASN.1 objects do the same through an
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

    /** tag, length, then every part in order (citadel-client's writer, which the CSR builder uses too). */
    static byte[] tlv(int tag, byte[]... parts) {
        return io.mesh.citadel.client.Der.tlv(tag, parts);
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
