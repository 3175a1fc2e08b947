package io.mesh.cli;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks the processes the local runner started, from its run folder: {@code pids/<name>.pid} ("pid
 * start-time", as the runner records them) and {@code endpoints} (one "name health-url" line each).
 */
final class LocalChecks {

    private final Path runDir;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    LocalChecks(Path runDir) {
        this.runDir = runDir;
    }

    List<CheckResult> run() throws InterruptedException {
        List<CheckResult> results = new ArrayList<>();
        Path endpoints = runDir.resolve("endpoints");
        if (!Files.isRegularFile(endpoints)) {
            results.add(CheckResult.fail("local mesh", "no runner state in " + runDir, "start the mesh with ./mesh up"));
            return results;
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(endpoints);
        } catch (IOException e) {
            results.add(CheckResult.fail("local mesh", "cannot read " + endpoints + ": " + e.getMessage(), "run ./mesh up again"));
            return results;
        }
        for (String line : lines) {
            String[] fields = line.strip().split("\\s+");
            if (fields.length != 2) {
                continue;
            }
            results.add(check(fields[0], URI.create(fields[1])));
        }
        java.util.Optional<URI> pilot = RunFolder.endpoint(runDir, "pilot");
        if (pilot.isPresent()) {
            results.addAll(PilotChecks.run(MonitoringApi.direct("pilot", pilot.get())));
        }
        return results;
    }

    private CheckResult check(String name, URI health) {
        String check = name + " is ready";
        String hint = "see ./mesh logs " + name + ", then ./mesh up to restart it";
        if (!alive(name)) {
            return CheckResult.fail(check, "the process is not running", hint);
        }
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 200) {
                return CheckResult.pass(check, health.toString());
            }
            return CheckResult.fail(check, health + " answered " + response.statusCode(), hint);
        } catch (IOException e) {
            return CheckResult.fail(check, health + " does not answer (" + e.getMessage() + ")", hint);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CheckResult.fail(check, "interrupted", hint);
        }
    }

    /** Alive and the same process the runner started: its start time still matches the recorded one. */
    private boolean alive(String name) {
        try {
            String[] recorded = Files.readString(runDir.resolve("pids").resolve(name + ".pid")).strip().split("\\s+");
            String stat = Files.readString(Path.of("/proc", recorded[0], "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // Field 22 of /proc/<pid>/stat (starttime) is the 20th after the command name.
            return recorded.length > 1 && fields[19].equals(recorded[1]);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
