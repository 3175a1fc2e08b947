package io.mesh.pilot.model;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

/**
 * Where the JSON Web Key Sets of RequestAuthentications' {@code jwksUri} come from when a snapshot is built. Asking
 * must not block (it runs on the push path): an implementation answers from what it has and fetches in the
 * background, asking for a push when what it has changes.
 */
public interface JwksSource {
    /** istiod's default for a rule without {@code timeout}. */
    Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    /** No fetching at all: every jwksUri gets the rejecting JWKS. */
    JwksSource NONE = (uri, timeout) -> new Keys(null, "pilot fetches no JWKS here");

    /** The JWKS last fetched from {@code uri} (null while none has been), and why the last fetch failed (or null). */
    record Keys(String jwks, String problem) {
    }

    Keys keys(String uri, Duration timeout);

    /**
     * A JWKS that no token verifies against, for a jwksUri pilot has no keys from (istiod's fake JWKS): an RSA key
     * whose modulus is the URI's bytes, so a token of that issuer is rejected (401) rather than let through as if
     * it carried none.
     */
    static String rejecting(String uri) {
        String n = Base64.getUrlEncoder().withoutPadding()
                .encodeToString(("Error-PilotFailedToFetchJwksUri-" + uri).getBytes(StandardCharsets.UTF_8));
        return "{\"keys\":[{\"e\":\"AQAB\",\"kid\":\"abc\",\"kty\":\"RSA\",\"n\":\"" + n + "\"}]}";
    }
}
