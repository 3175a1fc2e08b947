package io.mesh.citadel.server;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Lifts what the transport knows about the caller into the call's context: the bearer token from the
 * {@code authorization} header, and the client certificate that the TLS handshake verified. It decides nothing;
 * {@link CertificateService} does.
 */
final class TransportCredentials implements ServerInterceptor {

    static final Context.Key<Optional<String>> BEARER_TOKEN = Context.key("citadel-bearer-token");
    static final Context.Key<Optional<X509Certificate>> PEER_CERTIFICATE = Context.key("citadel-peer-certificate");

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String BEARER = "Bearer ";

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
            ServerCallHandler<Q, R> next) {
        String authorization = headers.get(AUTHORIZATION);
        Optional<String> token = authorization != null && authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())
                ? Optional.of(authorization.substring(BEARER.length()).strip())
                : Optional.empty();
        Context context = Context.current().withValues(BEARER_TOKEN, token,
                PEER_CERTIFICATE, peerCertificate(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)));
        return Contexts.interceptCall(context, call, headers, next);
    }

    private static Optional<X509Certificate> peerCertificate(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? Optional.of(leaf) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            // ClientAuth.OPTIONAL: no client certificate was sent.
            return Optional.empty();
        }
    }
}
