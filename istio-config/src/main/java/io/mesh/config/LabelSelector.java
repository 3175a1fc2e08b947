package io.mesh.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Kubernetes {@code metav1.LabelSelector}: every {@code matchLabels} entry and every {@code matchExpressions}
 * requirement must hold (an empty selector selects everything), with Kubernetes' operators and validation
 * ({@code In} and {@code NotIn} need values, {@code Exists} and {@code DoesNotExist} take none). As the API server
 * matches it: {@code NotIn} and {@code DoesNotExist} hold for an object without the label.
 */
public record LabelSelector(Map<String, String> matchLabels, List<Requirement> matchExpressions) {
    static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

    public LabelSelector {
        matchLabels = Map.copyOf(matchLabels);
        matchExpressions = List.copyOf(matchExpressions);
    }

    /** One {@code matchExpressions} entry. */
    public record Requirement(String key, String operator, List<String> values) {
        public Requirement {
            values = List.copyOf(values);
        }

        boolean matches(Map<String, String> labels) {
            String value = labels.get(key);
            return switch (operator) {
                case "In" -> value != null && values.contains(value);
                case "NotIn" -> value == null || !values.contains(value);
                case "Exists" -> value != null;
                default -> value == null;   // DoesNotExist
            };
        }
    }

    public boolean matches(Map<String, String> labels) {
        return matchLabels.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())))
                && matchExpressions.stream().allMatch(r -> r.matches(labels));
    }

    /** The label keys it reads: a change of another label cannot change what it selects. */
    public Set<String> keys() {
        Set<String> out = new java.util.HashSet<>(matchLabels.keySet());
        matchExpressions.forEach(r -> out.add(r.key()));
        return out;
    }

    /** Reads and validates a selector object ({@code matchLabels}, {@code matchExpressions}); errors name the field. */
    public static LabelSelector parse(SpecReader s) {
        Problems p = s.problems();
        s.allow("matchLabels", "matchExpressions");
        Map<String, String> labels = s.stringMap("matchLabels");
        labels.keySet().forEach(k -> {
            if (k.isEmpty()) {
                p.error(s.at("matchLabels"), "a label key must not be empty");
            }
        });
        List<Requirement> requirements = new ArrayList<>();
        for (SpecReader e : s.list("matchExpressions")) {
            e.allow("key", "operator", "values");
            String key = e.requiredString("key");
            String operator = e.requiredString("operator");
            List<String> values = e.strings("values");
            if (operator == null || operator.isEmpty()) {
                continue;
            }
            if (!OPERATORS.contains(operator)) {
                p.error(e.at("operator"), "must be In, NotIn, Exists or DoesNotExist, got \"" + operator + "\"");
                continue;
            }
            boolean takesValues = operator.equals("In") || operator.equals("NotIn");
            if (takesValues && values.isEmpty()) {
                p.error(e.at("values"), "must not be empty for operator " + operator);
            } else if (!takesValues && !values.isEmpty()) {
                p.error(e.at("values"), "must be empty for operator " + operator);
            }
            requirements.add(new Requirement(key == null ? "" : key, operator, values));
        }
        return new LabelSelector(labels, requirements);
    }
}
