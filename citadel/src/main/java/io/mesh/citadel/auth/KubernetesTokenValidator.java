package io.mesh.citadel.auth;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.mesh.citadel.ca.CaException;
import io.mesh.citadel.ca.SpiffeId;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Validates a Kubernetes ServiceAccount JWT with a TokenReview, as the API server itself would. The token must be
 * authenticated, bound to one of our audiences (Istio's {@code istio-ca} by default) and belong to a service
 * account; the identity is {@code spiffe://<trust-domain>/ns/<ns>/sa/<sa>}. The token is never logged.
 */
public final class KubernetesTokenValidator implements TokenValidator {

    private static final Logger LOG = Logger.getLogger(KubernetesTokenValidator.class);
    private static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

    private final KubernetesClient client;
    private final List<String> audiences;
    private final String trustDomain;

    public KubernetesTokenValidator(KubernetesClient client, List<String> audiences, String trustDomain) {
        this.client = client;
        this.audiences = List.copyOf(audiences);
        this.trustDomain = trustDomain;
    }

    /** A TokenReview is an HTTP call to the API server. */
    @Override
    public boolean blocking() {
        return true;
    }

    @Override
    public Optional<SpiffeId> validate(String token) throws CaException {
        TokenReview review = new TokenReviewBuilder().withNewSpec().withToken(token).withAudiences(audiences)
                .endSpec().build();
        TokenReviewStatus status;
        try {
            status = client.authentication().v1().tokenReviews().create(review).getStatus();
        } catch (KubernetesClientException e) {
            throw new CaException(CaException.Reason.UNAVAILABLE, "TokenReview failed: HTTP " + e.getCode());
        }
        if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
            LOG.debugf("TokenReview: not authenticated (%s)", status == null ? "no status" : status.getError());
            return Optional.empty();
        }
        // An API server that ignores audiences returns none; such a token might be meant for anyone, so refuse.
        List<String> granted = status.getAudiences() == null ? List.of() : status.getAudiences();
        if (granted.stream().noneMatch(audiences::contains)) {
            LOG.debugf("TokenReview: audiences %s do not include %s", granted, audiences);
            return Optional.empty();
        }
        String username = status.getUser() == null ? null : status.getUser().getUsername();
        if (username == null || !username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
            return Optional.empty();
        }
        String[] parts = username.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":");
        if (parts.length != 2) {
            return Optional.empty();
        }
        try {
            return Optional.of(new SpiffeId(trustDomain, parts[0], parts[1]));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
