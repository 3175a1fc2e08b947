package io.mesh.pilot.registry;

import io.mesh.config.RawResource;
import io.mesh.config.YamlDocuments;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Local mode's registry: every *.yaml / *.yml under a folder (recursively), the same YAML as on Kubernetes.
 * On any file event the whole folder is re-read and handed to the {@link ConfigStore}, which keeps the last good
 * version of anything now invalid. The watch thread blocks on the OS's file events; nothing polls.
 */
public final class LocalFolderRegistry implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(LocalFolderRegistry.class);
    public static final String SOURCE = "folder";

    private final Path dir;
    private final ConfigStore store;
    private final Runnable onChange;
    private WatchService watcher;
    /** Parsed files by path, reused while a file's size and modification time are unchanged. */
    private final java.util.Map<Path, CachedFile> parsed = new java.util.HashMap<>();

    private record CachedFile(Object fileKey, java.time.Instant modified, long size, YamlDocuments.Parsed parsed) {
    }
    private Thread thread;

    public LocalFolderRegistry(Path dir, ConfigStore store, Runnable onChange) {
        this.dir = dir;
        this.store = store;
        this.onChange = onChange;
    }

    /** Reads the folder now; returns true when the config in force changed. */
    public synchronized boolean rescan() {
        // A file that disappears while the folder is walked (an editor's temp file) means: read it again.
        for (int attempt = 1;; attempt++) {
            try {
                return read();
            } catch (java.io.UncheckedIOException e) {
                if (attempt == 5) {
                    LOG.warnf("config folder %s keeps changing while read: %s", dir, e.getMessage());
                    return false;
                }
            }
        }
    }

    /**
     * By name, the labels of the folder's Namespace documents ({@code apiVersion: v1}, {@code kind: Namespace}): local
     * mode's stand-in for the cluster's Namespaces, which Gateway API listeners' namespace selectors select. They are
     * not config: they do not go to the {@link ConfigStore}.
     */
    public java.util.Map<String, java.util.Map<String, String>> namespaces() {
        return namespaces;
    }

    private volatile java.util.Map<String, java.util.Map<String, String>> namespaces = java.util.Map.of();

    /**
     * The data of the folder's ConfigMap documents ({@code apiVersion: v1}, {@code kind: ConfigMap}) by
     * "NAMESPACE/NAME": local mode's stand-in for the cluster's ConfigMaps (a BackendTLSPolicy's CA is one). They are
     * not config either.
     */
    public java.util.Map<String, String> configMap(String namespace, String name) {
        return configMaps.get(namespace + "/" + name);
    }

    private volatile java.util.Map<String, java.util.Map<String, String>> configMaps = java.util.Map.of();

    private boolean read() {
        List<RawResource> resources = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.filter(Files::isRegularFile).filter(LocalFolderRegistry::isYaml).sorted().toList()) {
                    try {
                        YamlDocuments.Parsed p = parse(f);
                        resources.addAll(p.resources());
                        errors.addAll(p.errors());
                    } catch (IOException e) {
                        errors.add(f + ": " + e.getMessage());
                    }
                }
            } catch (IOException e) {
                LOG.warnf("cannot read config folder %s: %s", dir, e.getMessage());
                return false;
            }
        }
        java.util.Map<String, java.util.Map<String, String>> labels = new java.util.HashMap<>();
        java.util.Map<String, java.util.Map<String, String>> data = new java.util.HashMap<>();
        resources.removeIf(r -> {
            boolean core = "v1".equals(r.apiVersion());
            if (core && "Namespace".equals(r.kind())) {
                labels.put(r.name(), r.labels());
                return true;
            }
            if (core && "ConfigMap".equals(r.kind())) {
                java.util.Map<String, String> values = new java.util.HashMap<>();
                if (r.spec() != null) {
                    r.spec().fields().forEachRemaining(e -> values.put(e.getKey(), e.getValue().asText()));
                }
                data.put(r.namespace() + "/" + r.name(), java.util.Map.copyOf(values));
                return true;
            }
            return false;
        });
        boolean changed = !labels.equals(namespaces) || !data.equals(configMaps);
        namespaces = java.util.Map.copyOf(labels);
        configMaps = java.util.Map.copyOf(data);
        return store.replaceSource(SOURCE, resources, errors) | changed;
    }

    private YamlDocuments.Parsed parse(Path f) throws IOException {
        // Same file (inode), same nanosecond mtime and size: unchanged. An atomic replace is a new inode.
        java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(f,
                java.nio.file.attribute.BasicFileAttributes.class);
        CachedFile c = parsed.get(f);
        if (c != null && java.util.Objects.equals(c.fileKey(), a.fileKey())
                && c.modified().equals(a.lastModifiedTime().toInstant()) && c.size() == a.size()) {
            return c.parsed();
        }
        YamlDocuments.Parsed p = YamlDocuments.parse(Files.readString(f), dir.relativize(f).toString());
        parsed.put(f, new CachedFile(a.fileKey(), a.lastModifiedTime().toInstant(), a.size(), p));
        return p;
    }

    private static boolean isYaml(Path p) {
        String n = p.getFileName().toString();
        return (n.endsWith(".yaml") || n.endsWith(".yml")) && !n.startsWith(".");
    }

    public void start() throws IOException {
        rescan();
        if (!Files.isDirectory(dir)) {
            LOG.warnf("config folder %s does not exist; no local config", dir);
            return;
        }
        watcher = FileSystems.getDefault().newWatchService();
        register(dir);
        thread = new Thread(this::watchLoop, "pilot-config-folder");
        thread.setDaemon(true);
        thread.start();
    }

    private void register(Path root) throws IOException {
        try (Stream<Path> dirs = Files.walk(root)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                d.register(watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                        StandardWatchEventKinds.ENTRY_DELETE);
            }
        }
    }

    private void watchLoop() {
        while (true) {
            WatchKey key;
            try {
                key = watcher.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            boolean credentialsChanged = key.pollEvents().stream().anyMatch(e -> {
                String n = String.valueOf(e.context());
                return n.endsWith(".crt") || n.endsWith(".key");
            });
            key.reset();
            try {
                register(dir);
            } catch (IOException | java.io.UncheckedIOException e) {
                LOG.debugf("re-registering %s: %s", dir, e.getMessage());
            }
            try {
                if (rescan() || credentialsChanged) {
                    onChange.run();
                }
            } catch (RuntimeException e) {
                LOG.warnf(e, "reading config folder %s failed", dir);
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (watcher != null) {
            watcher.close();
        }
        if (thread != null) {
            thread.interrupt();
        }
    }
}
