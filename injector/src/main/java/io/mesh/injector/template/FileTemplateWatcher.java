package io.mesh.injector.template;

import io.mesh.injector.inject.CurrentInjector;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Local mode: reads the template file at start and again whenever its content changes (checked on a
 * Vert.x timer, asynchronously; editors that replace the file are seen too). Each new content is offered to
 * the {@link CurrentInjector}, which refuses a broken one and keeps the last good template.
 */
public final class FileTemplateWatcher implements AutoCloseable {

    private final Vertx vertx;
    private final Path file;
    private final CurrentInjector injector;
    private final long timerId;
    /** The content last offered, or a marker for "missing"; touched only on the timer's event loop. */
    private String lastSeen;

    public FileTemplateWatcher(Vertx vertx, Path file, Duration interval, CurrentInjector injector) {
        this.vertx = vertx;
        this.file = file.toAbsolutePath();
        this.injector = injector;
        check();
        this.timerId = vertx.setPeriodic(Math.max(10, interval.toMillis()), id -> check());
    }

    private void check() {
        vertx.fileSystem().readFile(file.toString()).onComplete(read -> {
            String content = read.succeeded() ? read.result().toString(StandardCharsets.UTF_8) : null;
            String seen = content == null ? "\0missing: " + read.cause().getMessage() : content;
            if (Objects.equals(seen, lastSeen)) {
                return;
            }
            lastSeen = seen;
            String origin = "file " + file;
            vertx.executeBlocking(() -> content == null
                    ? injector.refuse(origin, "cannot read " + file + ": " + read.cause().getMessage())
                    : injector.offer(content, origin), false);
        });
    }

    @Override
    public void close() {
        vertx.cancelTimer(timerId);
    }

}
