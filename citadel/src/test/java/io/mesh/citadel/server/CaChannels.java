package io.mesh.citadel.server;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.mesh.citadel.client.BundleTrustManager;
import io.mesh.citadel.client.CertifiedKey;
import io.mesh.citadel.client.RotatingKeyManager;
import io.mesh.proto.ca.IstioCertificateRequest;
import io.mesh.proto.ca.IstioCertificateResponse;
import io.mesh.proto.ca.IstioCertificateServiceGrpc;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** A real grpc-java client over TLS to the CA, optionally presenting a client certificate and a bearer token. */
public final class CaChannels {

    private CaChannels() {
    }

    public static ManagedChannel open(int port, List<X509Certificate> roots, Optional<CertifiedKey> clientCert) throws Exception {
        var ssl = GrpcSslContexts.forClient().trustManager(new BundleTrustManager(() -> roots));
        if (clientCert.isPresent()) {
            ssl.keyManager(new RotatingKeyManager(() -> clientCert));
        }
        return NettyChannelBuilder.forAddress("127.0.0.1", port).sslContext(ssl.build()).build();
    }

    public static IstioCertificateResponse call(ManagedChannel channel, Optional<String> token, String csr, long ttlSeconds) {
        Metadata headers = new Metadata();
        token.ifPresent(t -> headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + t));
        return IstioCertificateServiceGrpc.newBlockingStub(channel)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(20, TimeUnit.SECONDS)
                .createCertificate(IstioCertificateRequest.newBuilder().setCsr(csr).setValidityDuration(ttlSeconds).build());
    }
}
