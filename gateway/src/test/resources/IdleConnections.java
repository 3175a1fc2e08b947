import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;

/**
 * Opens N TCP connections to 127.0.0.1:PORT that never send a byte, then waits (at most 30 s) until the
 * server has closed them, and prints "opened closed". Run as a separate process (java IdleConnections.java
 * PORT N) so its file descriptors are not the test JVM's.
 */
public class IdleConnections {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int n = Integer.parseInt(args[1]);
        Selector selector = Selector.open();
        int opened = 0;
        for (int i = 0; i < n; i++) {
            SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ);
            opened++;
        }
        int closed = 0;
        ByteBuffer buf = ByteBuffer.allocate(64);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (closed < opened && System.nanoTime() < deadline) {
            selector.select(500);
            for (SelectionKey k : selector.selectedKeys()) {
                SocketChannel ch = (SocketChannel) k.channel();
                int r;
                try {
                    buf.clear();
                    r = ch.read(buf);
                } catch (java.io.IOException reset) {
                    r = -1;
                }
                if (r < 0) {
                    closed++;
                    k.cancel();
                    ch.close();
                }
            }
            selector.selectedKeys().clear();
        }
        System.out.println(opened + " " + closed);
    }
}
