import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A demo backend for the local mesh: answers every request with who it is and what it was asked, so a
 * traffic split can be seen from the client. Two paths misbehave on purpose, for the retry and timeout demo:
 * {@code /flaky...} fails every other request with 503, and {@code /slow...?ms=N} answers after N ms (at most
 * 10 s; 2 s without {@code ms}). Run with the JDK alone, no build:
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
        server.setExecutor(Executors.newFixedThreadPool(8));
        AtomicLong flaky = new AtomicLong();
        server.createContext("/", exchange -> {
            byte[] requestBody;
            try (InputStream in = exchange.getRequestBody()) {
                requestBody = in.readAllBytes();
            }
            String path = exchange.getRequestURI().getPath();
            int status = 200;
            String note = "";
            if (path.startsWith("/flaky") && flaky.incrementAndGet() % 2 == 1) {
                status = 503;
                note = ",\"error\":\"flaky: every other request fails\"";
            } else if (path.startsWith("/slow")) {
                long ms = Math.min(10_000, Math.max(0, param(exchange.getRequestURI().getQuery(), "ms", 2000)));
                try {
                    Thread.sleep(ms);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                note = ",\"slept_ms\":" + ms;
            }
            String body = "{\"served_by\":\"" + name + "\",\"method\":\"" + exchange.getRequestMethod()
                    + "\",\"path\":\"" + jsonEscape(exchange.getRequestURI().toString())
                    + "\",\"host\":\"" + jsonEscape(String.valueOf(exchange.getRequestHeaders().getFirst("Host")))
                    + "\",\"request_bytes\":" + requestBody.length + note + "}\n";
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.getResponseHeaders().set("X-Served-By", name);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        System.out.println("demo backend " + name + " listening on http://127.0.0.1:" + port);
    }

    /** A numeric query parameter, or {@code otherwise} when it is absent or not a number. */
    private static long param(String query, String name, long otherwise) {
        if (query != null) {
            for (String pair : query.split("&")) {
                if (pair.startsWith(name + "=")) {
                    try {
                        return Long.parseLong(pair.substring(name.length() + 1));
                    } catch (NumberFormatException e) {
                        return otherwise;
                    }
                }
            }
        }
        return otherwise;
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
