package io.mesh.gateway.jwt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Token parsing, signatures and times against keys made by the JDK, with jwt_verify_lib's outcomes. */
class JwtVerifierTest {

    static TestTokens.Key rsa;
    static TestTokens.Key otherRsa;
    static TestTokens.Key p256;
    static TestTokens.Key p384;
    static TestTokens.Key p521;

    @BeforeAll
    static void keys() throws Exception {
        rsa = TestTokens.rsa("rsa-1");
        otherRsa = TestTokens.rsa("rsa-1");   // same kid, another key: a forger's
        p256 = TestTokens.ec("ec-256", "P-256");
        p384 = TestTokens.ec("ec-384", "P-384");
        p521 = TestTokens.ec("ec-521", "P-521");
    }

    static JwtStatus verify(String token, String jwks) throws Exception {
        Jwt jwt = Jwt.parse(token);
        JwtStatus t = jwt.timeStatus(TestTokens.now(), 60);
        return t != JwtStatus.OK ? t : JwtVerifier.verify(jwt, Jwks.parse(jwks));
    }

    static JwtStatus parseStatus(String token) {
        return assertThrows(Jwt.Malformed.class, () -> Jwt.parse(token)).status();
    }

    @Test
    void tokensOfEveryRsaAndEcAlgorithmVerify() throws Exception {
        String jwks = TestTokens.jwks(rsa, p256, p384, p521);
        JsonObject c = TestTokens.claims("https://issuer.example", "alice");
        for (String alg : List.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")) {
            assertEquals(JwtStatus.OK, verify(TestTokens.sign(rsa, alg, c), jwks), alg);
        }
        // Many ES signatures: R and S with and without their top bit set, and with leading zero bytes, all convert.
        for (int i = 0; i < 40; i++) {
            assertEquals(JwtStatus.OK, verify(TestTokens.sign(p256, "ES256", c.copy().put("n", i)), jwks), "ES256 #" + i);
        }
        assertEquals(JwtStatus.OK, verify(TestTokens.sign(p384, "ES384", c), jwks));
        assertEquals(JwtStatus.OK, verify(TestTokens.sign(p521, "ES512", c), jwks));
    }

    @Test
    void anExpiredTokenIsRefusedOnceBeyondTheClockSkew() throws Exception {
        String jwks = TestTokens.jwks(rsa);
        JsonObject c = TestTokens.claims("i", "s");
        assertEquals(JwtStatus.EXPIRED, verify(TestTokens.sign(rsa, "RS256", c.copy().put("exp", TestTokens.now() - 120)), jwks));
        assertEquals(JwtStatus.OK, verify(TestTokens.sign(rsa, "RS256", c.copy().put("exp", TestTokens.now() - 30)), jwks),
                "within the 60 s skew");
        assertEquals("Jwt is expired", JwtStatus.EXPIRED.text());
    }

    @Test
    void aTokenNotValidBeforeALaterTimeIsRefused() throws Exception {
        String jwks = TestTokens.jwks(rsa);
        JsonObject c = TestTokens.claims("i", "s");
        assertEquals(JwtStatus.NOT_YET_VALID, verify(TestTokens.sign(rsa, "RS256", c.copy().put("nbf", TestTokens.now() + 300)), jwks));
        assertEquals(JwtStatus.OK, verify(TestTokens.sign(rsa, "RS256", c.copy().put("nbf", TestTokens.now() + 30)), jwks));
        Jwt jwt = Jwt.parse(TestTokens.sign(rsa, "RS256", c.copy().put("nbf", 1000)));
        assertEquals(JwtStatus.NOT_YET_VALID, jwt.timeStatus(900, 60), "the clock and skew are the caller's");
    }

