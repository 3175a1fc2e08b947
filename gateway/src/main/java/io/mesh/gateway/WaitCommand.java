package io.mesh.gateway;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * {@code gateway wait [--url=URL] [--timeout=DURATION]}: polls the proxy's readiness URL until it answers 200
 * (exit 0) or the timeout passes (exit 1); bad flags exit 2. The injector runs it as the sidecar's postStart
 * hook, so the app containers start only once the proxy has its config and certificate (Istio's
 * holdApplicationUntilProxyStarts).
 */
final class WaitCommand {

    private WaitCommand() {
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        String url = "http://localhost:15021/healthz/ready";
        Duration timeout = Duration.ofSeconds(60);
        Duration period = Duration.ofMillis(200);
        for (String arg : args) {
            try {
                if (arg.startsWith("--url=")) {
                    url = arg.substring("--url=".length());
                    URI.create(url).toURL();
                } else if (arg.startsWith("--timeout=")) {
                    timeout = duration(arg.substring("--timeout=".length()));
                } else if (arg.startsWith("--period=")) {
                    period = duration(arg.substring("--period=".length()));
                } else {
                    err.println("wait: unknown flag " + arg + "\nusage: gateway wait [--url=URL] [--timeout=60s] [--period=200ms]");
                    return 2;
                }
            } catch (IllegalArgumentException | java.net.MalformedURLException e) {
                err.println("wait: bad value in " + arg + ": " + e.getMessage());
                return 2;
            }
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (true) {
            try {
                HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2))
                        .GET().build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    out.println("wait: proxy ready (" + url + ")");
                    return 0;
                }
                last = "HTTP " + r.statusCode();
            } catch (java.io.IOException e) {
                last = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
            if (System.nanoTime() - deadline >= 0) {
                err.println("wait: proxy not ready after " + timeout.toSeconds() + "s (" + url + ": " + last + ")");
                return 1;
            }
            try {
                Thread.sleep(period.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
        }
    }

    /** "60s", "500ms", "2m", or ISO-8601 ("PT1M"). */
    static Duration duration(String s) {
        try {
            if (s.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
            }
            if (s.endsWith("s")) {
                return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            if (s.endsWith("m")) {
                return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
            }
            return Duration.parse(s);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a duration: " + s + " (use 60s, 500ms, 2m)");
        }
    }
}
