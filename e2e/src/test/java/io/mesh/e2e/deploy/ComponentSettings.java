package io.mesh.e2e.deploy;

import io.mesh.e2e.Component;
import io.mesh.e2e.ProjectLayout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A component's settings as its packaged jar declares them: its {@code @ConfigMapping} interface, read by
 * reflection, gives every environment variable it reads ({@code MESH_PILOT_XDS_PORT}) and its default. So the
 * manifests are checked against what the code really reads, not against a copy of its names.
 */
final class ComponentSettings {

    /** A setting: its environment variable, its {@code @WithDefault} (null when none), and whether it is a map. */
    record Setting(String env, String defaultValue, boolean map) {
    }

    private final Map<String, Setting> settings;

    private ComponentSettings(Map<String, Setting> settings) {
        this.settings = settings;
    }

    static ComponentSettings of(Component component) {
        Path app = ProjectLayout.root().resolve(component.id()).resolve("target/quarkus-app");
        List<URL> jars = new ArrayList<>();
        try (Stream<Path> files = Stream.concat(Files.list(app.resolve("app")), Files.list(app.resolve("lib/main")))) {
            for (Path jar : files.filter(p -> p.toString().endsWith(".jar")).toList()) {
                jars.add(jar.toUri().toURL());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("package " + component.id() + " first (./mvnw package)", e);
        }
        String simple = component.id().substring(0, 1).toUpperCase(Locale.ROOT) + component.id().substring(1) + "Config";
        try (URLClassLoader loader = new URLClassLoader(jars.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
            Class<?> mapping = loader.loadClass("io.mesh." + component.id() + "." + simple);
            Map<String, Setting> settings = new LinkedHashMap<>();
            collect(mapping, "MESH_" + component.id().toUpperCase(Locale.ROOT), settings);
            return new ComponentSettings(settings);
        } catch (IOException | ClassNotFoundException e) {
            throw new IllegalStateException("cannot read the settings of " + component.id() + ": " + e, e);
        }
    }

    private static void collect(Class<?> group, String prefix, Map<String, Setting> out) {
        for (Method method : group.getMethods()) {
            if (method.getParameterCount() != 0 || method.isDefault() || java.lang.reflect.Modifier.isStatic(method.getModifiers())) {
                continue;
            }
            String env = prefix + "_" + method.getName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
            Class<?> type = method.getReturnType();
            Type generic = method.getGenericReturnType();
            if (type == Optional.class && generic instanceof ParameterizedType p && p.getActualTypeArguments()[0] instanceof Class<?> inner
                    && isGroup(inner)) {
                collect(inner, env, out);
            } else if (isGroup(type)) {
                collect(type, env, out);
            } else {
                String defaultValue = defaultOf(method);
                out.put(env, new Setting(env, defaultValue, Map.class.isAssignableFrom(type)));
            }
        }
    }

    private static boolean isGroup(Class<?> type) {
        return type.isInterface() && type.getName().startsWith("io.mesh.");
    }

    private static String defaultOf(Method method) {
        return Stream.of(method.getAnnotations())
                .filter(a -> a.annotationType().getName().equals("io.smallrye.config.WithDefault"))
                .map(a -> {
                    try {
                        return (String) a.annotationType().getMethod("value").invoke(a);
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException(e);
                    }
                })
                .findFirst().orElse(null);
    }

    /** True when the component reads this environment variable (a map setting reads every suffix). */
    boolean reads(String env) {
        if (settings.containsKey(env)) {
            return true;
        }
        return settings.values().stream().anyMatch(s -> s.map() && env.startsWith(s.env() + "_"));
    }

    /** The defaults of every setting whose name ends in PORT: the ports the component listens on out of the box. */
    List<Integer> defaultPorts() {
        return settings.values().stream().filter(s -> s.env().endsWith("_PORT") && s.defaultValue() != null)
                .map(s -> Integer.parseInt(s.defaultValue())).toList();
    }

    Optional<String> defaultOf(String env) {
        return Optional.ofNullable(settings.get(env)).map(Setting::defaultValue);
    }

    Map<String, Setting> all() {
        return settings;
    }
}
