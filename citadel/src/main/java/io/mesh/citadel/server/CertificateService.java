package io.mesh.citadel.server;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
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
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.jboss.logging.Logger;

/**
 * Istio's {@code CreateCertificate}. The path reads top to bottom, one step each: check the request, check the
 * CSR, authenticate the caller, match the requested identity to the proven one, issue, and return the chain leaf
 * → intermediates → root. A refusal at any step returns its status and no certificate, and its log line names
 * the reason but never a token, key or CSR.
 *
 * <p>Threads: a call arrives on the transport's event loop and, when nothing in it can block, is served there to
 * the end (the CSR check and the signature are CPU work of a hundred-odd microseconds, cheaper than two thread
 * hand-offs). Only a call whose token must go to a blocking validator, a Kubernetes TokenReview, moves to
 * {@code blockingExecutor} for the rest of its steps, so a slow API server never stalls the event loop and the
 * other calls and connections it serves.
 *
 * <p>It implements the generated {@code AsyncService} interface, not the {@code BindableService} base class, so
 * that Quarkus' gRPC extension does not discover it and start a second, plaintext gRPC server.
 */
public final class CertificateService implements IstioCertificateServiceGrpc.AsyncService {

    private static final Logger LOG = Logger.getLogger(CertificateService.class);

    private final CertificateIssuer issuer;
    private final CallerAuthenticator authenticator;
    private final CaMetrics metrics;
    private final Executor blockingExecutor;

    public CertificateService(CertificateIssuer issuer, CallerAuthenticator authenticator, CaMetrics metrics,
            Executor blockingExecutor) {
        this.issuer = issuer;
        this.authenticator = authenticator;
        this.metrics = metrics;
        this.blockingExecutor = blockingExecutor;
    }

    @Override
    public void createCertificate(IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> response) {
        metrics.csrs.increment();
        try {
            CheckedRequest csr = check(request);
            Optional<String> token = TransportCredentials.BEARER_TOKEN.get();
            Optional<X509Certificate> peer = TransportCredentials.PEER_CERTIFICATE.get();
            Optional<SpiffeId> caller = counted(() -> authenticator.authenticateWithoutBlocking(token, peer));
            if (caller.isPresent()) {
                reply(response, issue(request, csr, caller.get()));
                return;
            }
            blockingExecutor.execute(() -> {
                try {
                    reply(response, issue(request, csr, counted(() -> Optional.of(authenticator.authenticate(token, peer))).get()));
                } catch (CaException e) {
                    refuse(response, e);
                } catch (RuntimeException e) {
                    fail(response, e);
                }
            });
        } catch (CaException e) {
            refuse(response, e);
        } catch (RejectedExecutionException e) {
            response.onError(Status.UNAVAILABLE.withDescription("citadel is shutting down").asRuntimeException());
        } catch (RuntimeException e) {
            fail(response, e);
        }
    }

    /**
     * Whether the caller gave up (cancelled, or its deadline passed) while the call waited for a TokenReview; such a
     * call can no longer be answered (grpc-java refuses onNext and onError on it).
     */
    private static boolean cancelled(StreamObserver<IstioCertificateResponse> response) {
        if (response instanceof ServerCallStreamObserver<IstioCertificateResponse> call && call.isCancelled()) {
            LOG.debug("CreateCertificate: the caller cancelled the call before its answer");
            return true;
        }
        return false;
    }

    private void reply(StreamObserver<IstioCertificateResponse> response, IstioCertificateResponse issued) {
        if (cancelled(response)) {
            return;
        }
        metrics.issued.increment();
        response.onNext(issued);
        response.onCompleted();
    }

    private static void refuse(StreamObserver<IstioCertificateResponse> response, CaException e) {
        LOG.debugf("CreateCertificate refused (%s): %s", e.reason(), e.getMessage());
        if (cancelled(response)) {
            return;
        }
        response.onError(status(e).withDescription(e.getMessage()).asRuntimeException());
    }

    private static void fail(StreamObserver<IstioCertificateResponse> response, RuntimeException e) {
        LOG.errorf("CreateCertificate failed: %s", e.getClass().getName());
        if (cancelled(response)) {
            return;
        }
        response.onError(Status.INTERNAL.withDescription("internal error").asRuntimeException());
    }

    /** Steps 1 and 2: the request, then the CSR. */
    private CheckedRequest check(IstioCertificateRequest request) throws CaException {
        // 1. Check the request: a TTL, if given, must be positive (it is clamped later, not refused).
        if (request.getValidityDuration() < 0) {
            throw CaException.invalid("validity_duration must not be negative");
        }
        // 2. Check the CSR: it parses, its signature verifies, its key is strong enough.
        try {
            return CertificateRequests.check(request.getCsr());
        } catch (CaException e) {
            metrics.csrParsingErrors.increment();
            throw e;
        }
    }

    private interface Authentication {
        Optional<SpiffeId> run() throws CaException;
    }

    /** Step 3: authenticate with a verified client certificate (renewal) or a bearer token; failures are counted. */
    private Optional<SpiffeId> counted(Authentication authentication) throws CaException {
        try {
            return authentication.run();
        } catch (CaException e) {
            if (e.reason() == CaException.Reason.UNAUTHENTICATED) {
                metrics.authenticationFailures.increment();
            }
            throw e;
        }
    }

    /** Steps 4 to 6, once the caller is proven. */
    private IstioCertificateResponse issue(IstioCertificateRequest request, CheckedRequest csr, SpiffeId caller)
            throws CaException {
        // 4. The CSR asks for exactly the proven identity, or for nothing and the CA fills it in.
        boolean asksForCaller = csr.requestedNames().size() == 1 && csr.requestedNames().get(0).equals(caller.toString());
        if (!csr.requestedNames().isEmpty() && !asksForCaller) {
            throw new CaException(CaException.Reason.PERMISSION_DENIED,
                    "the CSR asks for " + csr.requestedNames() + " but the caller is " + caller);
        }
        // 5. Issue, with the TTL clamped to the policy.
        IssuedChain chain = issuer.issue(csr.publicKey(), caller, request.getValidityDuration());
        // 6. Answer with the chain, leaf first and the root last.
        // (As ASCII bytes: the same strings, without encoding each to UTF-8 on every answer.)
        IstioCertificateResponse.Builder answer = IstioCertificateResponse.newBuilder();
        for (byte[] pem : chain.pemAscii()) {
            answer.addCertChainBytes(UnsafeByteOperations.unsafeWrap(pem));
        }
        return answer.build();
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