    @Test
    void aSignatureFromAnotherKeyOrOverChangedClaimsFails() throws Exception {
        String jwks = TestTokens.jwks(rsa);
        JsonObject c = TestTokens.claims("i", "s");
        assertEquals(JwtStatus.VERIFICATION_FAILED, verify(TestTokens.sign(otherRsa, "RS256", c), jwks));
        String good = TestTokens.sign(rsa, "RS256", c);
        String[] parts = good.split("\\.");
        String tampered = parts[0] + "." + TestTokens.b64(c.copy().put("sub", "root").encode()) + "." + parts[2];
        assertEquals(JwtStatus.VERIFICATION_FAILED, verify(tampered, jwks));
        String ecGood = TestTokens.sign(p256, "ES256", c);
        String truncated = ecGood.substring(0, ecGood.lastIndexOf('.') + 1) + TestTokens.b64(new byte[63]);
        assertEquals(JwtStatus.VERIFICATION_FAILED, verify(truncated, TestTokens.jwks(p256)), "an R||S of the wrong length");
    }

    @Test
    void aKidTheKeySetDoesNotHaveMatchesNoKey() throws Exception {
        String jwks = TestTokens.jwks(rsa);
        String t = TestTokens.sign(rsa.as("rotated", null), "RS256", TestTokens.claims("i", "s"));
        assertEquals(JwtStatus.JWKS_KID_ALG_MISMATCH, verify(t, jwks));
        assertEquals("Jwks doesn't have key to match kid or alg from Jwt", JwtStatus.JWKS_KID_ALG_MISMATCH.text());
        // A key that names its alg is only tried with tokens of that alg.
        assertEquals(JwtStatus.JWKS_KID_ALG_MISMATCH,
                verify(TestTokens.sign(rsa, "RS384", TestTokens.claims("i", "s")), TestTokens.jwks(rsa.as("rsa-1", "RS256"))));
    }

    @Test
    void theKeySetsKeysAreTriedByKidOrAllInTurn() throws Exception {
        TestTokens.Key second = TestTokens.rsa("rsa-2");
        String jwks = TestTokens.jwks(rsa, p256, second);
        JsonObject c = TestTokens.claims("i", "s");
        assertEquals(JwtStatus.OK, verify(TestTokens.sign(second, "RS256", c), jwks), "by kid");
        assertEquals(JwtStatus.OK, verify(TestTokens.sign(second.as(null, null), "RS256", c), jwks), "no kid: every key in turn");
        assertEquals(JwtStatus.OK, verify(TestTokens.sign(p256.as(null, null), "ES256", c), jwks));
        assertEquals(JwtStatus.OK, verify(TestTokens.sign(second, "RS256", c), TestTokens.jwks(rsa.as(null, null), second.as(null, null))),
                "keys without a kid take any token's");
    }

