package io.mesh.pilot.model;

import java.util.Map;

/** Where gateway certificates come from; read when a snapshot is built. Keyed by credentialName. */
public interface CredentialSource {
    CredentialSource NONE = Map::of;

    Map<String, TlsCredential> credentials();
}
