package io.mesh.gateway.jwt;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Base64;

/**
 * Keys made by the JDK and tokens signed with them, for tests: JWKS JSON as an issuer publishes it, and compact
 * JWS tokens (EC signatures in JOSE's R||S form, from the JDK's own P1363 signer, so the proxy's DER conversion is
 * checked against it).
 */
public final class TestTokens {

    /** A key pair with the JWK fields it is published under ({@code kid}/{@code alg} may be null). */
    public record Key(String kid, String alg, String crv, KeyPair pair) {

        public JsonObject jwk() {
            JsonObject j = new JsonObject();
            if (pair.getPublic() instanceof RSAPublicKey r) {
                j.put("kty", "RSA").put("n", b64(unsigned(r.getModulus()))).put("e", b64(unsigned(r.getPublicExponent())));
            } else {
                ECPublicKey e = (ECPublicKey) pair.getPublic();
                int size = (e.getParams().getCurve().getField().getFieldSize() + 7) / 8;
                j.put("kty", "EC").put("crv", crv).put("x", b64(fixed(e.getW().getAffineX(), size)))
                        .put("y", b64(fixed(e.getW().getAffineY(), size)));
            }
            if (kid != null) {
                j.put("kid", kid);
            }
            if (alg != null) {
                j.put("alg", alg);
            }
            return j;
        }

        /** The same key published under another kid or alg. */
        public Key as(String newKid, String newAlg) {
            return new Key(newKid, newAlg, crv, pair);
        }
    }

    private TestTokens() {
    }

    public static Key rsa(String kid) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return new Key(kid, null, null, g.generateKeyPair());
    }

    public static Key ec(String kid, String crv) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec(switch (crv) {
            case "P-256" -> "secp256r1";
            case "P-384" -> "secp384r1";
            default -> "secp521r1";
        }));
        return new Key(kid, null, crv, g.generateKeyPair());
    }

    public static String jwks(Key... keys) {
        JsonArray a = new JsonArray();
        for (Key k : keys) {
            a.add(k.jwk());
        }
        return new JsonObject().put("keys", a).encode();
    }

    /** A token signed by {@code key} with {@code alg}, its header naming the key's kid (if any). */
    public static String sign(Key key, String alg, JsonObject claims) throws Exception {
        JsonObject header = new JsonObject().put("alg", alg).put("typ", "JWT");
        if (key.kid() != null) {
            header.put("kid", key.kid());
        }
        return sign(key, alg, header, claims);
    }

    public static String sign(Key key, String alg, JsonObject header, JsonObject claims) throws Exception {
        String input = b64(header.encode().getBytes(StandardCharsets.UTF_8)) + "."
                + b64(claims.encode().getBytes(StandardCharsets.UTF_8));
        Signature s;
        String bits = alg.substring(2);
        if (alg.startsWith("RS")) {
            s = Signature.getInstance("SHA" + bits + "withRSA");
        } else if (alg.startsWith("PS")) {
            s = Signature.getInstance("RSASSA-PSS");
            MGF1ParameterSpec mgf = bits.equals("256") ? MGF1ParameterSpec.SHA256
                    : bits.equals("384") ? MGF1ParameterSpec.SHA384 : MGF1ParameterSpec.SHA512;
            s.setParameter(new PSSParameterSpec("SHA-" + bits, "MGF1", mgf, Integer.parseInt(bits) / 8, 1));
        } else {
            s = Signature.getInstance("SHA" + bits + "withECDSAinP1363Format");
        }
        s.initSign(key.pair().getPrivate());
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + b64(s.sign());
    }

    /** Claims with {@code iss}, {@code sub}, and an {@code exp} an hour from now. */
    public static JsonObject claims(String iss, String sub) {
        return new JsonObject().put("iss", iss).put("sub", sub).put("exp", now() + 3600);
    }

    public static long now() {
        return System.currentTimeMillis() / 1000;
    }

    public static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    public static String b64(String s) {
        return b64(s.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] unsigned(BigInteger v) {
        byte[] b = v.toByteArray();
        return b.length > 1 && b[0] == 0 ? java.util.Arrays.copyOfRange(b, 1, b.length) : b;
    }

    private static byte[] fixed(BigInteger v, int size) {
        byte[] b = unsigned(v);
        byte[] out = new byte[size];
        System.arraycopy(b, 0, out, size - b.length, b.length);
        return out;
    }
}
