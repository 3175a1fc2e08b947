package io.mesh.cli;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Where each field of one YAML document sits: field paths as Istio's validation writes them
 * ({@code spec.http[0].route[1].destination.host}) to 1-based line numbers, so a problem can be reported
 * at its file:line.
 */
final class YamlLines {

    private static final YAMLFactory YAML = new YAMLFactory();

    private final Map<String, Integer> lines;
    private final int firstLine;

    private YamlLines(Map<String, Integer> lines, int firstLine) {
        this.lines = lines;
        this.firstLine = firstLine;
    }

    /** Maps the document {@code text}, which starts at line {@code offset + 1} of its file. */
    static YamlLines of(String text, int offset) {
        Map<String, Integer> lines = new HashMap<>();
        int first = offset + 1;
        try (YAMLParser parser = YAML.createParser(text)) {
            Deque<String> paths = new ArrayDeque<>();
            // Per open container: the next element's index for an array, -1 for an object.
            Deque<int[]> indexes = new ArrayDeque<>();
            String pending = null;
            JsonToken token;
            boolean started = false;
            while ((token = parser.nextToken()) != null) {
                if (!started) {
                    first = parser.currentTokenLocation().getLineNr() + offset;
                    started = true;
                }
                if (token == JsonToken.FIELD_NAME) {
                    String parent = paths.isEmpty() ? "" : paths.peek();
                    pending = parent.isEmpty() ? parser.currentName() : parent + "." + parser.currentName();
                    lines.putIfAbsent(pending, parser.currentTokenLocation().getLineNr() + offset);
                    continue;
                }
                String here = valuePath(paths, indexes, pending);
                pending = null;
                if (here != null) {
                    lines.putIfAbsent(here, parser.currentTokenLocation().getLineNr() + offset);
                }
                if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
                    paths.push(here == null ? "" : here);
                    indexes.push(new int[] {token == JsonToken.START_ARRAY ? 0 : -1});
                } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
                    paths.pop();
                    indexes.pop();
                }
            }
        } catch (IOException e) {
            // A document that does not parse is reported by the caller at its first line.
        }
        return new YamlLines(lines, first);
    }

    /** The path of the value at the current token: a field's value, an array element, or the root. */
    private static String valuePath(Deque<String> paths, Deque<int[]> indexes, String pendingField) {
        if (pendingField != null) {
            return pendingField;
        }
        if (indexes.isEmpty()) {
            return null;
        }
        int[] index = indexes.peek();
        if (index[0] < 0) {
            return null;
        }
        return paths.peek() + "[" + index[0]++ + "]";
    }

    /** The line of {@code path}, or of its nearest ancestor that has one, or of the document's start. */
    int lineOf(String path) {
        String current = path;
        while (current != null && !current.isEmpty()) {
            Integer line = lines.get(current);
            if (line != null) {
                return line;
            }
            int cut = Math.max(current.lastIndexOf('.'), current.lastIndexOf('['));
            current = cut > 0 ? current.substring(0, cut) : null;
        }
        return firstLine;
    }
}
