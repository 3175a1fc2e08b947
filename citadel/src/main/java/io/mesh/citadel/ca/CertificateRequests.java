package io.mesh.citadel.ca;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;

/**
 * Checks a PEM CSR before anything is signed: it must parse, its signature must verify with its own key, and the
 * key must be strong enough. Every refusal is {@link CaException.Reason#INVALID_REQUEST} and names the reason.
 * It only reports which names the CSR asks for; whether the caller may have them is the service's decision.
 */
public final class CertificateRequests {

    /** A CSR's requested names, as strings: URIs as-is, DNS names and IPs prefixed so they never equal a URI. */
    public record CheckedRequest(PublicKey publicKey, List<String> requestedNames) {
    }

    /** The curves a workload key may use; anything else is refused as weak or unusual. */
    private static final Map<ASN1ObjectIdentifier, String> ALLOWED_CURVES = Map.of(
            SECObjectIdentifiers.secp256r1, "P-256",
            SECObjectIdentifiers.secp384r1, "P-384");

    private static final int MIN_RSA_BITS = 2048;

    /** The PEM labels of a PKCS#10 request: RFC 7468's, and the older one some tools still write. */
    private static final List<String> CSR_LABELS = List.of("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST");

    /** A P-384 or RSA 4096 CSR is under 4 KB; anything far larger is not a CSR worth parsing. */
    static final int MAX_PEM_CHARS = 64 * 1024;

    private CertificateRequests() {
    }

