package io.mesh.pilot.generator;

import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.mesh.config.VirtualService;

/** A route's path changes as istiod translates them: rewrites (prefix or regex) and redirects. */
final class RoutePaths {
    /** istiod's mark, in a Gateway API route's redirect uri, for "replace the matched prefix with the rest". */
    static final String PREFIX_MARK = "%PREFIX()%";

    private RoutePaths() {
    }

    /**
     * A rewrite's path part, as istiod's: Istio's {@code uriRegexRewrite} as Envoy's {@code regex_rewrite}; a prefix
     * rewrite; for a Gateway API route a prefix rewrite to "/" drops the matched segments instead (so "/a/b" with
     * prefix "/a" becomes "/b", not "//b").
     */
    static void rewrite(RouteAction.Builder a, VirtualService.Rewrite rw, boolean gatewaySemantics,
            io.envoyproxy.envoy.config.route.v3.RouteMatch match) {
        if (rw.regexMatch() != null) {
            a.setRegexRewrite(io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute.newBuilder()
                    .setPattern(io.envoyproxy.envoy.type.matcher.v3.RegexMatcher.newBuilder().setRegex(rw.regexMatch()))
                    .setSubstitution(rw.regexRewrite()));
        } else if (rw.uri() != null && gatewaySemantics && rw.uri().equals("/") && match.hasPathSeparatedPrefix()) {
            a.setRegexRewrite(io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute.newBuilder()
                    .setPattern(io.envoyproxy.envoy.type.matcher.v3.RegexMatcher.newBuilder().setRegex(
                            "^" + quoteMeta(match.getPathSeparatedPrefix()) + "(/?)(.*)"))
                    .setSubstitution("/\\2"));
        } else if (rw.uri() != null) {
            a.setPrefixRewrite(rw.uri());
        }
    }

    /** The text as a literal in RE2 syntax (Go's regexp.QuoteMeta): each special character escaped. */
    static String quoteMeta(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            if ("\\.+*?()|[]{}^$".indexOf(c) >= 0) {
                out.append('\\');
            }
            out.append(c);
        }
        return out.toString();
    }

    static RedirectAction redirect(VirtualService.Redirect rd, boolean gatewaySemantics) {
        RedirectAction.Builder b = RedirectAction.newBuilder();
        if (rd.uri() != null && gatewaySemantics && rd.uri().startsWith(PREFIX_MARK)) {
            b.setPrefixRewrite(rd.uri().substring(PREFIX_MARK.length()));
        } else if (rd.uri() != null) {
            b.setPathRedirect(rd.uri());
        }
        if (rd.port() != null) {
            b.setPortRedirect(rd.port());
        }
        if (rd.authority() != null) {
            b.setHostRedirect(rd.authority());
        }
        if (rd.scheme() != null) {
            b.setSchemeRedirect(rd.scheme());
        }
        int code = rd.redirectCode() == null ? 301 : rd.redirectCode();
        b.setResponseCode(switch (code) {
            case 302 -> RedirectAction.RedirectResponseCode.FOUND;
            case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
            case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
            case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
            default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
        });
        return b.build();
    }
}
