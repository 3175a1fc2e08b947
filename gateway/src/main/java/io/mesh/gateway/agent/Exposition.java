package io.mesh.gateway.agent;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Prometheus expositions as text, for merging the app's metrics after the proxy's own. Works line by line on
 * metric families: a family begins at its {@code # HELP}/{@code # TYPE} line or at a sample of a new name.
 * Pure functions; never throws on odd input (lines it does not understand pass through unchanged).
 */
final class Exposition {

    private static final String[] SUFFIXES = {"", "_total", "_created", "_bucket", "_sum", "_count", "_info"};

    private Exposition() {
    }

    /** One metric family: its name, and its lines in order. */
    record Family(String name, List<String> lines, Set<String> sampleNames) {
    }

    /**
     * The app's families whose names the proxy already exposes are dropped: a second {@code # TYPE} for a name makes
     * Prometheus reject the whole scrape (a JVM app's {@code jvm_*} next to the proxy's, say). Returns what is kept.
     */
    static String withoutFamiliesOf(String proxy, String app, List<String> dropped) {
        Set<String> taken = new HashSet<>();
        for (Family f : families(proxy)) {
            for (String s : SUFFIXES) {
                taken.add(f.name() + s);
            }
            taken.addAll(f.sampleNames());
        }
        StringBuilder out = new StringBuilder(app.length());
        for (Family f : families(app)) {
            boolean clash = taken.contains(f.name()) || f.sampleNames().stream().anyMatch(taken::contains);
            if (clash) {
                dropped.add(f.name());
                continue;
            }
            for (String line : f.lines()) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    static List<Family> families(String exposition) {
        List<Family> families = new ArrayList<>();
        Family current = null;
        for (String line : exposition.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String name;
            boolean metadata = line.startsWith("# HELP ") || line.startsWith("# TYPE ") || line.startsWith("# UNIT ");
            if (metadata) {
                name = word(line, 7);
            } else if (line.startsWith("#")) {
                if (current != null) {
                    current.lines().add(line);
                }
                continue;
            } else {
                name = sampleName(line);
            }
            boolean belongs = current != null && (metadata ? current.name().equals(name) : ofFamily(current, name));
            if (!belongs) {
                current = new Family(name, new ArrayList<>(), new HashSet<>());
                families.add(current);
            }
            if (!metadata) {
                current.sampleNames().add(name);
            }
            current.lines().add(line);
        }
        return families;
    }

    private static boolean ofFamily(Family f, String sample) {
        if (sample.equals(f.name())) {
            return true;
        }
        for (String s : SUFFIXES) {
            if (!s.isEmpty() && sample.equals(f.name() + s)) {
                return true;
            }
        }
        return sample.equals(f.name() + "_gcount") || sample.equals(f.name() + "_gsum");
    }

    /**
     * OpenMetrics 1.0 as the 0.0.4 text format: no {@code # EOF} or {@code # UNIT}, no exemplars, no
     * {@code _created} samples, counters' metadata named after their {@code _total} samples, {@code info} and
     * {@code stateset} families as gauges, {@code unknown} as untyped, timestamps in milliseconds. Families of other
     * types (gaugehistogram) keep their samples without metadata.
     */
    static String openMetricsToText(String om) {
        StringBuilder out = new StringBuilder(om.length());
        for (Family f : families(om)) {
            String type = null;
            String help = null;
            for (String line : f.lines()) {
                if (line.startsWith("# TYPE ")) {
                    type = rest(line, 7);
                } else if (line.startsWith("# HELP ")) {
                    help = rest(line, 7);
                }
            }
            String textName = f.name();
            String textType = type;
            if ("counter".equals(type)) {
                textName = f.name().endsWith("_total") ? f.name() : f.name() + "_total";
            } else if ("info".equals(type)) {
                textName = f.name() + "_info";
                textType = "gauge";
            } else if ("stateset".equals(type)) {
                textType = "gauge";
            } else if ("unknown".equals(type) || type == null) {
                textType = "untyped";
            } else if (!type.equals("gauge") && !type.equals("histogram") && !type.equals("summary")) {
                textType = null;
            }
            if (textType != null) {
                if (help != null) {
                    out.append("# HELP ").append(textName).append(' ').append(help).append('\n');
                }
                if (type != null) {
                    out.append("# TYPE ").append(textName).append(' ').append(textType).append('\n');
                }
            }
            for (String line : f.lines()) {
                if (line.startsWith("#")) {
                    continue;
                }
                String name = sampleName(line);
                if (name.endsWith("_created") && ("counter".equals(type) || "histogram".equals(type) || "summary".equals(type))) {
                    continue;
                }
                out.append(sampleAsText(line)).append('\n');
            }
        }
        return out.toString();
    }

    /** A sample line without its exemplar, with an OpenMetrics timestamp (seconds) in milliseconds. */
    static String sampleAsText(String line) {
        int afterLabels = endOfNameAndLabels(line);
        String head = line.substring(0, afterLabels);
        String tail = line.substring(afterLabels).trim();
        int exemplar = tail.indexOf(" # ");
        if (exemplar >= 0) {
            tail = tail.substring(0, exemplar).trim();
        } else if (tail.startsWith("# ")) {
            tail = "";
        }
        String[] parts = tail.split("\\s+");
        if (parts.length == 2) {
            try {
                long ms = Math.round(Double.parseDouble(parts[1]) * 1000);
                return head + " " + parts[0] + " " + ms;
            } catch (NumberFormatException e) {
                return head + " " + tail;
            }
        }
        return head + " " + tail;
    }

    static String sampleName(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ' && line.charAt(i) != '\t') {
            i++;
        }
        return line.substring(0, i);
    }

    /** Index just past the name and its label set; quoted label values may hold braces, spaces and escaped quotes. */
    private static int endOfNameAndLabels(String line) {
        int i = sampleName(line).length();
        if (i < line.length() && line.charAt(i) == '{') {
            boolean quoted = false;
            for (i++; i < line.length(); i++) {
                char c = line.charAt(i);
                if (quoted && c == '\\') {
                    i++;
                } else if (c == '"') {
                    quoted = !quoted;
                } else if (!quoted && c == '}') {
                    return i + 1;
                }
            }
        }
        return i;
    }

    private static String word(String line, int from) {
        int end = line.indexOf(' ', from);
        return end < 0 ? line.substring(from) : line.substring(from, end);
    }

    private static String rest(String line, int from) {
        int end = line.indexOf(' ', from);
        return end < 0 ? "" : line.substring(end + 1);
    }
}
