package io.mesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * meshctl kube-inject's YAML handling that needs no injector: documents without pods are never sent and come out
 * byte for byte, bad YAML is named by its document, and what is written reads back as the same values
 * (e.g. "true" and "8080" stay strings). The injection itself runs against the real injector in e2e
 * (KubeInjectIT).
 */
class KubeInjectionTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static final KubeInjection.Injector NEVER_ASKED = (pod, namespace) -> {
        throw new AssertionError("the injector must not be asked about " + pod);
    };

    @Test
    void documentsWithoutPodsAreNotSentAndComeOutExactly() throws Exception {
        String input = """
                # config only
                apiVersion: v1
                kind: Service
                metadata: {name: web}   # trailing comment
                spec: {ports: [{port: 80}]}
                ---
                ---   # an empty document
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: c
                data:
                  on: "yes"
                """;
        KubeInjection.Result result = new KubeInjection(NEVER_ASKED, "default").inject(input);
        assertEquals(input, result.yaml());
        assertEquals(List.of(), result.notes());
    }

    @Test
    void aDocumentThatIsNotYamlIsNamedByItsIndexAndLine() {
        KubeInjection.Failed e = assertThrows(KubeInjection.Failed.class,
                () -> new KubeInjection(NEVER_ASKED, "default").inject("a: 1\n---\nkey: [unclosed\n"));
        assertTrue(e.getMessage().startsWith("document 2 (line 3) is not YAML: "), e.getMessage());
    }

    @Test
    void writtenYamlReadsBackAsTheSameValues() throws Exception {
        String text = new String(getClass().getResourceAsStream("/kube-inject/app.yaml").readAllBytes(), StandardCharsets.UTF_8);
        for (YamlDocuments.Document document : YamlDocuments.split(text)) {
            JsonNode parsed = YAML.readTree(document.text());
            assertEquals(parsed, YAML.readTree(KubeInjection.write(parsed)), document.text());
        }
        JsonNode tricky = YAML.readTree("""
                a: "true"
                b: "0755"
                c: "1e3"
                d: "null"
                e: "- dash"
                f: "x: y"
                g: '{"json": [1, 2]}'
                h: "multi\\nline\\n"
                i: ""
                j: 15020
                k: "on"
                """);
        assertEquals(tricky, YAML.readTree(KubeInjection.write(tricky)), KubeInjection.write(tricky));
    }
}
