package io.mesh.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The checks that ask pilot itself, locally or through the service proxy: rejected config, proxies out of sync. */
final class PilotChecks {

    static final String CONFIG = "pilot has no rejected config";
    static final String SYNC = "every connected proxy is in sync";

    private PilotChecks() {
    }

    static List<CheckResult> run(MonitoringApi pilot) throws InterruptedException {
        List<CheckResult> results = new ArrayList<>();
        try {
            results.add(config(pilot.getObject("/debug/configz", "resources", "pilot's config status")));
        } catch (MonitoringApi.Unreachable e) {
            results.add(CheckResult.fail(CONFIG, e.getMessage(), "is pilot ready? see the check above"));
        }
        try {
            CheckResult sync = sync(pilot.getArray("/debug/syncz", "a list of proxies"));
            if (!sync.ok() && sync.detail().contains("STALE")) {
                // A push in flight is STALE until the proxy ACKs it, which takes milliseconds: look again once.
                Thread.sleep(1_000);
                sync = sync(pilot.getArray("/debug/syncz", "a list of proxies"));
            }
            results.add(sync);
        } catch (MonitoringApi.Unreachable e) {
            results.add(CheckResult.fail(SYNC, e.getMessage(), "is pilot ready? see the check above"));
        }
        return results;
    }

    /** From /debug/configz: every resource accepted and every file readable. */
    static CheckResult config(JsonNode configz) {
        List<String> problems = new ArrayList<>();
        int total = 0;
        for (JsonNode resource : configz.path("resources")) {
            total++;
            if ("Rejected".equals(resource.path("status").asText())) {
                problems.add(resource.path("kind").asText() + " " + resource.path("namespace").asText() + "/"
                        + resource.path("name").asText() + ": " + resource.path("reason").asText());
            }
        }
        configz.path("fileErrors").forEach(error -> problems.add(error.asText()));
        if (problems.isEmpty()) {
            return CheckResult.pass(CONFIG, total + " resources accepted");
        }
        String shown = String.join("; ", problems.subList(0, Math.min(3, problems.size())))
                + (problems.size() > 3 ? "; and " + (problems.size() - 3) + " more" : "");
        return CheckResult.fail(CONFIG, problems.size() + " rejected: " + shown,
                "meshctl analyze <your config>; the last good version of each stays in force");
    }

    /** From /debug/syncz: no proxy has a type NACKED or STALE. */
    static CheckResult sync(JsonNode syncz) {
        List<String> behind = new ArrayList<>();
        for (JsonNode proxy : syncz) {
            List<String> types = new ArrayList<>();
            proxy.path("xds").fields().forEachRemaining(type -> {
                String status = type.getValue().path("status").asText();
                if (status.equals("NACKED") || status.equals("STALE")) {
                    types.add(type.getKey().toUpperCase(java.util.Locale.ROOT) + " " + status);
                }
            });
            if (!types.isEmpty()) {
                behind.add(proxy.path("proxy").asText() + " (" + String.join(", ", types) + ")");
            }
        }
        if (behind.isEmpty()) {
            return CheckResult.pass(SYNC, syncz.size() + (syncz.size() == 1 ? " proxy" : " proxies") + " in sync");
        }
        return CheckResult.fail(SYNC, String.join("; ", behind), "meshctl proxy-status shows each type; a NACK's reason is in "
                + "meshctl proxy-status -o json (lastNack.error)");
    }
}
