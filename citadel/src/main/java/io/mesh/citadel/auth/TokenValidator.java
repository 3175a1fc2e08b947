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

    /**
     * Whether {@link #validate} may wait on something slow (a network call). Calls that need such a validator run
     * on a worker thread; all others run on the transport's event loop, so this must not be true lightly.
     */
    default boolean blocking() {
        return false;
    }
}
