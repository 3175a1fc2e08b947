package io.mesh.gateway.tls;

import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.internal.tcnative.Buffer;
import io.netty.internal.tcnative.SSL;
import io.netty.internal.tcnative.SSLCredential;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Base64;

/**
 * A certificate chain and key as a BoringSSL credential ({@code SSL_CREDENTIAL}), offered to one handshake besides the
 * certificate Netty sets. BoringSSL (since its credential API) picks per handshake, after the ClientHello, the first
 * credential the client can use: one whose key the client's signature algorithms can verify (TLS 1.3: the algorithm of
 * the key's curve, e.g. {@code ecdsa_secp256r1_sha256}) and, in TLS 1.2, for which the client and server share a cipher
 * suite of the key's type (an {@code ECDHE-ECDSA-*} suite for an ECDSA key). Credentials added here come before the
 * one Netty sets, which is tried last.
 *
 * <p>Built once, at the first handshake that needs it; each SSL it is added to holds its own reference
 * ({@code SSL_add1_credential}), and ours is freed when this object is unreachable. Thread-safe. Needs a
 * netty-tcnative built on BoringSSL: elsewhere {@link #addTo} throws.
 */
final class BoringSslCredential {

    private static final Cleaner CLEANER = Cleaner.create();

    private final X509Certificate[] chain;
    private final PrivateKey key;
    private volatile long credential;   // 0 until built

    BoringSslCredential(X509Certificate[] chain, PrivateKey key) {
        this.chain = chain.clone();
        this.key = key;
    }

    /** Offers this credential to the engine's handshake (from the certificate callback, before BoringSSL chooses). */
    void addTo(ReferenceCountedOpenSslEngine engine) throws Exception {
        SSL.addCredential(engine.sslPointer(), credential());
    }

    private long credential() throws Exception {
        long c = credential;
        if (c == 0) {
            synchronized (this) {
                c = credential;
                if (c == 0) {
                    c = build(chain, key);
                    long built = c;
                    CLEANER.register(this, () -> free(built));
                    credential = c;
                }
            }
        }
        return c;
    }

    private static void free(long credential) {
        try {
            SSLCredential.free(credential);
        } catch (Exception e) {
            // nothing is left to release
        }
    }

    private static long build(X509Certificate[] chain, PrivateKey key) throws Exception {
        long c = SSLCredential.newX509();
        try {
            long bio = bio(pem("PRIVATE KEY", key.getEncoded()));
            try {
                long k = SSL.parsePrivateKey(bio, null);
                try {
                    SSLCredential.setPrivateKey(c, k);
                } finally {
                    SSL.freePrivateKey(k);
                }
            } finally {
                SSL.freeBIO(bio);
            }
            StringBuilder certs = new StringBuilder();
            for (X509Certificate cert : chain) {
                certs.append(pem("CERTIFICATE", cert.getEncoded()));
            }
            bio = bio(certs.toString());
            try {
                long x509 = SSL.parseX509Chain(bio);
                try {
                    SSLCredential.setCertChain(c, x509);
                } finally {
                    SSL.freeX509Chain(x509);
                }
            } finally {
                SSL.freeBIO(bio);
            }
            return c;
        } catch (Exception | Error e) {
            free(c);
            throw e;
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    /** A memory BIO holding the text (the caller frees it). */
    private static long bio(String text) throws Exception {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
        long bio = SSL.newMemBIO();
        if (SSL.bioWrite(bio, Buffer.address(direct), bytes.length) != bytes.length) {
            SSL.freeBIO(bio);
            throw new IllegalStateException("could not write a certificate to a BoringSSL memory BIO");
        }
        java.lang.ref.Reference.reachabilityFence(direct);
        return bio;
    }
}
