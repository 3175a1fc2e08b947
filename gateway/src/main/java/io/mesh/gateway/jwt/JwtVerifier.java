package io.mesh.gateway.jwt;

import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;

/**
 * Checks a token's signature against a key set, with the JDK's {@code java.security} only: RS256/384/512 (PKCS #1
 * v1.5), PS256/384/512 (PSS, MGF1 with the same hash, salt as long as the hash, RFC 7518 §3.5) and ES256/384/512
 * (the token's R||S turned into the DER the JDK verifies). As jwt_verify_lib: a token with a {@code kid} is tried
 * with the keys of that kid and the keys without one, a key that names an {@code alg} only with tokens of that alg;
 * no such key is {@code JWKS_KID_ALG_MISMATCH}, keys that all refuse the signature {@code VERIFICATION_FAILED}.
 * HMAC and EdDSA tokens meet no key that verifies them (the key set holds none).
 */
public final class JwtVerifier {

    private JwtVerifier() {
    }

    public static JwtStatus verify(Jwt jwt, Jwks jwks) {
        if (jwks.keys().isEmpty()) {
            return JwtStatus.JWKS_NO_VALID_KEYS;
        }
        boolean matched = false;
        for (Jwks.Jwk k : jwks.keys()) {
            if (jwt.kid() != null && !jwt.kid().isEmpty() && k.kid() != null && !k.kid().isEmpty()
                    && !k.kid().equals(jwt.kid())) {
                continue;
            }
            if (k.alg() != null && !k.alg().isEmpty() && !k.alg().equals(jwt.alg())) {
                continue;
            }
            matched = true;
            if (verifies(jwt, k)) {
                return JwtStatus.OK;
            }
        }
        return matched ? JwtStatus.VERIFICATION_FAILED : JwtStatus.JWKS_KID_ALG_MISMATCH;
    }

    private static boolean verifies(Jwt jwt, Jwks.Jwk k) {
        String alg = jwt.alg();
        try {
            Signature s;
            byte[] signature = jwt.signature();
            if (k.kty().equals("RSA") && alg.startsWith("RS")) {
                s = Signature.getInstance("SHA" + alg.substring(2) + "withRSA");
            } else if (k.kty().equals("RSA") && alg.startsWith("PS")) {
                s = Signature.getInstance("RSASSA-PSS");
                String bits = alg.substring(2);
                MGF1ParameterSpec mgf = switch (bits) {
                    case "256" -> MGF1ParameterSpec.SHA256;
                    case "384" -> MGF1ParameterSpec.SHA384;
                    default -> MGF1ParameterSpec.SHA512;
                };
                s.setParameter(new PSSParameterSpec("SHA-" + bits, "MGF1", mgf, Integer.parseInt(bits) / 8, 1));
            } else if (k.kty().equals("EC") && alg.startsWith("ES") && k.crv().equals(Jwks.curveOf(alg))) {
                int size = (((ECPublicKey) k.key()).getParams().getCurve().getField().getFieldSize() + 7) / 8;
                if (signature.length != 2 * size) {
                    return false;
                }
                signature = der(signature, size);
                s = Signature.getInstance("SHA" + alg.substring(2) + "withECDSA");
            } else {
                return false;
            }
            s.initVerify(k.key());
            s.update(jwt.signedInput());
            return s.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;   // a signature the key cannot take is a signature it does not verify
        }
    }

    /** JOSE's fixed-width R||S (RFC 7518 §3.4) as the ASN.1 SEQUENCE { INTEGER r, INTEGER s } the JDK verifies. */
    static byte[] der(byte[] rs, int size) {
        byte[] r = integer(rs, 0, size);
        byte[] s = integer(rs, size, size);
        ByteArrayOutputStream out = new ByteArrayOutputStream(r.length + s.length + 8);
        out.write(0x30);
        length(out, r.length + s.length);
        out.writeBytes(r);
        out.writeBytes(s);
        return out.toByteArray();
    }

    /** One unsigned big-endian number as a DER INTEGER: leading zeros dropped, a zero added before a high bit. */
    private static byte[] integer(byte[] b, int off, int len) {
        int start = off;
        while (start < off + len - 1 && b[start] == 0) {
            start++;
        }
        int n = off + len - start;
        boolean pad = (b[start] & 0x80) != 0;
        ByteArrayOutputStream out = new ByteArrayOutputStream(n + 4);
        out.write(0x02);
        length(out, n + (pad ? 1 : 0));
        if (pad) {
            out.write(0);
        }
        out.write(b, start, n);
        return out.toByteArray();
    }

    private static void length(ByteArrayOutputStream out, int len) {
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len & 0xff);
        }
    }
}
