package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** meshctl kube-inject keeps every document it does not inject exactly as written: the cut must lose nothing. */
class YamlDocumentsTest {

    @ParameterizedTest
    @ValueSource(strings = {
            "a: 1\n",
            "---\na: 1\n---\nb: 2\n",
            "# header\n---\na: 1\n--- # second\n# comment\nb: 2\n...\n",
            "a: 1\r\n---\r\nb: 2\r\n",
            "a: 1\n---\nb: 2",
            "---\n---\n",
            "key: |\n  ---not a separator\n  text\n---x: 1\n",
            ""})
    void joiningTheDocumentsGivesBackTheInputExactly(String input) {
        assertEquals(input, YamlDocuments.join(YamlDocuments.split(input)));
    }

    @Test
    void eachDocumentKnowsItsSeparatorAndFirstLine() {
        List<YamlDocuments.Document> documents = YamlDocuments.split("# header\n---\na: 1\n--- # second\nb: 2\n");
        assertEquals(3, documents.size());
        assertEquals(new YamlDocuments.Document("", "# header\n", 1), documents.get(0));
        assertEquals(new YamlDocuments.Document("---\n", "a: 1\n", 3), documents.get(1));
        assertEquals(new YamlDocuments.Document("--- # second\n", "b: 2\n", 5), documents.get(2));
        assertTrue(documents.get(0).blank());
        assertFalse(documents.get(1).blank());
    }

    @Test
    void aLineThatOnlyStartsWithDashesIsNotASeparator() {
        List<YamlDocuments.Document> documents = YamlDocuments.split("a: 1\n---x: 1\n----\n");
        assertEquals(1, documents.size());
    }
}
