package io.mesh.gateway.it;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.mesh.proto.ca.IstioCertificateRequest;
import io.mesh.proto.ca.IstioCertificateResponse;
import io.mesh.proto.ca.IstioCertificateServiceGrpc;
import io.mesh.testing.FreePorts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

/**
 * A real CA behind Istio's {@code IstioCertificateService} for tests, in process: an ECDSA P-256 root made with
 * BouncyCastle signs the CSRs it gets (signature checked) for the SPIFFE ID its bearer token stands for, over TLS
 * with a serving certificate from the same root. citadel is a Quarkus application (as a test dependency its beans
 * would join the gateway's own Quarkus tests) and its packaged jar is not built before the gateway, so this stands
 * in for it on the wire; the chains it returns verify with openssl. It also signs the other parties' certificates
 * (backends, pilot).
 */
final class TestCitadel implements AutoCloseable {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Context.Key<String> TOKEN = Context.key("token");

    final KeyPair rootKey = keyPair();
    final X509Certificate root;
    final int port = FreePorts.next();
    final AtomicInteger issued = new AtomicInteger();
    final AtomicInteger refused = new AtomicInteger();
    private final Map<String, String> identities;
    private final Server server;
    volatile boolean available = true;
    volatile Duration ttl = Duration.ofHours(1);

    /** @param identities bearer token → the SPIFFE ID it proves */
    TestCitadel(Map<String, String> identities) throws Exception {
        this.identities = Map.copyOf(identities);
        Instant now = Instant.now();
        X500Name name = new X500Name("O=mesh-test,CN=test root");
        var builder = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(RANDOM.nextLong() & Long.MAX_VALUE), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(2))), name, rootKey.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        builder.addExtension(Extension.subjectKeyIdentifier, false, new JcaX509ExtensionUtils().createSubjectKeyIdentifier(rootKey.getPublic()));
        root = new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(rootKey.getPrivate())));

        KeyPair serving = keyPair();
        X509Certificate servingCert = issue(serving.getPublic(), Duration.ofDays(1),
                new GeneralName(GeneralName.dNSName, "localhost"), new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
        SslContext tls = GrpcSslContexts.configure(SslContextBuilder.forServer(serving.getPrivate(), servingCert, root))
                .trustManager(root).clientAuth(ClientAuth.OPTIONAL).build();
        ServerInterceptor auth = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                String value = headers.get(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER));
                String token = value != null && value.startsWith("Bearer ") ? value.substring(7) : "";
                return Contexts.interceptCall(Context.current().withValue(TOKEN, token), call, headers, next);
            }
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).sslContext(tls)
                .addService(ServerInterceptors.intercept(new IstioCertificateServiceGrpc.IstioCertificateServiceImplBase() {
                    @Override
                    public void createCertificate(IstioCertificateRequest request, StreamObserver<IstioCertificateResponse> out) {
                        sign(request, TOKEN.get(), out);
                    }
                }, auth)).build().start();
    }

    String address() {
        return "127.0.0.1:" + port;
    }

    private void sign(IstioCertificateRequest request, String token, StreamObserver<IstioCertificateResponse> out) {
        if (!available) {
            refused.incrementAndGet();
            out.onError(Status.UNAVAILABLE.withDescription("test CA not yet available").asRuntimeException());
            return;
        }
        String spiffe = identities.get(token);
        if (spiffe == null) {
            refused.incrementAndGet();
            out.onError(Status.UNAUTHENTICATED.withDescription("unknown token").asRuntimeException());
            return;
        }
        try (PEMParser parser = new PEMParser(new StringReader(request.getCsr()))) {
            var bc = new org.bouncycastle.jce.provider.BouncyCastleProvider();
            var csr = new JcaPKCS10CertificationRequest((PKCS10CertificationRequest) parser.readObject()).setProvider(bc);
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(bc).build(csr.getSubjectPublicKeyInfo()))) {
                out.onError(Status.INVALID_ARGUMENT.withDescription("CSR signature").asRuntimeException());
                return;
            }
            X509Certificate leaf = issue(csr.getPublicKey(), ttl, new GeneralName(GeneralName.uniformResourceIdentifier, spiffe));
            issued.incrementAndGet();
            out.onNext(IstioCertificateResponse.newBuilder().addCertChain(pem(leaf)).addCertChain(pem(root)).build());
            out.onCompleted();
        } catch (Exception e) {
            out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
        }
    }

    /** A leaf for {@code key} signed by the root: server and client auth, the given SANs. */
    X509Certificate issue(PublicKey key, Duration life, GeneralName... sans) throws Exception {
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(X500Name.getInstance(root.getSubjectX500Principal().getEncoded()),
                BigInteger.valueOf(RANDOM.nextLong() & Long.MAX_VALUE),
                Date.from(now.minusSeconds(5)), Date.from(now.plus(life)), new X500Name("O=mesh-test"), key);
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
        builder.addExtension(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
        builder.addExtension(Extension.authorityKeyIdentifier, false, new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(root));
        return new JcaX509CertificateConverter().getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA")
                .build(rootKey.getPrivate())));
    }

    /** A key and the certificate the root issued for it. */
    record Issued(KeyPair keys, X509Certificate cert, X509Certificate root) {
        /** Leaf then root, PEM. */
        String chainPem() throws Exception {
            return pem(cert) + pem(root);
        }

        /** PKCS#8 PEM. */
        String keyPem() {
            return "-----BEGIN PRIVATE KEY-----\n" + java.util.Base64.getMimeEncoder(64, "\n".getBytes())
                    .encodeToString(keys.getPrivate().getEncoded()) + "\n-----END PRIVATE KEY-----\n";
        }
    }

    /** A key and a day-long certificate naming {@code spiffeId}. */
    Issued workload(String spiffeId) throws Exception {
        KeyPair keys = keyPair();
        return new Issued(keys, issue(keys.getPublic(), Duration.ofDays(1),
                new GeneralName(GeneralName.uniformResourceIdentifier, spiffeId)), root);
    }

    /**
     * A JDK TLS context ({@code protocol}, e.g. TLSv1.3) with a workload certificate naming {@code spiffeId} (its chain
     * up to the root) that trusts the mesh root: a mesh client's or server's.
     */
    javax.net.ssl.SSLContext workloadTls(String spiffeId, String protocol) throws Exception {
        Issued issued = workload(spiffeId);
        java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("workload", issued.keys().getPrivate(), new char[0],
                new java.security.cert.Certificate[] {issued.cert(), root});
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", root);
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance(protocol);
        tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return tls;
    }

    Path writeRoot(Path dir) throws Exception {
        return Files.writeString(dir.resolve("root-cert.pem"), pem(root));
    }

    static String pem(Object o) throws Exception {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(w)) {
            writer.writeObject(o);
        }
        return w.toString();
    }

    static KeyPair keyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> sans(X509Certificate c) throws Exception {
        return c.getSubjectAlternativeNames().stream().map(l -> String.valueOf(l.get(1))).toList();
    }

    @Override
    public void close() throws Exception {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
