package io.mesh.gateway.capture;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code gateway init-iptables [flags]}: what the injected init container runs, as istio-init does. It
 * redirects the pod's outbound TCP to the sidecar's 15001 and its inbound TCP to 15006, except the proxy's
 * own traffic (uid 1337) and ports. {@code --cleanup} removes every rule it added; {@code --dry-run}
 * prints the iptables commands instead of running them.
 *
 * <p>Exit codes: 0 done, 1 iptables failed (nothing is left half-installed), 2 bad flags.
 */
public final class InitIptablesCommand {

    private InitIptablesCommand() {
    }

    public static void main(String[] args) {
        System.exit(run(List.of(args), System.out, System.err, IptablesCapture.system()));
    }

    static int run(List<String> args, PrintStream out, PrintStream err, IptablesCapture capture) {
        boolean cleanup = false;
        boolean dryRun = false;
        List<String> flags = new ArrayList<>();
        for (String arg : args) {
            switch (arg) {
                case "--cleanup" -> cleanup = true;
                case "--dry-run" -> dryRun = true;
                case "-h", "--help" -> {
                    out.println(usage());
                    return 0;
                }
                default -> flags.add(arg);
            }
        }
        CaptureOptions options;
        try {
            options = CaptureOptions.parse(flags);
        } catch (IllegalArgumentException e) {
            err.println("init-iptables: " + e.getMessage());
            err.println(usage());
            return 2;
        }
        if (dryRun) {
            List<List<String>> rules = new ArrayList<>(CaptureRules.cleanup());
            if (!cleanup) {
                rules.addAll(CaptureRules.install(options));
            }
            rules.forEach(rule -> out.println("iptables -t nat " + String.join(" ", rule)));
            return 0;
        }
        try {
            if (cleanup) {
                capture.cleanup();
                out.println("init-iptables: removed the capture rules");
            } else {
                capture.install(options);
                out.printf("init-iptables: outbound TCP -> :%d, inbound TCP -> :%d, except uid/gid %d/%d and ports %s%n",
                        options.proxyPort(), options.inboundPort(), options.proxyUid(), options.proxyGid(),
                        options.excludeInboundPorts());
            }
            return 0;
        } catch (IllegalStateException e) {
            err.println("init-iptables: " + e.getMessage());
            return 1;
        }
    }

    static String usage() {
        return """
                usage: gateway init-iptables [--cleanup] [--dry-run] [flags]
                  -p, --outbound-capture-port PORT      outbound capture port (15001)
                  -z, --inbound-capture-port PORT       inbound capture port (15006)
                  -u, --proxy-uid UID                   the proxy's uid, never captured (1337)
                  -g, --proxy-gid GID                   the proxy's gid, never captured (1337)
                  -m, --istio-inbound-interception-mode REDIRECT (the only mode)
                  -i, --include-outbound-ip-ranges LIST outbound CIDRs to capture, * for all (*)
                  -x, --exclude-outbound-ip-ranges LIST outbound CIDRs never captured
                  -b, --include-inbound-ports LIST      inbound ports to capture, * for all (*)
                  -d, --exclude-inbound-ports LIST      inbound ports never captured (15020,15021,15090 always)
                  -o, --exclude-outbound-ports LIST     outbound ports never captured
                LISTs are comma-separated; an empty LIST means none.""";
    }
}
