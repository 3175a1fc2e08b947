package io.mesh.gateway.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.mesh.gateway.route.CorsPolicy;
import io.mesh.gateway.route.FaultPolicy;
import io.mesh.gateway.route.HashPolicy;
import io.mesh.gateway.route.HeaderMatch;
import io.mesh.gateway.route.HeaderMutation;
import io.mesh.gateway.route.MirrorPolicy;
import io.mesh.gateway.route.PathMatch;
import io.mesh.gateway.route.RequestView;
import io.mesh.gateway.route.RetryPolicy;
import io.mesh.gateway.route.Route;
import io.mesh.gateway.route.RouteAction;
import io.mesh.gateway.route.RouteTable;
import io.mesh.gateway.route.StringMatch;
import io.mesh.gateway.route.VirtualHost;
import io.mesh.gateway.route.WeightedCluster;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.jboss.logging.Logger;

/** RDS RouteConfiguration → {@link RouteTable}. Pure: the same proto always gives the same table. */
public final class RouteTranslator {

    private static final Logger LOG = Logger.getLogger(RouteTranslator.class);
    static final String FAULT_FILTER = "envoy.filters.http.fault";
    static final String CORS_FILTER = "envoy.filters.http.cors";
    private static final Set<String> RETRY_ON = Set.of("5xx", "gateway-error", "reset", "connect-failure",
            "retriable-4xx", "refused-stream", "retriable-status-codes", "unavailable", "cancelled",
            "deadline-exceeded", "internal", "resource-exhausted", "reset-before-request");
    /**
     * Conditions Envoy accepts that can never hold here, so they are accepted and have no effect, as in Envoy with
     * the same config: no rate-limit filter sets x-envoy-ratelimited, no HTTP/3 upstreams, and retriable-headers
     * without retriable_headers (a policy that names headers is rejected). Istio lets a VirtualService name them.
     */
    private static final Set<String> RETRY_ON_INERT = Set.of("envoy-ratelimited", "http3-post-connect-failure",
            "retriable-headers");

    private RouteTranslator() {
    }

    public static RouteTable translate(RouteConfiguration rc) throws ConfigRejected {
        List<VirtualHost> hosts = new ArrayList<>();
        for (io.envoyproxy.envoy.config.route.v3.VirtualHost vh : rc.getVirtualHostsList()) {
            List<Route> routes = new ArrayList<>();
            Any vhSession = vh.getTypedPerFilterConfigMap().get(StatefulSessionTranslator.FILTER);
            io.mesh.gateway.route.StatefulSession hostSession = vhSession == null ? null
                    : StatefulSessionTranslator.perRoute(vhSession, "route config " + rc.getName() + " virtual host "
                            + vh.getName());
            for (io.envoyproxy.envoy.config.route.v3.Route r : vh.getRoutesList()) {
                String where = "route config " + rc.getName() + " virtual host " + vh.getName() + " route "
                        + (r.getName().isEmpty() ? "#" + routes.size() : r.getName());
                routes.add(route(r, where, hostSession));
            }
            hosts.add(new VirtualHost(vh.getName(), List.copyOf(vh.getDomainsList()), List.copyOf(routes),
                    vh.getRequireTls() != io.envoyproxy.envoy.config.route.v3.VirtualHost.TlsRequirementType.NONE,
                    mutation(vh.getRequestHeadersToAddList(), vh.getRequestHeadersToRemoveList()),
                    mutation(vh.getResponseHeadersToAddList(), vh.getResponseHeadersToRemoveList())));
        }
        return new RouteTable(rc.getName(), hosts,
                mutation(rc.getRequestHeadersToAddList(), rc.getRequestHeadersToRemoveList()),
                mutation(rc.getResponseHeadersToAddList(), rc.getResponseHeadersToRemoveList()));
    }

    static Route route(io.envoyproxy.envoy.config.route.v3.Route r, String where) throws ConfigRejected {
        return route(r, where, null);
    }

