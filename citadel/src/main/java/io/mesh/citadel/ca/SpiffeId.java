package io.mesh.citadel.ca;

import java.net.URI;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A workload identity, {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}: the only kind of
 * name this CA ever signs.
 */
public record SpiffeId(String trustDomain, String namespace, String serviceAccount) {

    /** DNS-1123 labels (namespaces, service accounts) and trust domains; nothing that could smuggle a path. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

    public SpiffeId {
        for (String part : new String[] {trustDomain, namespace, serviceAccount}) {
            if (part == null || !NAME.matcher(part).matches()) {
                throw new IllegalArgumentException("not a valid SPIFFE ID component: '" + part + "'");
            }
        }
    }

    /** Parses a SPIFFE URI of this mesh's shape, or returns empty if it is anything else. */
    public static Optional<SpiffeId> parse(String uri) {
        if (uri == null || !uri.startsWith("spiffe://")) {
            return Optional.empty();
        }
        String[] parts = uri.substring("spiffe://".length()).split("/", -1);
        if (parts.length != 5 || !"ns".equals(parts[1]) || !"sa".equals(parts[3])) {
            return Optional.empty();
        }
        try {
            return Optional.of(new SpiffeId(parts[0], parts[2], parts[4]));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    public URI toUri() {
        return URI.create(toString());
    }

    @Override
    public String toString() {
        return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    }
}
