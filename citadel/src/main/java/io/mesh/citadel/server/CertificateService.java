package io.mesh.citadel.server;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.mesh.citadel.auth.CallerAuthenticator;
import io.mesh.citadel.ca.CaException;
import io.mesh.citadel.ca.CertificateIssuer;
import io.mesh.citadel.ca.CertificateIssuer.IssuedChain;
import io.mesh.citadel.ca.CertificateRequests;
import io.mesh.citadel.ca.CertificateRequests.CheckedRequest;
import io.mesh.citadel.ca.SpiffeId;
import io.mesh.proto.ca.IstioCertificateRequest;
import io.mesh.proto.ca.IstioCertificateResponse;
import io.mesh.proto.ca.IstioCertificateServiceGrpc;
import org.jboss.logging.Logger;

/**
 * Istio's {@code CreateCertificate}. The path reads top to bottom, one step each: check the request, check the
 * CSR, authenticate the caller, match the requested identity to the proven one, issue, and return the chain leaf
 * → intermediates → root. A refusal at any step returns its status and no certificate, and its log line names
 * the reason but never a token, key or CSR.
 *
 * <p>It implements the generated {@code AsyncService} interface, not the {@code BindableService} base class, so
 * that Quarkus' gRPC extension does not discover it and start a second, plaintext gRPC server.
 */
public final class CertificateService implements IstioCertificateServiceGrpc.AsyncService {

    private static final Logger LOG = Logger.getLogger(CertificateService.class);

    private final CertificateIssuer issuer;
    private final CallerAuthenticator authenticator;
    private final CaMetrics metrics;

    public CertificateService(CertificateIssuer issuer, CallerAuthenticator authenticator, CaMetrics metrics) {
        this.issuer = issuer;
        this.authenticator = authenticator;
        this.metrics = metrics;
    }

    @Override
    public void createCertificate(IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> response) {
        metrics.csrs.increment();
        try {
            IstioCertificateResponse issued = create(request);
            metrics.issued.increment();
            response.onNext(issued);
            response.onCompleted();
        } catch (CaException e) {
            LOG.debugf("CreateCertificate refused (%s): %s", e.reason(), e.getMessage());
            response.onError(status(e).withDescription(e.getMessage()).asRuntimeException());
        } catch (RuntimeException e) {
            LOG.errorf("CreateCertificate failed: %s", e.getClass().getName());
            response.onError(Status.INTERNAL.withDescription("internal error").asRuntimeException());
        }
    }

    IstioCertificateResponse create(IstioCertificateRequest request) throws CaException {
        // 1. Check the request: a TTL, if given, must be positive (it is clamped later, not refused).
        if (request.getValidityDuration() < 0) {
            throw CaException.invalid("validity_duration must not be negative");
        }
        // 2. Check the CSR: it parses, its signature verifies, its key is strong enough.
        CheckedRequest csr;
        try {
            csr = CertificateRequests.check(request.getCsr());
        } catch (CaException e) {
            metrics.csrParsingErrors.increment();
            throw e;
        }
        // 3. Authenticate: a verified client certificate (renewal) or a bearer token.
        SpiffeId caller;
        try {
            caller = authenticator.authenticate(TransportCredentials.BEARER_TOKEN.get(),
                    TransportCredentials.PEER_CERTIFICATE.get());
        } catch (CaException e) {
            if (e.reason() == CaException.Reason.UNAUTHENTICATED) {
                metrics.authenticationFailures.increment();
            }
            throw e;
        }
        // 4. The CSR asks for exactly the proven identity, or for nothing and the CA fills it in.
        boolean asksForCaller = csr.requestedNames().size() == 1 && csr.requestedNames().get(0).equals(caller.toString());
        if (!csr.requestedNames().isEmpty() && !asksForCaller) {
            throw new CaException(CaException.Reason.PERMISSION_DENIED,
                    "the CSR asks for " + csr.requestedNames() + " but the caller is " + caller);
        }
        // 5. Issue, with the TTL clamped to the policy.
        IssuedChain chain = issuer.issue(csr.publicKey(), caller, request.getValidityDuration());
        // 6. Answer with the chain, leaf first and the root last.
        return IstioCertificateResponse.newBuilder().addAllCertChain(chain.pem()).build();
    }

    static Status status(CaException e) {
        return switch (e.reason()) {
            case INVALID_REQUEST -> Status.INVALID_ARGUMENT;
            case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
        };
    }
}