    /** {@code hostSession}: the virtual host's stateful session config, which the route's own replaces. */
    static Route route(io.envoyproxy.envoy.config.route.v3.Route r, String where,
            io.mesh.gateway.route.StatefulSession hostSession) throws ConfigRejected {
        RouteMatch m = r.getMatch();
        boolean cs = !m.hasCaseSensitive() || m.getCaseSensitive().getValue();
        PathMatch path = switch (m.getPathSpecifierCase()) {
            case PREFIX -> new PathMatch(PathMatch.Kind.PREFIX, m.getPrefix(), null, cs);
            case PATH -> new PathMatch(PathMatch.Kind.EXACT, m.getPath(), null, cs);
            case SAFE_REGEX -> new PathMatch(PathMatch.Kind.REGEX, m.getSafeRegex().getRegex(),
                    compile(m.getSafeRegex().getRegex(), cs, where), cs);
            case PATH_SEPARATED_PREFIX -> new PathMatch(PathMatch.Kind.SEPARATED_PREFIX, m.getPathSeparatedPrefix(), null, cs);
            default -> throw new ConfigRejected(where + ": unsupported path match " + m.getPathSpecifierCase());
        };
        List<HeaderMatch> headers = new ArrayList<>();
        for (HeaderMatcher h : m.getHeadersList()) {
            // present_match: false asks for the header's absence.
            boolean absent = h.getHeaderMatchSpecifierCase() == HeaderMatcher.HeaderMatchSpecifierCase.PRESENT_MATCH
                    && !h.getPresentMatch();
            headers.add(new HeaderMatch(h.getName().toLowerCase(Locale.ROOT), headerMatch(h, where),
                    h.getInvertMatch() != absent));
        }
        List<HeaderMatch> query = new ArrayList<>();
        for (QueryParameterMatcher q : m.getQueryParametersList()) {
            StringMatch sm = switch (q.getQueryParameterMatchSpecifierCase()) {
                case STRING_MATCH -> stringMatch(q.getStringMatch(), where);
                case PRESENT_MATCH -> StringMatch.present();
                default -> StringMatch.present();
            };
            query.add(new HeaderMatch(q.getName(), sm, false));
        }
        List<Predicate<RequestView>> metadata = new ArrayList<>();
        for (var md : m.getDynamicMetadataList()) {
            metadata.add(dynamicMetadata(md, where));
        }
        RouteAction action = switch (r.getActionCase()) {
            case ROUTE -> forward(r.getRoute(), where);
            case REDIRECT -> redirect(r.getRedirect());
            case DIRECT_RESPONSE -> new RouteAction.Direct(r.getDirectResponse().getStatus(),
                    r.getDirectResponse().hasBody() ? body(r.getDirectResponse().getBody()) : "");
            default -> throw new ConfigRejected(where + ": unsupported action " + r.getActionCase());
        };
        FaultPolicy fault = null;
        Any faultAny = r.getTypedPerFilterConfigMap().get(FAULT_FILTER);
        if (faultAny != null) {
            fault = fault(faultAny, where);
        }
        Any corsAny = r.getTypedPerFilterConfigMap().get(CORS_FILTER);
        Any sessionAny = r.getTypedPerFilterConfigMap().get(StatefulSessionTranslator.FILTER);
        return new Route(r.getName(), path, List.copyOf(headers), List.copyOf(query), action, fault,
                mutation(r.getRequestHeadersToAddList(), r.getRequestHeadersToRemoveList()),
                mutation(r.getResponseHeadersToAddList(), r.getResponseHeadersToRemoveList()),
                corsAny == null ? null : cors(corsAny, where), List.copyOf(metadata),
                sessionAny == null ? hostSession : StatefulSessionTranslator.perRoute(sessionAny, where));
    }

    /**
     * A route's {@code dynamic_metadata} match, evaluated as RBAC's are. Such matches were ignored before this gateway
     * read them, so one it cannot evaluate does not reject the route configuration: it makes its route match nothing
     * (closed, as a claim that is not there), with a warning.
     */
    private static Predicate<RequestView> dynamicMetadata(io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher md,
            String where) {
        try {
            return MetadataMatchTranslator.metadata(md, where + " dynamic_metadata");
        } catch (ConfigRejected e) {
            LOG.warnf("%s; the route matches no request", e.getMessage());
            return r -> false;
        }
    }

