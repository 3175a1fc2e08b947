import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

/**
 * A demo backend for the local mesh: answers every request with who it is and what it was asked, so a
 * traffic split can be seen from the client. Run with the JDK alone, no build:
 * {@code java deploy/local/demo/EchoServer.java <name> <port>}.
 */
public final class EchoServer {

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: java EchoServer.java <name> <port>");
            System.exit(2);
        }
        String name = args[0];
        int port = Integer.parseInt(args[1]);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.createContext("/", exchange -> {
            byte[] requestBody;
            try (InputStream in = exchange.getRequestBody()) {
                requestBody = in.readAllBytes();
            }
            String body = "{\"served_by\":\"" + name + "\",\"method\":\"" + exchange.getRequestMethod()
                    + "\",\"path\":\"" + jsonEscape(exchange.getRequestURI().toString())
                    + "\",\"host\":\"" + jsonEscape(String.valueOf(exchange.getRequestHeaders().getFirst("Host")))
                    + "\",\"request_bytes\":" + requestBody.length + "}\n";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.getResponseHeaders().set("X-Served-By", name);
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        System.out.println("demo backend " + name + " listening on http://127.0.0.1:" + port);
    }

    private static String jsonEscape(String value) {
        StringBuilder escaped = new StringBuilder(value.length());
        for (char c : value.toCharArray()) {
            switch (c) {
                case '"' -> escaped.append("\\\"");
                case '\\' -> escaped.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        escaped.append(String.format("\\u%04x", (int) c));
                    } else {
                        escaped.append(c);
                    }
                }
            }
        }
        return escaped.toString();
    }
}
