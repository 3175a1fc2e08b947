package io.mesh.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A multi-document YAML text cut into its documents, keeping every character: each document's text and the
 * separator line before it ({@code ---}, with anything that follows it on that line). Joining the documents
 * gives back the input exactly, so a command that changes one document leaves the others, their comments
 * and the separators as they were.
 */
final class YamlDocuments {

    /** A document start marker: "---" at the start of a line, alone or followed by blanks and a comment. */
    private static final Pattern SEPARATOR = Pattern.compile("---(?:[ \\t]+(?:#.*)?)?");

    /**
     * One document.
     *
     * @param separator the separator line before it, with its line break ("" for the first document when the
     *     text does not start with one)
     * @param text the document's own lines, each with its line break
     * @param line the 1-based line of the input where the text starts
     */
    record Document(String separator, String text, int line) {

        /** Whether the text holds nothing but blank lines and comments. */
        boolean blank() {
            for (String l : text.split("\n", -1)) {
                String s = l.strip();
                if (!s.isEmpty() && !s.startsWith("#") && !s.equals("...")) {
                    return false;
                }
            }
            return true;
        }

        Document withText(String replaced) {
            return new Document(separator, replaced, line);
        }
    }

    private YamlDocuments() {
    }

    static List<Document> split(String input) {
        List<Document> documents = new ArrayList<>();
        String separator = "";
        int start = 1;
        int lineNumber = 0;
        StringBuilder text = new StringBuilder();
        int at = 0;
        while (at < input.length()) {
            int end = input.indexOf('\n', at);
            String line = end < 0 ? input.substring(at) : input.substring(at, end + 1);
            at = end < 0 ? input.length() : end + 1;
            lineNumber++;
            String bare = line.endsWith("\n") ? line.substring(0, line.length() - 1) : line;
            if (bare.endsWith("\r")) {
                bare = bare.substring(0, bare.length() - 1);
            }
            if (SEPARATOR.matcher(bare).matches()) {
                if (!separator.isEmpty() || text.length() > 0) {
                    documents.add(new Document(separator, text.toString(), start));
                }
                separator = line;
                text.setLength(0);
                start = lineNumber + 1;
            } else {
                text.append(line);
            }
        }
        if (!separator.isEmpty() || text.length() > 0) {
            documents.add(new Document(separator, text.toString(), start));
        }
        return documents;
    }

    static String join(List<Document> documents) {
        StringBuilder out = new StringBuilder();
        for (Document document : documents) {
            out.append(document.separator()).append(document.text());
        }
        return out.toString();
    }
}
