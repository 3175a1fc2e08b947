package io.mesh.injector.template;

/** A template that does not parse or does not render; it is never put into use. */
public class TemplateRefused extends Exception {

    public TemplateRefused(String message) {
        super(message, null, false, false);
    }
}
