package io.mesh.config;

import java.util.Base64;
import java.util.Set;

/**
 * A Gateway server's client-certificate pins, {@code verifyCertificateSpki} and {@code verifyCertificateHash}: istiod
 * accepts any strings and writes them into the listener's validation context on MUTUAL and OPTIONAL_MUTUAL servers with
 * credentialName(s) only. Envoy then rejects the whole listener unless each is a SHA-256: an SPKI pin base64 (44
 * characters), a certificate hash hex (64 digits, colons allowed between bytes). Here a malformed pin is an error on the
 * Gateway rather than a listener the proxy refuses, and a pin where istiod writes none is a warning.
 */
final class GatewayClientPins {
    private GatewayClientPins() {
    }

    private static final Set<String> PINNED_MODES = Set.of("MUTUAL", "OPTIONAL_MUTUAL");

    /** Reports the problems of the pins of tls block {@code t} in {@code mode}; {@code credential}: a credential is named. */
    static void check(SpecReader t, String mode, boolean credential, Problems p) {
        for (String f : new String[] {"verifyCertificateSpki", "verifyCertificateHash"}) {
            var v = t.raw(f);
            if (v == null || !v.isArray()) {
                continue;   // a non-list is reported where the block is read
            }
            boolean spki = f.equals("verifyCertificateSpki");
            for (int i = 0; i < v.size(); i++) {
                if (v.get(i).isValueNode() && !(spki ? spki(v.get(i).asText()) : hash(v.get(i).asText()))) {
                    p.error(t.at(f) + "[" + i + "]", "\"" + v.get(i).asText() + "\" is not a"
                            + (spki ? " base64-encoded SHA-256 of a SubjectPublicKeyInfo (44 characters)"
                                    : " hex-encoded SHA-256 of a certificate (64 hex digits, colons allowed)")
                            + ", which Envoy requires of each pin");
                }
            }
            if (v.size() > 0 && !(PINNED_MODES.contains(mode) && credential)) {
                p.warn(t.at(f), "has no effect " + (PINNED_MODES.contains(mode) ? "without credentialName(s)"
                        : "in mode " + mode) + ": client certificates are pinned on MUTUAL and OPTIONAL_MUTUAL servers"
                        + " with credentialName or credentialNames, as istiod writes them");
            }
        }
    }

    /** Envoy's rule: the base64 of 32 bytes. */
    static boolean spki(String s) {
        if (s.length() != 44) {
            return false;
        }
        try {
            return Base64.getDecoder().decode(s).length == 32;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Envoy's rule: 32 bytes in hex once colons are removed (64 to 95 characters). */
    static boolean hash(String s) {
        String hex = s.replace(":", "");
        return s.length() <= 95 && hex.length() == 64 && hex.chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }
}
