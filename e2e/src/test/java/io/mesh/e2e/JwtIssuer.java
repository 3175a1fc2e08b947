package io.mesh.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.mesh.testing.FreePorts;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An OpenID-style token issuer for the tests: an RSA key whose JWKS it serves over HTTP on 127.0.0.1 (the
 * RequestAuthentication's {@code jwksUri}, or found through its OpenID configuration), and RS256 tokens it signs. {@link #forge} signs with a key the JWKS does not
 * hold, as an attacker would.
 */
final class JwtIssuer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    final String issuer;
    private final KeyPair key;
    private final KeyPair stranger;
    private final HttpServer server;
    private final int port;

    /** {@code issuer}: the {@code iss} of its tokens; null: its own URL, {@code http://127.0.0.1:PORT/tenant}. */
    JwtIssuer(String issuer) throws IOException, GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        key = g.generateKeyPair();
        stranger = g.generateKeyPair();
        port = FreePorts.next();
        this.issuer = issuer != null ? issuer : "http://127.0.0.1:" + port + "/tenant";
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        serve("/jwks.json", jwks());
        // OpenID Connect discovery: what a RequestAuthentication rule without jwksUri is resolved through.
        serve("/tenant/.well-known/openid-configuration", JSON.writeValueAsString(Map.of("issuer", this.issuer,
                "jwks_uri", jwksUri())));
        server.start();
    }

    private void serve(String path, String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        server.createContext(path, exchange -> {
            exchange.getResponseHeaders().add("content-type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
    }

    String jwksUri() {
        return "http://127.0.0.1:" + port + "/jwks.json";
    }

    /** A token for {@code sub}, valid from a minute ago for {@code lifetimeSeconds} (negative: already expired). */
    String token(String sub, long lifetimeSeconds, Map<String, Object> claims) throws Exception {
        return sign(key, sub, lifetimeSeconds, claims);
    }

    /** The same token, signed with a key that is not in the JWKS. */
    String forge(String sub, long lifetimeSeconds, Map<String, Object> claims) throws Exception {
        return sign(stranger, sub, lifetimeSeconds, claims);
    }

    private String sign(KeyPair with, String sub, long lifetimeSeconds, Map<String, Object> claims) throws Exception {
        long now = System.currentTimeMillis() / 1000;
        Map<String, Object> payload = new LinkedHashMap<>();
        payload.put("iss", issuer);
        payload.put("sub", sub);
        payload.put("iat", now - 60);
        payload.put("exp", lifetimeSeconds < 0 ? now + lifetimeSeconds - 120 : now + lifetimeSeconds);
        payload.putAll(claims);
        String signingInput = B64.encodeToString(JSON.writeValueAsBytes(Map.of("alg", "RS256", "typ", "JWT", "kid", "k1")))
                + "." + B64.encodeToString(JSON.writeValueAsBytes(payload));
        Signature s = Signature.getInstance("SHA256withRSA");
        s.initSign(with.getPrivate());
        s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + B64.encodeToString(s.sign());
    }

    private String jwks() throws IOException {
        RSAPublicKey pub = (RSAPublicKey) key.getPublic();
        return JSON.writeValueAsString(Map.of("keys", List.of(Map.of("kty", "RSA", "kid", "k1", "alg", "RS256", "use", "sig",
                "n", unsigned(pub.getModulus()), "e", unsigned(pub.getPublicExponent())))));
    }

    /** A JWK integer: big-endian bytes without the sign byte, base64url. */
    private static String unsigned(BigInteger v) {
        byte[] b = v.toByteArray();
        if (b.length > 1 && b[0] == 0) {
            b = java.util.Arrays.copyOfRange(b, 1, b.length);
        }
        return B64.encodeToString(b);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