    /** The CORS filter's per-route config; a policy the filter is not enabled for (filter_enabled 0 %) is none. */
    static CorsPolicy cors(Any any, String where) throws ConfigRejected {
        io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy c;
        try {
            c = any.unpack(io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigRejected(where + ": CORS config is not a CorsPolicy: " + any.getTypeUrl());
        }
        if (c.hasFilterEnabled() && c.getFilterEnabled().getDefaultValue().getNumerator() == 0) {
            return null;
        }
        if (c.hasShadowEnabled()) {
            throw new ConfigRejected(where + ": CORS shadow_enabled is not supported");
        }
        List<StringMatch> origins = new ArrayList<>();
        for (StringMatcher m : c.getAllowOriginStringMatchList()) {
            origins.add(stringMatch(m, where));
        }
        return new CorsPolicy(origins, c.getAllowMethods(), c.getAllowHeaders(), c.getExposeHeaders(), c.getMaxAge(),
                c.hasAllowCredentials() && c.getAllowCredentials().getValue(),
                !c.hasForwardNotMatchingPreflights() || c.getForwardNotMatchingPreflights().getValue());
    }

    private static String body(io.envoyproxy.envoy.config.core.v3.DataSource d) {
        return switch (d.getSpecifierCase()) {
            case INLINE_STRING -> d.getInlineString();
            case INLINE_BYTES -> d.getInlineBytes().toStringUtf8();
            default -> "";
        };
    }

    static FaultPolicy fault(Any any, String where) throws ConfigRejected {
        HTTPFault f;
        try {
            f = any.unpack(HTTPFault.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigRejected(where + ": fault config is not an HTTPFault: " + any.getTypeUrl());
        }
        int delayPm = f.hasDelay() ? perMillion(f.getDelay().getPercentage()) : 0;
        long delayMs = f.hasDelay() ? millis(f.getDelay().getFixedDelay()) : 0;
        int abortPm = f.hasAbort() ? perMillion(f.getAbort().getPercentage()) : 0;
        int status = f.hasAbort() ? f.getAbort().getHttpStatus() : 0;
        if (f.hasAbort() && (status < 200 || status > 599)) {
            throw new ConfigRejected(where + ": fault abort status " + status + " is outside 200-599");
        }
        return new FaultPolicy(delayPm, delayMs, abortPm, status);
    }

    static int perMillion(FractionalPercent p) {
        long scale = switch (p.getDenominator()) {
            case HUNDRED -> 10_000;
            case TEN_THOUSAND -> 100;
            default -> 1;
        };
        return (int) Math.min(1_000_000, p.getNumerator() * scale);
    }

    static long millis(Duration d) {
        return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
    }

    private static RouteAction.Forward forward(io.envoyproxy.envoy.config.route.v3.RouteAction a, String where)
            throws ConfigRejected {
        List<WeightedCluster> clusters = new ArrayList<>();
        int total = 0;
        switch (a.getClusterSpecifierCase()) {
            case CLUSTER -> {
                clusters.add(new WeightedCluster(a.getCluster(), 1, HeaderMutation.NONE, HeaderMutation.NONE));
                total = 1;
            }
            case WEIGHTED_CLUSTERS -> {
                for (var cw : a.getWeightedClusters().getClustersList()) {
                    int w = cw.getWeight().getValue();
                    if (w == 0) {
                        continue;
                    }
                    clusters.add(new WeightedCluster(cw.getName(), w,
                            mutation(cw.getRequestHeadersToAddList(), cw.getRequestHeadersToRemoveList()),
                            mutation(cw.getResponseHeadersToAddList(), cw.getResponseHeadersToRemoveList())));
                    total += w;
                }
                if (clusters.isEmpty()) {
                    throw new ConfigRejected(where + ": weighted clusters have a total weight of 0");
                }
            }
            default -> throw new ConfigRejected(where + ": unsupported cluster specifier " + a.getClusterSpecifierCase());
        }
        Pattern regexRewrite = null;
        String substitution = null;
        if (a.hasRegexRewrite()) {
            regexRewrite = compile(a.getRegexRewrite().getPattern().getRegex(), true, where);
            substitution = a.getRegexRewrite().getSubstitution().replaceAll("\\\\(\\d)", "\\$$1");
        }
        RetryPolicy retry = a.hasRetryPolicy() ? retry(a.getRetryPolicy(), where) : RetryPolicy.NONE;
        List<HashPolicy> hashes = new ArrayList<>();
        for (var hp : a.getHashPolicyList()) {
            switch (hp.getPolicySpecifierCase()) {
                case HEADER -> hashes.add(new HashPolicy(HashPolicy.Kind.HEADER, hp.getHeader().getHeaderName().toLowerCase(Locale.ROOT)));
                case COOKIE -> hashes.add(new HashPolicy(HashPolicy.Kind.COOKIE, hp.getCookie().getName(),
                        hp.getCookie().getPath(), hp.getCookie().hasTtl() ? hp.getCookie().getTtl().getSeconds() : -1));
                case CONNECTION_PROPERTIES -> hashes.add(new HashPolicy(HashPolicy.Kind.SOURCE_IP, ""));
                case QUERY_PARAMETER -> hashes.add(new HashPolicy(HashPolicy.Kind.QUERY_PARAMETER,
                        hp.getQueryParameter().getName()));
                default -> throw new ConfigRejected(where + ": unsupported hash policy " + hp.getPolicySpecifierCase());
            }
        }
        List<MirrorPolicy> mirrors = new ArrayList<>();
        for (var mp : a.getRequestMirrorPoliciesList()) {
            int pm = mp.hasRuntimeFraction() ? perMillion(mp.getRuntimeFraction().getDefaultValue()) : 1_000_000;
            mirrors.add(new MirrorPolicy(mp.getCluster(), pm));
        }
        return new RouteAction.Forward(List.copyOf(clusters), total, a.getPrefixRewrite().isEmpty() ? null : a.getPrefixRewrite(),
                regexRewrite, substitution, a.getHostRewriteLiteral().isEmpty() ? null : a.getHostRewriteLiteral(),
                a.hasTimeout() ? millis(a.getTimeout()) : 0, retry, List.copyOf(hashes), List.copyOf(mirrors),
                switch (a.getClusterNotFoundResponseCode()) {
                    case NOT_FOUND -> 404;
                    case INTERNAL_SERVER_ERROR -> 500;
                    default -> 503;
                });
    }

    private static RetryPolicy retry(io.envoyproxy.envoy.config.route.v3.RetryPolicy p, String where) throws ConfigRejected {
        Set<String> on = new HashSet<>();
        for (String s : p.getRetryOn().split(",")) {
            String t = s.trim();
            if (t.isEmpty()) {
                continue;
            }
            if (RETRY_ON_INERT.contains(t)) {
                continue;
            }
            if (!RETRY_ON.contains(t)) {
                throw new ConfigRejected(where + ": unsupported retry_on '" + t + "'");
            }
            on.add(t);
        }
        if (p.getRetriableHeadersCount() > 0 || p.getRetriableRequestHeadersCount() > 0) {
            throw new ConfigRejected(where + ": retriable_headers and retriable_request_headers are not supported");
        }
        Set<Integer> codes = new HashSet<>(p.getRetriableStatusCodesList());
        int n = p.hasNumRetries() ? p.getNumRetries().getValue() : 1;
        long base = p.hasRetryBackOff() ? millis(p.getRetryBackOff().getBaseInterval()) : 25;
        long max = p.hasRetryBackOff() && p.getRetryBackOff().hasMaxInterval()
                ? millis(p.getRetryBackOff().getMaxInterval()) : base * 10;
        return new RetryPolicy(n, Set.copyOf(on), Set.copyOf(codes), p.hasPerTryTimeout() ? millis(p.getPerTryTimeout()) : 0,
                Math.max(1, base), Math.max(base, max));
    }

    private static RouteAction.Redirect redirect(RedirectAction r) {
        String scheme = switch (r.getSchemeRewriteSpecifierCase()) {
            case HTTPS_REDIRECT -> r.getHttpsRedirect() ? "https" : null;
            case SCHEME_REDIRECT -> r.getSchemeRedirect();
            default -> null;
        };
        int status = switch (r.getResponseCode()) {
            case FOUND -> 302;
            case SEE_OTHER -> 303;
            case TEMPORARY_REDIRECT -> 307;
            case PERMANENT_REDIRECT -> 308;
            default -> 301;
        };
        String path = r.getPathRewriteSpecifierCase() == RedirectAction.PathRewriteSpecifierCase.PATH_REDIRECT
                ? r.getPathRedirect() : null;
        String prefix = r.getPathRewriteSpecifierCase() == RedirectAction.PathRewriteSpecifierCase.PREFIX_REWRITE
                ? r.getPrefixRewrite() : null;
        return new RouteAction.Redirect(scheme, r.getHostRedirect().isEmpty() ? null : r.getHostRedirect(),
                r.getPortRedirect(), path, prefix, status, r.getStripQuery());
    }

    static StringMatch headerMatch(HeaderMatcher h, String where) throws ConfigRejected {
        return switch (h.getHeaderMatchSpecifierCase()) {
            case STRING_MATCH -> stringMatch(h.getStringMatch(), where);
            case EXACT_MATCH -> StringMatch.exact(h.getExactMatch());
            case PREFIX_MATCH -> new StringMatch(StringMatch.Kind.PREFIX, h.getPrefixMatch(), null, false);
            case SUFFIX_MATCH -> new StringMatch(StringMatch.Kind.SUFFIX, h.getSuffixMatch(), null, false);
            case CONTAINS_MATCH -> new StringMatch(StringMatch.Kind.CONTAINS, h.getContainsMatch(), null, false);
            case SAFE_REGEX_MATCH -> new StringMatch(StringMatch.Kind.REGEX, h.getSafeRegexMatch().getRegex(),
                    compile(h.getSafeRegexMatch().getRegex(), true, where), false);
            case PRESENT_MATCH -> StringMatch.present();
            case HEADERMATCHSPECIFIER_NOT_SET -> StringMatch.present();
            default -> throw new ConfigRejected(where + ": unsupported header match " + h.getHeaderMatchSpecifierCase()
                    + " on " + h.getName());
        };
    }

    static StringMatch stringMatch(StringMatcher s, String where) throws ConfigRejected {
        boolean ic = s.getIgnoreCase();
        return switch (s.getMatchPatternCase()) {
            case EXACT -> new StringMatch(StringMatch.Kind.EXACT, s.getExact(), null, ic);
            case PREFIX -> new StringMatch(StringMatch.Kind.PREFIX, s.getPrefix(), null, ic);
            case SUFFIX -> new StringMatch(StringMatch.Kind.SUFFIX, s.getSuffix(), null, ic);
            case CONTAINS -> new StringMatch(StringMatch.Kind.CONTAINS, s.getContains(), null, ic);
            case SAFE_REGEX -> new StringMatch(StringMatch.Kind.REGEX, s.getSafeRegex().getRegex(),
                    compile(s.getSafeRegex().getRegex(), true, where), false);
            default -> throw new ConfigRejected(where + ": unsupported string match " + s.getMatchPatternCase());
        };
    }

    private static Pattern compile(String regex, boolean caseSensitive, String where) throws ConfigRejected {
        try {
            return Pattern.compile(regex, caseSensitive ? 0 : Pattern.CASE_INSENSITIVE);
        } catch (PatternSyntaxException e) {
            throw new ConfigRejected(where + ": invalid regex '" + regex + "': " + e.getDescription());
        }
    }

    static HeaderMutation mutation(List<HeaderValueOption> add, List<String> remove) {
        if (add.isEmpty() && remove.isEmpty()) {
            return HeaderMutation.NONE;
        }
        List<HeaderMutation.Add> adds = new ArrayList<>();
        for (HeaderValueOption o : add) {
            boolean append = o.hasAppend() ? o.getAppend().getValue()
                    : o.getAppendAction() == HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD;
            adds.add(new HeaderMutation.Add(o.getHeader().getKey().toLowerCase(Locale.ROOT), o.getHeader().getValue(), append));
        }
        return new HeaderMutation(List.copyOf(adds), remove.stream().map(s -> s.toLowerCase(Locale.ROOT)).toList());
    }
}
