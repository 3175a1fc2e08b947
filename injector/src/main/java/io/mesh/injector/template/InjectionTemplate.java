package io.mesh.injector.template;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.quarkus.qute.Engine;
import io.quarkus.qute.Template;
import io.quarkus.qute.TemplateException;
import io.quarkus.qute.ValueResolver;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A parsed injection template: Qute text that renders, per pod, into a partial Pod in YAML. Immutable and
 * safe to render from many threads at once. Values are plain maps and lists, so no reflection is involved.
 */
public final class InjectionTemplate {

    public static final String BUILT_IN_RESOURCE = "io/mesh/injector/template/default-injection-template.yaml";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** {@code x.json}: x as a JSON literal, which is also a valid YAML flow scalar. */
    private static final ValueResolver JSON_LITERAL = ValueResolver.builder()
            .appliesTo(context -> "json".equals(context.getName()) && context.getParams().isEmpty()
                    && (context.getBase() instanceof CharSequence || context.getBase() instanceof Number
                    || context.getBase() instanceof Boolean || context.getBase() instanceof Map
                    || context.getBase() instanceof java.util.Collection))
            .resolveSync(context -> jsonLiteral(context.getBase()))
            .build();

    private static final Engine ENGINE = Engine.builder().addDefaults().addValueResolver(JSON_LITERAL)
            .removeStandaloneLines(true).strictRendering(true).build();

    private final Template template;
    private final String origin;
    private final String source;

    private InjectionTemplate(Template template, String origin, String source) {
        this.template = template;
        this.origin = origin;
        this.source = source;
    }

    /**
     * @param origin where the text came from, for messages ("file /etc/mesh/template.yaml")
     * @throws TemplateRefused when the text is not a valid Qute template
     */
    public static InjectionTemplate parse(String source, String origin) throws TemplateRefused {
        try {
            return new InjectionTemplate(ENGINE.parse(source), origin, source);
        } catch (TemplateException e) {
            throw new TemplateRefused("the injection template from " + origin + " does not parse: " + describe(e));
        }
    }

    public static InjectionTemplate builtIn() {
        try (InputStream in = InjectionTemplate.class.getClassLoader().getResourceAsStream(BUILT_IN_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(BUILT_IN_RESOURCE + " is missing from the jar");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "the built-in template");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (TemplateRefused e) {
            throw new IllegalStateException("the built-in template is broken", e);
        }
    }

    public String origin() {
        return origin;
    }

    public String source() {
        return source;
    }

    /**
     * Renders the partial Pod for one pod's values.
     *
     * @throws TemplateRefused when rendering fails or the result is not a YAML map
     */
    public ObjectNode render(Map<String, Object> values) throws TemplateRefused {
        String text;
        try {
            text = template.data(values).render();
        } catch (TemplateException e) {
            throw new TemplateRefused("the injection template from " + origin + " failed to render: " + describe(e));
        }
        JsonNode overlay;
        try {
            overlay = YAML.readTree(text);
        } catch (IOException e) {
            throw new TemplateRefused("the injection template from " + origin + " rendered invalid YAML: "
                    + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
        if (!(overlay instanceof ObjectNode object)) {
            throw new TemplateRefused("the injection template from " + origin + " must render a YAML map (a partial Pod)");
        }
        return object;
    }

    /** Qute's message, which may sit on a cause, without the stack of wrappers. */
    private static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = t.getMessage();
            if (message != null && !message.isBlank()) {
                return message.strip();
            }
            if (t instanceof TemplateException template && template.getCode() != null) {
                return template.getCode() + " " + template.getArguments() + (template.getOrigin() == null ? ""
                        : " at line " + template.getOrigin().getLine());
            }
        }
        return e.toString();
    }

    private static String jsonLiteral(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value + " as JSON", e);
        }
    }
}