    public static CheckedRequest check(String pem) throws CaException {
        byte[] der = decode(pem);
        PKCS10CertificationRequest csr = parse(der);
        SubjectPublicKeyInfo keyInfo = csr.getSubjectPublicKeyInfo();
        String algorithm = checkKeyStrength(keyInfo);
        // The signed bytes and the key exactly as received, when the CSR is plain DER (else BouncyCastle re-encodes).
        SignedParts signed = SignedParts.of(der);
        PublicKey key;
        try {
            // Read by the provider that verifies with it, so the key is decoded once (see Signatures).
            key = signed == null ? Signatures.publicKey(keyInfo, algorithm) : Signatures.publicKey(signed.keyInfo(), algorithm);
        } catch (GeneralSecurityException | RuntimeException e) {
            throw CaException.invalid("malformed CSR: unreadable public key");
        }
        if (key instanceof RSAPublicKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
            throw CaException.invalid("weak key: RSA " + rsa.getModulus().bitLength() + " bits, at least "
                    + MIN_RSA_BITS + " required");
        }
        boolean valid;
        try {
            String signatureAlgorithm = signed == null ? null : plainSignatureAlgorithm(csr.getSignatureAlgorithm());
            valid = signatureAlgorithm != null
                    ? Signatures.verify(signatureAlgorithm, key, der, signed.infoStart(), signed.infoLength(), csr.getSignature())
                    : csr.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider(Signatures.PROVIDER).build(key));
        } catch (GeneralSecurityException | PKCSException | org.bouncycastle.operator.OperatorCreationException
                | RuntimeException e) {
            throw CaException.invalid("bad CSR signature: it cannot be verified");
        }
        if (!valid) {
            throw CaException.invalid("bad CSR signature: it does not verify with the CSR's public key");
        }
        return new CheckedRequest(key, requestedNames(csr));
    }

    /**
     * Where the signed part (CertificationRequestInfo) and the subject's key lie in a CSR's DER: the signature is
     * checked over the bytes the requester signed, as they arrived, and the key read from its own bytes, so neither
     * is encoded again. Null if the outer structure is not plain definite-length DER.
     */
    private record SignedParts(int infoStart, int infoLength, byte[] keyInfo) {
        static SignedParts of(byte[] der) {
            try {
                int infoStart = Der.contentStart(der, 0, der.length);
                int infoEnd = Der.end(der, infoStart, der.length);
                int versionStart = Der.contentStart(der, infoStart, infoEnd);
                int subjectStart = Der.end(der, versionStart, infoEnd);
                int keyStart = Der.end(der, subjectStart, infoEnd);
                int keyEnd = Der.end(der, keyStart, infoEnd);
                if (der[0] != Der.SEQUENCE || der[infoStart] != Der.SEQUENCE || der[keyStart] != Der.SEQUENCE) {
                    return null;
                }
                return new SignedParts(infoStart, infoEnd - infoStart, Arrays.copyOfRange(der, keyStart, keyEnd));
            } catch (IllegalArgumentException e) {
                return null;
            }
        }
    }

    /**
     * The JCA name of the usual CSR signature algorithms (ECDSA and PKCS#1 RSA with SHA-2), verified directly;
     * null for anything else, which BouncyCastle's verifier handles as before.
     */
    private static String plainSignatureAlgorithm(AlgorithmIdentifier algorithm) {
        String name = PLAIN_SIGNATURES.get(algorithm.getAlgorithm());
        if (name == null) {
            return null;
        }
        var parameters = algorithm.getParameters();
        boolean ecdsa = name.endsWith("ECDSA");
        // ECDSA has no parameters; RSA's are NULL (or, from some encoders, absent).
        boolean plain = ecdsa ? parameters == null : parameters == null || DERNull.INSTANCE.equals(parameters);
        return plain ? name : null;
    }

    private static final Map<ASN1ObjectIdentifier, String> PLAIN_SIGNATURES = Map.of(
            X9ObjectIdentifiers.ecdsa_with_SHA256, "SHA256withECDSA",
            X9ObjectIdentifiers.ecdsa_with_SHA384, "SHA384withECDSA",
            X9ObjectIdentifiers.ecdsa_with_SHA512, "SHA512withECDSA",
            PKCSObjectIdentifiers.sha256WithRSAEncryption, "SHA256withRSA",
            PKCSObjectIdentifiers.sha384WithRSAEncryption, "SHA384withRSA",
            PKCSObjectIdentifiers.sha512WithRSAEncryption, "SHA512withRSA");

    private static byte[] decode(String pem) throws CaException {
        if (pem == null || pem.isBlank()) {
            throw CaException.invalid("malformed CSR: the csr field is empty");
        }
        if (pem.length() > MAX_PEM_CHARS) {
            throw CaException.invalid("malformed CSR: longer than " + MAX_PEM_CHARS + " characters");
        }
        // The PEM armour is read here (a PEMParser costs more than the rest of the parse); the DER is BouncyCastle's.
        String body = null;
        for (String label : CSR_LABELS) {
            int begin = pem.indexOf("-----BEGIN " + label + "-----");
            int end = begin < 0 ? -1 : pem.indexOf("-----END " + label + "-----", begin);
            if (end >= 0) {
                body = pem.substring(begin + label.length() + 16, end);
                break;
            }
        }
        if (body == null) {
            throw CaException.invalid("malformed CSR: no PEM CERTIFICATE REQUEST block");
        }
        try {
            return Base64.getMimeDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw CaException.invalid("malformed CSR: not valid PEM/DER");
        }
    }

    private static PKCS10CertificationRequest parse(byte[] der) throws CaException {
        try {
            return new PKCS10CertificationRequest(der);
        } catch (IOException | RuntimeException e) {
            throw CaException.invalid("malformed CSR: not valid PEM/DER");
        }
    }

    /** Refuses weak or unusual keys; returns the key's JCA algorithm name, "EC" or "RSA". */
    private static String checkKeyStrength(SubjectPublicKeyInfo keyInfo) throws CaException {
        AlgorithmIdentifier algorithm = keyInfo.getAlgorithm();
        ASN1ObjectIdentifier type = algorithm.getAlgorithm();
        if (X9ObjectIdentifiers.id_ecPublicKey.equals(type)) {
            if (!(algorithm.getParameters() instanceof ASN1ObjectIdentifier curve)
                    || !ALLOWED_CURVES.containsKey(curve)) {
                throw CaException.invalid("weak key: EC curve " + algorithm.getParameters()
                        + " is not allowed (use P-256 or P-384)");
            }
            return "EC";
        }
        if (PKCSObjectIdentifiers.rsaEncryption.equals(type)) {
            return "RSA";
        }
        throw CaException.invalid("weak key: key type " + type + " is not allowed (use ECDSA P-256/P-384 or RSA)");
    }

    private static List<String> requestedNames(PKCS10CertificationRequest csr) throws CaException {
        List<String> names = new ArrayList<>();
        try {
            var attributes = csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest);
            for (var attribute : attributes) {
                for (var value : attribute.getAttrValues()) {
                    GeneralNames sans = GeneralNames.fromExtensions(Extensions.getInstance(value),
                            Extension.subjectAlternativeName);
                    if (sans == null) {
                        continue;
                    }
                    for (GeneralName name : sans.getNames()) {
                        names.add(switch (name.getTagNo()) {
                            case GeneralName.uniformResourceIdentifier -> name.getName().toString();
                            case GeneralName.dNSName -> "dns:" + name.getName();
                            case GeneralName.iPAddress -> "ip:" + name.getName();
                            default -> "other:" + name.getTagNo();
                        });
                    }
                }
            }
        } catch (RuntimeException e) {
            throw CaException.invalid("malformed CSR: unreadable extension request");
        }
        return names;
    }
}
