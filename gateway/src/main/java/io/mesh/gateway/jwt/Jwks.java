package io.mesh.gateway.jwt;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A JSON Web Key Set (RFC 7517) as a provider's {@code local_jwks} gives it: the RSA and EC (P-256, P-384, P-521)
 * public keys, each with its optional {@code kid} and {@code alg}. Built with the JDK's key factories only.
 * Keys of a type this proxy does not verify with ({@code oct}, {@code OKP}) are left out, so a token that needs one
 * fails as it would against a set without it; a key of a supported type that is malformed rejects the whole set.
 */
public record Jwks(List<Jwk> keys) {

    /** One public key. {@code kid}, {@code alg} and {@code crv} are null when the JWK does not name them. */
    public record Jwk(String kty, String kid, String alg, String crv, PublicKey key) {
    }

    /** Why a JWKS cannot be used: the message names what is wrong, in jwt_verify_lib's words where it has some. */
    public static final class InvalidJwks extends Exception {
        InvalidJwks(String message) {
            super(message, null, false, false);
        }
    }

    public Jwks {
        keys = List.copyOf(keys);
    }

    public static Jwks parse(String json) throws InvalidJwks {
        JsonObject o;
        try {
            o = new JsonObject(json);
        } catch (DecodeException | ClassCastException e) {
            throw new InvalidJwks("Jwks is an invalid JSON");
        }
        if (!o.containsKey("keys")) {
            throw new InvalidJwks("Jwks does not have [keys] field");
        }
        if (!(o.getValue("keys") instanceof JsonArray array)) {
            throw new InvalidJwks("[keys] in Jwks is not an array");
        }
        List<Jwk> keys = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            if (!(array.getValue(i) instanceof JsonObject k)) {
                throw new InvalidJwks("key " + i + " of [keys] is not an object");
            }
            Jwk jwk = jwk(k, i);
            if (jwk != null) {
                keys.add(jwk);
            }
        }
        return new Jwks(keys);
    }

    private static Jwk jwk(JsonObject k, int i) throws InvalidJwks {
        Object kty = k.getValue("kty");
        if (kty == null) {
            throw new InvalidJwks("[kty] is missing in [keys] (key " + i + ")");
        }
        if (!(kty instanceof String type)) {
            throw new InvalidJwks("[kty] is bad in [keys] (key " + i + ")");
        }
        String kid = optionalString(k, "kid", i);
        String alg = optionalString(k, "alg", i);
        return switch (type) {
            case "RSA" -> rsa(k, kid, alg, i);
            case "EC" -> ec(k, kid, alg, i);
            default -> null;   // oct (HMAC) and OKP (EdDSA) keys are not verified with here
        };
    }

    private static Jwk rsa(JsonObject k, String kid, String alg, int i) throws InvalidJwks {
        if (alg != null && !alg.startsWith("RS") && !alg.startsWith("PS")) {
            throw new InvalidJwks("[alg] is not started with [RS] or [PS] for an RSA key (key " + i + ")");
        }
        byte[] n = component(k, "n", "a RSA key", i);
        byte[] e = component(k, "e", "a RSA key", i);
        try {
            PublicKey key = KeyFactory.getInstance("RSA").generatePublic(
                    new RSAPublicKeySpec(new BigInteger(1, n), new BigInteger(1, e)));
            return new Jwk("RSA", kid, alg, null, key);
        } catch (GeneralSecurityException ex) {
            throw new InvalidJwks("Jwks RSA [n] or [e] field is missing or has a parse error (key " + i + ")");
        }
    }

    private static Jwk ec(JsonObject k, String kid, String alg, int i) throws InvalidJwks {
        if (alg != null && !alg.startsWith("ES")) {
            throw new InvalidJwks("[alg] is not started with [ES] for an EC key (key " + i + ")");
        }
        Object c = k.getValue("crv");
        if (c != null && !(c instanceof String)) {
            throw new InvalidJwks("[crv] field is not string for an EC key (key " + i + ")");
        }
        String crv = (String) c;
        if (crv == null) {
            crv = alg == null ? "P-256" : curveOf(alg);
        }
        String curve = switch (crv) {
            case "P-256" -> "secp256r1";
            case "P-384" -> "secp384r1";
            case "P-521" -> "secp521r1";
            default -> null;
        };
        if (curve == null || (alg != null && curveOf(alg) == null)) {
            throw new InvalidJwks("[crv] or [alg] field is not supported for an EC key (key " + i + ")");
        }
        if (alg != null && !crv.equals(curveOf(alg))) {
            throw new InvalidJwks("[crv] field specified is not compatible with [alg] for an EC key (key " + i + ")");
        }
        byte[] x = component(k, "x", "an EC key", i);
        byte[] y = component(k, "y", "an EC key", i);
        try {
            AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
            params.init(new ECGenParameterSpec(curve));
            ECParameterSpec spec = params.getParameterSpec(ECParameterSpec.class);
            int size = (spec.getCurve().getField().getFieldSize() + 7) / 8;
            if (x.length != size || y.length != size) {
                throw new InvalidJwks("Jwks EC [x] and [y] fields have a parse error. (key " + i + ": " + crv
                        + " coordinates are " + size + " bytes)");
            }
            PublicKey key = KeyFactory.getInstance("EC").generatePublic(
                    new ECPublicKeySpec(new ECPoint(new BigInteger(1, x), new BigInteger(1, y)), spec));
            return new Jwk("EC", kid, alg, crv, key);
        } catch (GeneralSecurityException ex) {
            throw new InvalidJwks("Jwks EC [x] and [y] fields have a parse error. (key " + i + ")");
        }
    }

    /** The curve an ES algorithm signs on, or null. */
    static String curveOf(String alg) {
        return switch (alg) {
            case "ES256" -> "P-256";
            case "ES384" -> "P-384";
            case "ES512" -> "P-521";
            default -> null;
        };
    }

    private static String optionalString(JsonObject k, String field, int i) throws InvalidJwks {
        Object v = k.getValue(field);
        if (v != null && !(v instanceof String)) {
            throw new InvalidJwks("[" + field + "] field is not a string (key " + i + ")");
        }
        return (String) v;
    }

    private static byte[] component(JsonObject k, String field, String what, int i) throws InvalidJwks {
        Object v = k.getValue(field);
        if (v == null) {
            throw new InvalidJwks("[" + field + "] field is missing for " + what + " (key " + i + ")");
        }
        if (!(v instanceof String s)) {
            throw new InvalidJwks("[" + field + "] field is not string for " + what + " (key " + i + ")");
        }
        try {
            byte[] b = Base64.getUrlDecoder().decode(s);
            if (b.length == 0) {
                throw new IllegalArgumentException("empty");
            }
            return b;
        } catch (IllegalArgumentException e) {
            throw new InvalidJwks("[" + field + "] field is not Base64url for " + what + " (key " + i + ")");
        }
    }
}
