package io.mesh.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads one YAML object field by field, recording every type mismatch and unknown field in {@link Problems}
 * with its path. Parsers never throw on bad input: they return what they could read plus the problems.
 */
public final class SpecReader {
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

    private final JsonNode node;
    private final String path;
    private final Problems problems;

    public SpecReader(JsonNode node, String path, Problems problems) {
        this.node = node;
        this.path = path;
        this.problems = problems;
    }

    public String path() {
        return path;
    }

    public Problems problems() {
        return problems;
    }

    public JsonNode node() {
        return node;
    }

    public String at(String field) {
        return path + "." + field;
    }

    /** Unknown fields are errors, as with Istio's structural CRD schemas and istioctl validate. */
    public SpecReader allow(String... fields) {
        if (node == null || !node.isObject()) {
            return this;
        }
        Set<String> known = Set.of(fields);
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!known.contains(f)) {
                problems.error(at(f), "unknown field \"" + f + "\"");
            }
        }
        return this;
    }

    public boolean has(String field) {
        return node != null && node.has(field) && !node.get(field).isNull();
    }

    public JsonNode raw(String field) {
        return has(field) ? node.get(field) : null;
    }

    public String string(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (!v.isValueNode()) {
            problems.error(at(field), "must be a string");
            return null;
        }
        return v.asText();
    }

    public String requiredString(String field) {
        String s = string(field);
        if (s == null || s.isEmpty()) {
            if (!has(field)) {
                problems.error(at(field), "is required");
            } else if (s != null) {
                problems.error(at(field), "must not be empty");
            }
        }
        return s;
    }

    public Integer integer(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (v.isIntegralNumber() || (v.isTextual() && v.asText().matches("-?\\d+"))) {
            return v.asInt();
        }
        problems.error(at(field), "must be an integer");
        return null;
    }

    public Double number(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (v.isNumber()) {
            return v.asDouble();
        }
        problems.error(at(field), "must be a number");
        return null;
    }

    public Boolean bool(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        problems.error(at(field), "must be true or false");
        return null;
    }

    public SpecReader object(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            return null;
        }
        if (!v.isObject()) {
            problems.error(at(field), "must be an object");
            return null;
        }
        return new SpecReader(v, at(field), problems);
    }

    public List<SpecReader> list(String field) {
        JsonNode v = raw(field);
        List<SpecReader> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!v.isArray()) {
            problems.error(at(field), "must be a list");
            return out;
        }
        for (int i = 0; i < v.size(); i++) {
            JsonNode item = v.get(i);
            String p = at(field) + "[" + i + "]";
            if (!item.isObject()) {
                problems.error(p, "must be an object");
                continue;
            }
            out.add(new SpecReader(item, p, problems));
        }
        return out;
    }

    public List<String> strings(String field) {
        JsonNode v = raw(field);
        List<String> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!v.isArray()) {
            problems.error(at(field), "must be a list of strings");
            return out;
        }
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isValueNode()) {
                problems.error(at(field) + "[" + i + "]", "must be a string");
            } else {
                out.add(v.get(i).asText());
            }
        }
        return out;
    }

    public Map<String, String> stringMap(String field) {
        JsonNode v = raw(field);
        Map<String, String> out = new LinkedHashMap<>();
        if (v == null) {
            return out;
        }
        if (!v.isObject()) {
            problems.error(at(field), "must be a map of strings");
            return out;
        }
        v.fields().forEachRemaining(e -> {
            if (!e.getValue().isValueNode()) {
                problems.error(at(field) + "." + e.getKey(), "must be a string");
            } else {
                out.put(e.getKey(), e.getValue().asText());
            }
        });
        return out;
    }

    public Duration duration(String field) {
        String s = string(field);
        if (s == null) {
            return null;
        }
        Duration d = parseDuration(s);
        if (d == null) {
            problems.error(at(field), "invalid duration \"" + s + "\" (use e.g. 500ms, 10s, 1m)");
        } else if (d.isNegative()) {
            problems.error(at(field), "duration must not be negative");
        }
        return d;
    }

    /** Parses Go-style durations ("1.5s", "1m30s", "100ms"), which is what Istio's YAML uses. */
    public static Duration parseDuration(String s) {
        String t = s.trim();
        if (t.isEmpty()) {
            return null;
        }
        Matcher m = DURATION_PART.matcher(t);
        int pos = 0;
        double nanos = 0;
        while (m.find()) {
            if (m.start() != pos) {
                return null;
            }
            double n = Double.parseDouble(m.group(1));
            nanos += n * switch (m.group(2)) {
                case "ns" -> 1d;
                case "us", "µs" -> 1e3;
                case "ms" -> 1e6;
                case "s" -> 1e9;
                case "m" -> 60e9;
                default -> 3600e9;
            };
            pos = m.end();
        }
        return pos == t.length() && pos > 0 ? Duration.ofNanos((long) nanos) : null;
    }
}
