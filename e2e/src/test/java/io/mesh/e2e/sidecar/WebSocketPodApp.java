package io.mesh.e2e.sidecar;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket app of {@link SidecarMeshIT}, in a pod's network namespace.
 * <ul>
 * <li>{@code server NAME PORT}: Vert.x's WebSocket server on 127.0.0.1:PORT (as a container next to its sidecar);
 * each text message {@code M} is answered with {@code NAME: M}.</li>
 * <li>{@code client URI MESSAGE}: the JDK's WebSocket client sends {@code MESSAGE} and prints the answer.</li>
 * </ul>
 */
public final class WebSocketPodApp {

    private WebSocketPodApp() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("server")) {
            server(args[1], Integer.parseInt(args[2]));
        } else if (args.length == 3 && args[0].equals("client")) {
            System.out.println(client(URI.create(args[1]), args[2]));
            System.exit(0);
        } else {
            System.err.println("usage: WebSocketPodApp server NAME PORT | client URI MESSAGE");
            System.exit(2);
        }
    }

    private static void server(String name, int port) throws Exception {
        Vertx.vertx().createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(port))
                .requestHandler(r -> {
                    if ("websocket".equalsIgnoreCase(r.getHeader("upgrade"))) {
                        r.toWebSocket().onSuccess(ws -> ws.textMessageHandler(m -> ws.writeTextMessage(name + ": " + m)));
                    } else {
                        r.response().setStatusCode(426).end("a WebSocket app\n");
                    }
                })
                .listen().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        System.out.println("websocket app " + name + " listening on " + port);
    }

    private static String client(URI uri, String message) throws Exception {
        CompletableFuture<String> answer = new CompletableFuture<>();
        WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
            private final StringBuilder text = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    answer.complete(text.toString());
                }
                webSocket.request(1);
                return null;
            }

            @Override
            public void onError(WebSocket webSocket, Throwable error) {
                answer.completeExceptionally(error);
            }
        }).get(20, TimeUnit.SECONDS);
        ws.sendText(message, true).get(20, TimeUnit.SECONDS);
        String reply = answer.get(20, TimeUnit.SECONDS);
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(20, TimeUnit.SECONDS);
        return reply;
    }
}
