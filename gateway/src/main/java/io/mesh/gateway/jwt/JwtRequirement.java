package io.mesh.gateway.jwt;

import java.util.List;

/**
 * A rule's {@code requires}, compiled with the token locations each part reads (Envoy's verifier tree). Built once
 * per config by the translator through the factories below.
 */
public sealed interface JwtRequirement {

    /** {@code provider_name} (audiences null) or {@code provider_and_audiences}: a token of this provider is needed. */
    record Provider(JwtProvider provider, List<String> audiences, JwtExtractor extractor) implements JwtRequirement {
    }

    /** {@code allow_missing}: any provider's token must verify if present; none at all passes. */
    record AllowMissing(JwtExtractor extractor) implements JwtRequirement {
    }

    /** {@code allow_missing_or_failed}: tokens are verified (a good one is recorded), and the request passes anyway. */
    record AllowMissingOrFailed(JwtExtractor extractor) implements JwtRequirement {
    }

    /**
     * {@code requires_any}: one child passing is enough. Its {@code allow_missing} / {@code allow_missing_or_failed}
     * entries are not children but flags on how the children's failures add up (as Envoy's AnyVerifier).
     */
    record AnyOf(List<JwtRequirement> children, boolean allowMissing, boolean allowMissingOrFailed) implements JwtRequirement {
    }

    /** {@code requires_all}: every child must pass; the first failure decides. */
    record AllOf(List<JwtRequirement> children) implements JwtRequirement {
    }

    /** A rule without {@code requires}: nothing is checked. */
    record AllowAll() implements JwtRequirement {
    }

    static JwtRequirement provider(JwtProvider p, List<String> audiences) {
        return new Provider(p, audiences == null ? null : List.copyOf(audiences), new JwtExtractor(List.of(p)));
    }

    static JwtRequirement allowMissing(List<JwtProvider> all) {
        return new AllowMissing(new JwtExtractor(all));
    }

    static JwtRequirement allowMissingOrFailed(List<JwtProvider> all) {
        return new AllowMissingOrFailed(new JwtExtractor(all));
    }

    /** {@code requires_any}; with only the allow entries, the one of them is its single child, as in Envoy. */
    static JwtRequirement anyOf(List<JwtRequirement> children, boolean allowMissing, boolean allowMissingOrFailed,
            List<JwtProvider> all) {
        if (children.isEmpty() && (allowMissing || allowMissingOrFailed)) {
            children = List.of(allowMissingOrFailed ? allowMissingOrFailed(all) : allowMissing(all));
        }
        return new AnyOf(List.copyOf(children), allowMissing, allowMissingOrFailed);
    }

    static JwtRequirement allOf(List<JwtRequirement> children) {
        return new AllOf(List.copyOf(children));
    }
}