    @Test
    void algNoneAndHmacTokensAreRefused() throws Exception {
        JsonObject c = TestTokens.claims("i", "s");
        String none = TestTokens.b64(new JsonObject().put("alg", "none").encode()) + "." + TestTokens.b64(c.encode()) + ".";
        assertEquals(JwtStatus.HEADER_ALG_NOT_IMPLEMENTED, parseStatus(none));
        // HS256 "signed" with the RSA key's public modulus as the secret: the key confusion attack. No key verifies it.
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(rsa.pair().getPublic().getEncoded(), "HmacSHA256"));
        String input = TestTokens.b64(new JsonObject().put("alg", "HS256").put("kid", "rsa-1").encode()) + "." + TestTokens.b64(c.encode());
        String hs = input + "." + TestTokens.b64(mac.doFinal(input.getBytes()));
        assertEquals(JwtStatus.VERIFICATION_FAILED, verify(hs, TestTokens.jwks(rsa)));
        assertEquals(JwtStatus.JWKS_KID_ALG_MISMATCH, verify(hs, TestTokens.jwks(rsa.as("rsa-1", "RS256"))));
        String octJwks = new JsonObject().put("keys", new JsonArray().add(new JsonObject().put("kty", "oct").put("k",
                TestTokens.b64(rsa.pair().getPublic().getEncoded())))).encode();
        assertEquals(JwtStatus.JWKS_NO_VALID_KEYS, verify(hs, octJwks), "HMAC keys are not taken");
    }

    @Test
    void malformedTokensAreRefusedWithEnvoysReasons() throws Exception {
        String h = TestTokens.b64(new JsonObject().put("alg", "RS256").encode());
        String p = TestTokens.b64(TestTokens.claims("i", "s").encode());
        assertEquals(JwtStatus.BAD_FORMAT, parseStatus("abc"));
        assertEquals(JwtStatus.BAD_FORMAT, parseStatus(h + "." + p));
        assertEquals(JwtStatus.BAD_FORMAT, parseStatus(h + "." + p + ".sig.extra"));
        assertEquals(JwtStatus.HEADER_BAD_BASE64, parseStatus("!!!." + p + ".c2ln"));
        assertEquals(JwtStatus.HEADER_BAD_JSON, parseStatus(TestTokens.b64("not json") + "." + p + ".c2ln"));
        assertEquals(JwtStatus.HEADER_BAD_ALG, parseStatus(TestTokens.b64("{\"typ\":\"JWT\"}") + "." + p + ".c2ln"));
        assertEquals(JwtStatus.HEADER_BAD_KID, parseStatus(TestTokens.b64("{\"alg\":\"RS256\",\"kid\":7}") + "." + p + ".c2ln"));
        assertEquals(JwtStatus.PAYLOAD_BAD_BASE64, parseStatus(h + ".%%%.c2ln"));
        assertEquals(JwtStatus.PAYLOAD_BAD_JSON, parseStatus(h + "." + TestTokens.b64("[1,2]") + ".c2ln"));
        assertEquals(JwtStatus.PAYLOAD_EXP_NOT_INTEGER, parseStatus(h + "." + TestTokens.b64("{\"exp\":\"soon\"}") + ".c2ln"));
        assertEquals(JwtStatus.PAYLOAD_NBF_NOT_POSITIVE, parseStatus(h + "." + TestTokens.b64("{\"nbf\":-5}") + ".c2ln"));
        assertEquals(JwtStatus.PAYLOAD_AUD_NOT_STRING, parseStatus(h + "." + TestTokens.b64("{\"aud\":[\"a\",3]}") + ".c2ln"));
        assertEquals(JwtStatus.PAYLOAD_ISS_NOT_STRING, parseStatus(h + "." + TestTokens.b64("{\"iss\":1}") + ".c2ln"));
        assertEquals(JwtStatus.SIGNATURE_BAD_BASE64, parseStatus(h + "." + p + ".a+b/"));
    }

    @Test
    void aKeySetThatIsNotOneIsRefusedWithItsReason() throws Exception {
        assertEquals("Jwks is an invalid JSON", assertThrows(Jwks.InvalidJwks.class, () -> Jwks.parse("{nope")).getMessage());
        assertEquals("Jwks does not have [keys] field", assertThrows(Jwks.InvalidJwks.class, () -> Jwks.parse("{}")).getMessage());
        assertEquals("[keys] in Jwks is not an array",
                assertThrows(Jwks.InvalidJwks.class, () -> Jwks.parse("{\"keys\":{}}")).getMessage());
        JsonObject noN = rsa.jwk();
        noN.remove("n");
        assertEquals("[n] field is missing for a RSA key (key 0)", assertThrows(Jwks.InvalidJwks.class,
                () -> Jwks.parse(new JsonObject().put("keys", new JsonArray().add(noN)).encode())).getMessage());
        JsonObject mismatched = p256.jwk().put("alg", "ES384");
        assertThrows(Jwks.InvalidJwks.class, () -> Jwks.parse(new JsonObject().put("keys", new JsonArray().add(mismatched)).encode()));
        Jwks mixed = Jwks.parse(new JsonObject().put("keys", new JsonArray().add(new JsonObject().put("kty", "oct").put("k", "c2VjcmV0"))
                .add(rsa.jwk()).add(p384.jwk())).encode());
        assertEquals(List.of("RSA", "EC"), mixed.keys().stream().map(Jwks.Jwk::kty).toList(), "oct keys are left out");
        assertEquals("P-384", mixed.keys().get(1).crv());
    }
}
