package io.mesh.injector.template;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mesh.injector.Fixtures;
import io.mesh.injector.inject.CurrentInjector;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local mode: the template file is re-read when it changes; a broken version is refused, the good one stays. */
class FileTemplateWatcherTest {

    private final Vertx vertx = Vertx.vertx();

    @AfterEach
    void close() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void templateFileIsReloadedWhenItChangesAndABrokenOneIsRefused(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("template.yaml");
        CurrentInjector injector = new CurrentInjector(Fixtures.MESH);
        try (FileTemplateWatcher watcher = new FileTemplateWatcher(vertx, file, Duration.ofMillis(20), injector)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> injector.lastError().isPresent());
            assertTrue(injector.lastError().get().contains("cannot read " + file), injector.lastError().get());
            assertTrue(injector.get().isEmpty());

            String builtIn = InjectionTemplate.builtIn().source();
            Files.writeString(file, builtIn);
            await().atMost(Duration.ofSeconds(10)).until(() -> injector.get().isPresent());
            assertEquals("file " + file, injector.get().get().template().origin());

            String custom = builtIn.replace("runAsGroup: {proxy.uid}", "runAsGroup: 2000");
            Files.writeString(file, custom);
            await().atMost(Duration.ofSeconds(10)).until(() -> injector.get().get().template().source().equals(custom));

            Files.writeString(file, custom.replace("{/for}", ""));
            await().atMost(Duration.ofSeconds(10)).until(() -> injector.lastError().isPresent());
            assertTrue(injector.lastError().get().contains("does not parse"), injector.lastError().get());
            assertEquals(custom, injector.get().get().template().source(), "the last good template stays in use");
        }
    }
}
