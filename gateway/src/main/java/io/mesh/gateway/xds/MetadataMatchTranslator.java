package io.mesh.gateway.xds;

import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.mesh.gateway.route.RequestView;
import io.mesh.gateway.route.StringMatch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Envoy's MetadataMatcher (RBAC principals and permissions of type {@code metadata}) → a predicate on the request's
 * dynamic metadata: the filter's namespace, a path of struct keys, a value matcher, and {@code invert}. A value that
 * is not there (no such namespace or key, or a path through something that is not a struct) matches nothing but an
 * inverted matcher, as in Envoy. This is how AuthorizationPolicy's {@code requestPrincipals} and
 * {@code request.auth.*} conditions reach the {@code istio_authn} metadata, and how a route's {@code dynamic_metadata}
 * matches (a VirtualService's {@code @request.auth.claims.*} headers) do.
 */
final class MetadataMatchTranslator {

    /** Marks "no value at this path", told apart from a JSON null. */
    private static final Object ABSENT = new Object();

    private MetadataMatchTranslator() {
    }

    static <R extends RequestView> Predicate<R> metadata(MetadataMatcher m, String where) throws ConfigRejected {
        if (m.getFilter().isEmpty()) {
            throw new ConfigRejected(where + ": metadata matcher without a filter");
        }
        List<String> path = new ArrayList<>();
        for (var seg : m.getPathList()) {
            if (seg.getSegmentCase() != MetadataMatcher.PathSegment.SegmentCase.KEY) {
                throw new ConfigRejected(where + ": metadata matcher path segment " + seg.getSegmentCase() + " is not supported");
            }
            path.add(seg.getKey());
        }
        if (path.isEmpty()) {
            throw new ConfigRejected(where + ": metadata matcher needs a path");
        }
        if (!m.hasValue()) {
            throw new ConfigRejected(where + ": metadata matcher needs a value matcher");
        }
        String filter = m.getFilter();
        List<String> keys = List.copyOf(path);
        Predicate<Object> value = value(m.getValue(), where);
        boolean invert = m.getInvert();
        return r -> value.test(lookup(r.dynamicMetadata(filter), keys)) != invert;
    }

    private static Object lookup(Map<String, Object> ns, List<String> keys) {
        Object v = ns;
        for (String k : keys) {
            if (!(v instanceof Map<?, ?> m) || !m.containsKey(k)) {
                return ABSENT;
            }
            v = m.get(k);
        }
        return v;
    }

    private static Predicate<Object> value(ValueMatcher v, String where) throws ConfigRejected {
        return switch (v.getMatchPatternCase()) {
            case NULL_MATCH -> x -> x == null;
            case BOOL_MATCH -> {
                boolean want = v.getBoolMatch();
                yield x -> x instanceof Boolean b && b == want;
            }
            case PRESENT_MATCH -> {
                boolean want = v.getPresentMatch();
                yield x -> want && x != ABSENT;
            }
            case STRING_MATCH -> {
                StringMatch s = RouteTranslator.stringMatch(v.getStringMatch(), where);
                yield x -> x instanceof String str && s.matches(str);
            }
            case DOUBLE_MATCH -> {
                var d = v.getDoubleMatch();
                yield switch (d.getMatchPatternCase()) {
                    case EXACT -> x -> x instanceof Double n && n == d.getExact();
                    case RANGE -> x -> x instanceof Double n && n >= d.getRange().getStart() && n < d.getRange().getEnd();
                    default -> throw new ConfigRejected(where + ": double matcher without exact or range");
                };
            }
            case LIST_MATCH -> {
                if (!v.getListMatch().hasOneOf()) {
                    throw new ConfigRejected(where + ": list matcher without one_of");
                }
                Predicate<Object> element = value(v.getListMatch().getOneOf(), where);
                yield x -> {
                    if (x instanceof List<?> l) {
                        for (Object e : l) {
                            if (element.test(e)) {
                                return true;
                            }
                        }
                    }
                    return false;
                };
            }
            case OR_MATCH -> {
                List<Predicate<Object>> any = new ArrayList<>();
                for (ValueMatcher o : v.getOrMatch().getValueMatchersList()) {
                    any.add(value(o, where));
                }
                yield x -> any.stream().anyMatch(p -> p.test(x));
            }
            default -> throw new ConfigRejected(where + ": metadata value matcher " + v.getMatchPatternCase()
                    + " is not supported");
        };
    }
}
