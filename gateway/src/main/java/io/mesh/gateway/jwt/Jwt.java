package io.mesh.gateway.jwt;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * A JWS compact token, parsed and checked for shape as jwt_verify_lib does before any key is used: three base64url
 * sections, a JSON header with a known {@code alg}, a JSON payload whose registered claims have their types. The
 * signature is not checked here ({@link JwtVerifier}), nor are the times ({@link #timeStatus}).
 *
 * @param signedInput the bytes the signature covers: {@code header.payload} as sent
 * @param payloadBase64 the payload section as sent (what {@code forward_payload_header} forwards)
 * @param exp 0 when absent; {@code nbf} likewise
 */
public record Jwt(JsonObject header, JsonObject payload, String alg, String kid, String iss, String sub,
        List<String> audiences, long exp, long nbf, byte[] signedInput, byte[] signature, String payloadBase64) {

    /** The algorithms jwt_verify_lib knows; others (and {@code none}) are refused before a key is looked at. */
    static final Set<String> KNOWN_ALGS = Set.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
            "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA");

    /** A token that is not a well-formed JWT; {@link #status} says how. */
    public static final class Malformed extends Exception {
        private final JwtStatus status;

        Malformed(JwtStatus status) {
            super(status.text(), null, false, false);
            this.status = status;
        }

        public JwtStatus status() {
            return status;
        }
    }

    public static Jwt parse(String token) throws Malformed {
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            throw new Malformed(JwtStatus.BAD_FORMAT);
        }
        JsonObject header = json(parts[0], JwtStatus.HEADER_BAD_BASE64, JwtStatus.HEADER_BAD_JSON);
        if (!(header.getValue("alg") instanceof String alg)) {
            throw new Malformed(JwtStatus.HEADER_BAD_ALG);
        }
        if (!KNOWN_ALGS.contains(alg)) {
            throw new Malformed(JwtStatus.HEADER_ALG_NOT_IMPLEMENTED);
        }
        String kid = string(header, "kid", JwtStatus.HEADER_BAD_KID);
        JsonObject payload = json(parts[1], JwtStatus.PAYLOAD_BAD_BASE64, JwtStatus.PAYLOAD_BAD_JSON);
        String iss = string(payload, "iss", JwtStatus.PAYLOAD_ISS_NOT_STRING);
        String sub = string(payload, "sub", JwtStatus.PAYLOAD_SUB_NOT_STRING);
        seconds(payload, "iat", JwtStatus.PAYLOAD_IAT_NOT_INTEGER, JwtStatus.PAYLOAD_IAT_NOT_POSITIVE);
        long nbf = seconds(payload, "nbf", JwtStatus.PAYLOAD_NBF_NOT_INTEGER, JwtStatus.PAYLOAD_NBF_NOT_POSITIVE);
        long exp = seconds(payload, "exp", JwtStatus.PAYLOAD_EXP_NOT_INTEGER, JwtStatus.PAYLOAD_EXP_NOT_POSITIVE);
        string(payload, "jti", JwtStatus.PAYLOAD_JTI_NOT_STRING);
        List<String> aud = audiences(payload.getValue("aud"));
        byte[] signature;
        try {
            signature = Base64.getUrlDecoder().decode(parts[2]);
        } catch (IllegalArgumentException e) {
            throw new Malformed(JwtStatus.SIGNATURE_BAD_BASE64);
        }
        byte[] input = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
        return new Jwt(header, payload, alg, kid, iss, sub, aud, exp, nbf, input, signature, parts[1]);
    }

    /** {@code nbf} and {@code exp} against the time, each with the allowed skew (jwt_verify_lib's order: nbf first). */
    public JwtStatus timeStatus(long nowSeconds, long skewSeconds) {
        if (nbf != 0 && nowSeconds + skewSeconds < nbf) {
            return JwtStatus.NOT_YET_VALID;
        }
        if (exp != 0 && nowSeconds > exp + skewSeconds) {
            return JwtStatus.EXPIRED;
        }
        return JwtStatus.OK;
    }

    private static JsonObject json(String section, JwtStatus badBase64, JwtStatus badJson) throws Malformed {
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(section);
        } catch (IllegalArgumentException e) {
            throw new Malformed(badBase64);
        }
        try {
            return new JsonObject(new String(bytes, StandardCharsets.UTF_8));
        } catch (DecodeException | ClassCastException e) {
            throw new Malformed(badJson);
        }
    }

    private static String string(JsonObject o, String field, JwtStatus notString) throws Malformed {
        Object v = o.getValue(field);
        if (v != null && !(v instanceof String)) {
            throw new Malformed(notString);
        }
        return (String) v;
    }

    private static long seconds(JsonObject o, String field, JwtStatus notInteger, JwtStatus notPositive) throws Malformed {
        Object v = o.getValue(field);
        if (v == null) {
            return 0;
        }
        if (!(v instanceof Number n)) {
            throw new Malformed(notInteger);
        }
        if (n.doubleValue() < 0) {
            throw new Malformed(notPositive);
        }
        return n.longValue();
    }

    private static List<String> audiences(Object aud) throws Malformed {
        if (aud == null) {
            return List.of();
        }
        if (aud instanceof String s) {
            return List.of(s);
        }
        if (aud instanceof JsonArray a) {
            List<String> out = new ArrayList<>(a.size());
            for (Object o : a) {
                if (!(o instanceof String s)) {
                    throw new Malformed(JwtStatus.PAYLOAD_AUD_NOT_STRING);
                }
                out.add(s);
            }
            return List.copyOf(out);
        }
        throw new Malformed(JwtStatus.PAYLOAD_AUD_NOT_STRING);
    }
}
