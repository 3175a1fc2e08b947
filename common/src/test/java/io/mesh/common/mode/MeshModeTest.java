package io.mesh.common.mode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeshModeTest {

    @TempDir
    Path dir;

    @Test
    void explicitModeWins() {
        assertEquals(MeshMode.LOCAL, MeshMode.detect(Optional.of("local"), Map.of("KUBECONFIG", "/k"), Map.of(), dir));
        assertEquals(MeshMode.KUBERNETES, MeshMode.detect(Optional.of("Kubernetes"), Map.of(), Map.of(), dir.resolve("none")));
    }

    @Test
    void noConfigurationAtAllMeansLocal() {
        assertEquals(MeshMode.LOCAL, MeshMode.detect(Optional.empty(), Map.of(), Map.of(), dir.resolve("none")));
    }

    @Test
    void inClusterServiceAccountOrKubeconfigMeansKubernetes() throws Exception {
        Path token = Files.writeString(dir.resolve("token"), "jwt");
        assertEquals(MeshMode.KUBERNETES, MeshMode.detect(Optional.empty(), Map.of(), Map.of(), token));
        assertEquals(MeshMode.KUBERNETES, MeshMode.detect(Optional.empty(), Map.of("KUBECONFIG", "/k"), Map.of(), dir.resolve("none")));
        assertEquals(MeshMode.KUBERNETES,
                MeshMode.detect(Optional.empty(), Map.of(), Map.of("kubernetes.master", "http://127.0.0.1:1"), dir.resolve("none")));
    }

    @Test
    void unknownModeIsRejectedWithTheAllowedValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MeshMode.detect(Optional.of("cloud"), Map.of(), Map.of(), dir));
        assertTrue(e.getMessage().contains("'kubernetes' or 'local'"), e.getMessage());
    }
}
