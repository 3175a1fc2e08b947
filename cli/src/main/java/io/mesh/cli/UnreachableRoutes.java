package io.mesh.cli;

import io.mesh.config.StringMatch;
import io.mesh.config.VirtualService;
import io.mesh.config.VirtualService.HttpRoute;
import io.mesh.config.VirtualService.Match;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * HTTP routes and matches of one VirtualService that no request can reach, because routes are tried in order and an
 * earlier one takes every request they would, as Istio's validation finds them (analyzeUnreachableHTTPRules; istioctl
 * shows them as IST0130 VirtualServiceUnreachableRule and IST0131 VirtualServiceIneffectiveMatch):
 * <ul>
 * <li>a route after a route without matches (which takes everything): IST0130;</li>
 * <li>a match equal to an earlier one but for its name: IST0131, and IST0130 for a route all of whose matches are;</li>
 * <li>a match whose uri prefix starts with an earlier match's uri prefix, all else equal: IST0131.</li>
 * </ul>
 * Istio's prefix check also lets the earlier match differ in method, authority, headers, query parameters and
 * withoutHeaders when one value is a string prefix of the other, and ignores scheme, ignoreUriCase, gateways,
 * sourceLabels and sourceNamespace; in those cases the later match can still be reached (an earlier header prefix
 * "abc" does not take "abd", which a later "ab" does), so here everything but the uri prefix must be equal: a subset
 * of what Istio reports, and never more. Pure: no state.
 */
final class UnreachableRoutes {
    private UnreachableRoutes() {
    }

    /**
     * Reports (severity, "field.path: problem") for {@code vs}'s http routes, in route order, at istioctl's levels:
     * IST0130 a warning, IST0131 an info.
     */
    static void find(VirtualService vs, BiConsumer<String, String> report) {
        List<HttpRoute> http = vs.http();
        // The matches seen so far, each with its path; a match after a catch-all is not added (it never applies).
        List<Match> earlier = new ArrayList<>();
        List<String> earlierPaths = new ArrayList<>();
        int catchAll = -1;
        for (int i = 0; i < http.size(); i++) {
            String route = "spec.http[" + i + "]";
            if (catchAll >= 0) {
                report.accept("warning", route + ": is never used: spec.http[" + catchAll + "] has no match and takes every request"
                        + " first (IST0130)");
            }
            List<Match> matches = http.get(i).match();
            if (matches.isEmpty()) {
                catchAll = catchAll >= 0 ? catchAll : i;
                continue;
            }
            if (catchAll >= 0) {
                continue;
            }
            int duplicates = 0;
            for (int j = 0; j < matches.size(); j++) {
                Match match = matches.get(j);
                String path = route + ".match[" + j + "]";
                int duplicate = indexOf(earlier, m -> sameRequests(m, match));
                if (duplicate >= 0) {
                    report.accept("info", path + ": is never used: " + earlierPaths.get(duplicate) + " matches the same requests first"
                            + " (IST0131)");
                    duplicates++;
                    continue;
                }
                int wider = indexOf(earlier, m -> widerPrefix(m, match));
                if (wider >= 0) {
                    report.accept("info", path + ": is never used: " + earlierPaths.get(wider) + " (uri prefix \""
                            + earlier.get(wider).uri().value() + "\") matches every request it does (uri prefix \""
                            + match.uri().value() + "\") first (IST0131)");
                }
                earlier.add(match);
                earlierPaths.add(path);
            }
            if (duplicates == matches.size()) {
                report.accept("warning", route + ": is never used: each of its matches is an earlier route's (IST0130)");
            }
        }
    }

    private static int indexOf(List<Match> matches, Predicate<Match> test) {
        for (int i = 0; i < matches.size(); i++) {
            if (test.test(matches.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /** Equal but for their names (Istio compares the matches' JSON without the name). */
    private static boolean sameRequests(Match a, Match b) {
        return Objects.equals(a.uri(), b.uri()) && allButUri(a).equals(allButUri(b));
    }

    /** {@code earlier}'s uri prefix is a shorter start of {@code later}'s, and all else is equal. */
    private static boolean widerPrefix(Match earlier, Match later) {
        StringMatch a = earlier.uri();
        StringMatch b = later.uri();
        return a != null && b != null && a.type() == StringMatch.Type.PREFIX && b.type() == StringMatch.Type.PREFIX
                && !a.value().isEmpty() && b.value().startsWith(a.value()) && !b.value().equals(a.value())
                && allButUri(earlier).equals(allButUri(later));
    }

    private static Match allButUri(Match m) {
        return new Match(null, null, m.scheme(), m.method(), m.authority(), m.headers(), m.withoutHeaders(),
                m.queryParams(), m.port(), m.ignoreUriCase(), m.gateways(), m.sourceLabels(), m.sourceNamespace());
    }
}
