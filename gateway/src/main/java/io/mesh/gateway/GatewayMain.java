package io.mesh.gateway;

import io.mesh.gateway.capture.InitIptablesCommand;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;
import java.util.Arrays;

/**
 * The {@code gateway} command. With no argument, {@code router} or {@code sidecar} it runs the proxy (the
 * mode argument sets {@code mesh.gateway.mode} unless the environment already does); {@code init-iptables}
 * installs the capture rules (the injected init container); {@code wait} blocks until the proxy is ready (the
 * postStart hook of holdApplicationUntilProxyStarts). The two helpers run without starting Quarkus.
 */
@QuarkusMain
public final class GatewayMain {

    private GatewayMain() {
    }

    public static void main(String... args) {
        // Before any TLS loads: the JDK's TLS servers leave SNI to Netty, so that they take Istio's mesh SNI.
        io.mesh.gateway.tls.JdkMeshSni.leaveServerSniToNetty();
        String command = args.length == 0 ? "" : args[0];
        String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
        switch (command) {
            case "init-iptables" -> InitIptablesCommand.main(rest);
            case "wait" -> System.exit(WaitCommand.run(rest, System.out, System.err));
            case "router", "sidecar" -> {
                if (System.getenv("MESH_GATEWAY_MODE") == null && System.getProperty("mesh.gateway.mode") == null) {
                    System.setProperty("mesh.gateway.mode", command);
                }
                Quarkus.run(rest);
            }
            case "-h", "--help", "help" -> System.out.println(usage());
            default -> {
                if (!command.isEmpty() && !command.startsWith("-")) {
                    System.err.println("gateway: unknown command " + command + "\n" + usage());
                    System.exit(2);
                }
                Quarkus.run(args);
            }
        }
    }

    static String usage() {
        return """
                usage: gateway [router|sidecar]          run the proxy (mode from MESH_GATEWAY_MODE, default router)
                       gateway init-iptables [flags]     install the sidecar's traffic capture (gateway init-iptables --help)
                       gateway wait [--url=URL] [--timeout=DURATION]
                                                         wait until the proxy is ready (exit 0), or time out (exit 1)""";
    }
}
