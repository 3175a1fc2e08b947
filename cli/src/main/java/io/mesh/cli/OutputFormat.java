package io.mesh.cli;

/** How a command prints its result: {@code --output table|json|yaml}. */
public enum OutputFormat {
    table,
    json,
    yaml
}
