import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.mesh.citadel.client.BundleTrustManager;
import io.mesh.citadel.client.CsrBuilder;
import io.mesh.proto.ca.IstioCertificateRequest;
import io.mesh.proto.ca.IstioCertificateResponse;
import io.mesh.proto.ca.IstioCertificateServiceGrpc;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The request bodies of bench/citadel.sh's h2load load: one gRPC message per file, each an IstioCertificateRequest
 * (a fresh ECDSA P-256 key's CSR, validity 86400 s) behind gRPC's 5-byte length prefix (not compressed, big-endian
 * length), which h2load POSTs as-is. Keys and CSRs are made here, before any clock starts.
 *
 * <p>Before the run it also sends every frame once through grpc-java, as a real gRPC peer would, and checks the
 * answer: a chain of at least two certificates whose leaf carries the token's SPIFFE identity and verifies against
 * the published root. So a frame h2load sends is known to be one citadel accepts, and the run itself is checked
 * by citadel's issuance counter (the script compares it with h2load's count).
 *
 * <p>Usage: java -cp <citadel classpath> CitadelFrames.java OUT_DIR COUNT PORT ROOT_PEM TOKEN EXPECTED_SPIFFE_ID
 * Writes OUT_DIR/frame-0.bin .. frame-(COUNT-1).bin; exits non-zero (and says why) if any check fails.
 */
public class CitadelFrames {

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        int count = Integer.parseInt(args[1]);
        int port = Integer.parseInt(args[2]);
        Path rootPem = Path.of(args[3]);
        String token = args[4];
        String expectedId = args[5];

        List<X509Certificate> roots = new ArrayList<>();
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        for (var c : factory.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(rootPem)))) {
            roots.add((X509Certificate) c);
        }
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port)
                .sslContext(GrpcSslContexts.forClient().trustManager(new BundleTrustManager(() -> roots)).build())
                .build();
        try {
            var stub = IstioCertificateServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
            Files.createDirectories(out);
            for (int i = 0; i < count; i++) {
                IstioCertificateRequest request = IstioCertificateRequest.newBuilder()
                        .setCsr(CsrBuilder.csr(CsrBuilder.newKeyPair(), Optional.empty())).setValidityDuration(86400).build();
                byte[] message = request.toByteArray();
                ByteBuffer frame = ByteBuffer.allocate(5 + message.length);
                frame.put((byte) 0).putInt(message.length).put(message);
                Files.write(out.resolve("frame-" + i + ".bin"), frame.array());
                // Parse back what was written, as citadel will, and issue it once.
                IstioCertificateRequest reread = IstioCertificateRequest.parseFrom(
                        ByteBuffer.wrap(Files.readAllBytes(out.resolve("frame-" + i + ".bin")), 5, message.length));
                check(stub.withDeadlineAfter(30, TimeUnit.SECONDS).createCertificate(reread), factory, roots, expectedId);
            }
        } finally {
            channel.shutdownNow();
        }
        System.out.println("frames=" + count + " checked=" + count);
    }

    private static void check(IstioCertificateResponse response, CertificateFactory factory, List<X509Certificate> roots,
            String expectedId) throws Exception {
        if (response.getCertChainCount() < 2) {
            throw new IllegalStateException("expected leaf + root, got " + response.getCertChainCount() + " certificate(s)");
        }
        X509Certificate leaf = (X509Certificate) factory.generateCertificate(
                new ByteArrayInputStream(response.getCertChain(0).getBytes(StandardCharsets.US_ASCII)));
        X509Certificate last = (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(
                response.getCertChain(response.getCertChainCount() - 1).getBytes(StandardCharsets.US_ASCII)));
        if (!roots.contains(last)) {
            throw new IllegalStateException("the chain does not end in the published root");
        }
        X509Certificate issuer = (X509Certificate) factory.generateCertificate(
                new ByteArrayInputStream(response.getCertChain(1).getBytes(StandardCharsets.US_ASCII)));
        leaf.verify(issuer.getPublicKey());
        leaf.checkValidity();
        var names = leaf.getSubjectAlternativeNames();
        if (names == null || names.stream().noneMatch(n -> (Integer) n.get(0) == 6 && expectedId.equals(n.get(1)))) {
            throw new IllegalStateException("the leaf does not name " + expectedId + ": " + names);
        }
    }
}
