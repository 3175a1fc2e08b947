package io.mesh.citadel.ca;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** PEM in and out, for certificates and private keys. It never logs or echoes what it reads. */
public final class Pem {

    private Pem() {
    }

    private static final java.util.Base64.Encoder MIME = java.util.Base64.getMimeEncoder(64, new byte[] {'\n'});

    /** One certificate as PEM. Encoded directly (it is on every response's path), byte-identical to openssl's. */
    public static String encode(X509Certificate certificate) {
        try {
            return encode(certificate.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("cannot encode a certificate", e);
        }
    }

    /** One certificate's DER as PEM. */
    public static String encode(byte[] certificateDer) {
        return "-----BEGIN CERTIFICATE-----\n" + MIME.encodeToString(certificateDer) + "\n-----END CERTIFICATE-----\n";
    }

    private static final byte[] BEGIN = "-----BEGIN CERTIFICATE-----\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] END = "\n-----END CERTIFICATE-----\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /** {@link #encode(byte[])} as its ASCII bytes, for answers that go on the wire as bytes anyway. */
    public static byte[] encodeAscii(byte[] certificateDer) {
        byte[] body = MIME.encode(certificateDer);
        byte[] out = new byte[BEGIN.length + body.length + END.length];
        System.arraycopy(BEGIN, 0, out, 0, BEGIN.length);
        System.arraycopy(body, 0, out, BEGIN.length, body.length);
        System.arraycopy(END, 0, out, BEGIN.length + body.length, END.length);
        return out;
    }

    public static String encode(List<X509Certificate> certificates) {
        StringBuilder out = new StringBuilder();
        certificates.forEach(c -> out.append(encode(c)));
        return out.toString();
    }

    /** A private key as PKCS#8 ("BEGIN PRIVATE KEY"), the form openssl, Netty and Envoy all read. */
    public static String encode(PrivateKey key) {
        try {
            return write(new JcaPKCS8Generator(key, null).generate());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every certificate in a PEM text, in order; an empty list if there is none. */
    public static List<X509Certificate> certificates(String pem) throws GeneralSecurityException {
        List<X509Certificate> out = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof X509CertificateHolder holder) {
                    out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(holder.getEncoded())));
                }
            }
        } catch (IOException e) {
            throw new GeneralSecurityException("unreadable PEM certificate", e);
        }
        return out;
    }

    /** The first private key in a PEM text: PKCS#8, or the older PKCS#1 RSA / SEC1 EC forms. */
    public static PrivateKey privateKey(String pem) throws GeneralSecurityException {
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            JcaPEMKeyConverter converter = new JcaPEMKeyConverter().setProvider(BouncyCastle.PROVIDER);
            for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
                if (o instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (o instanceof PEMKeyPair pair) {
                    return converter.getPrivateKey(pair.getPrivateKeyInfo());
                }
            }
        } catch (IOException e) {
            // The message of a parse error may quote key material, so it is not passed on.
            throw new GeneralSecurityException("unreadable PEM private key");
        }
        throw new GeneralSecurityException("no private key in the PEM text");
    }

    private static String write(Object o) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }
}
