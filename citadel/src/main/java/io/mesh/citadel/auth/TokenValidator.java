package io.mesh.citadel.auth;

import io.mesh.citadel.ca.CaException;
import io.mesh.citadel.ca.SpiffeId;
import java.util.Optional;

/**
 * Turns a bearer token into the identity it proves. One implementation per kind of token: Kubernetes
 * ServiceAccount JWTs (TokenReview) and local bootstrap tokens.
 */
public interface TokenValidator {

    /**
     * @return the proven identity, or empty if this validator does not accept the token
     * @throws CaException UNAVAILABLE when the validator cannot decide (its backend is down)
     */
    Optional<SpiffeId> validate(String token) throws CaException;
}
