package io.mesh.citadel.auth;

import io.mesh.citadel.ca.CaException;
import io.mesh.citadel.ca.SpiffeId;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * Decides who the caller is, from what the transport saw: a client certificate (renewal) or a bearer token.
 *
 * <p>A client certificate reaches here only after the TLS handshake verified it against the CA's trust bundle,
 * so its SPIFFE URI SAN is an identity this CA (or its previous root, during a rotation) vouched for. A bearer
 * token goes to each validator in turn, and the first that accepts it decides. Nothing here logs a credential.
 */
public final class CallerAuthenticator {

    private final List<TokenValidator> validators;
    private final String trustDomain;

    public CallerAuthenticator(List<TokenValidator> validators, String trustDomain) {
        this.validators = List.copyOf(validators);
        this.trustDomain = trustDomain;
    }

    public SpiffeId authenticate(Optional<String> bearerToken, Optional<X509Certificate> peerCertificate)
            throws CaException {
        return authenticate(bearerToken, peerCertificate, true).orElseThrow();
    }

    /**
     * Like {@link #authenticate}, but stops short of a {@link TokenValidator#blocking() blocking} validator: empty
     * means the token reached one (no earlier validator accepted it), so the caller must finish on a thread that may
     * block, with {@link #authenticate}. A client certificate, a missing token and in-memory tokens are decided here.
     */
    public Optional<SpiffeId> authenticateWithoutBlocking(Optional<String> bearerToken,
            Optional<X509Certificate> peerCertificate) throws CaException {
        return authenticate(bearerToken, peerCertificate, false);
    }

    private Optional<SpiffeId> authenticate(Optional<String> bearerToken, Optional<X509Certificate> peerCertificate,
            boolean mayBlock) throws CaException {
        if (peerCertificate.isPresent()) {
            Optional<SpiffeId> fromCert = spiffeId(peerCertificate.get());
            if (fromCert.isPresent()) {
                return fromCert;
            }
        }
        if (bearerToken.isEmpty() || bearerToken.get().isBlank()) {
            throw CaException.unauthenticated("no credentials: send 'authorization: Bearer <token>' or a client certificate");
        }
        for (TokenValidator validator : validators) {
            if (validator.blocking() && !mayBlock) {
                return Optional.empty();
            }
            Optional<SpiffeId> identity = validator.validate(bearerToken.get());
            if (identity.isPresent()) {
                return identity;
            }
        }
        throw CaException.unauthenticated("the bearer token was not accepted");
    }

    /** The one SPIFFE URI SAN in our trust domain, or empty (a cert with none, or several, proves nothing). */
    Optional<SpiffeId> spiffeId(X509Certificate certificate) {
        try {
            var names = certificate.getSubjectAlternativeNames();
            if (names == null) {
                return Optional.empty();
            }
            List<SpiffeId> ids = names.stream().filter(n -> (Integer) n.get(0) == 6)
                    .map(n -> SpiffeId.parse(n.get(1).toString())).flatMap(Optional::stream)
                    .filter(id -> id.trustDomain().equals(trustDomain)).toList();
            return ids.size() == 1 ? Optional.of(ids.get(0)) : Optional.empty();
        } catch (CertificateParsingException e) {
            return Optional.empty();
        }
    }
}
