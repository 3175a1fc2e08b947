package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.http.impl.headers.HeadersMultiMap;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The fast path strips hop-by-hop headers in place; the Vert.x path copies the rest into a new map. Both must
 * leave the same headers, in the same order, whether the names are Strings or the decoder's AsciiStrings.
 */
class HopByHopTest {

    private static final String[][][] HEADS = {
        {{"Host", "a"}, {"User-Agent", "x"}},
        {{"Host", "a"}, {"Connection", "keep-alive"}, {"Keep-Alive", "timeout=5"}, {"X-Keep", "1"}},
        {{"Connection", "close"}, {"Content-Length", "3"}},
        {{"Connection", "Keep-Alive, X-Drop ,x-other"}, {"x-drop", "1"}, {"X-Other", "2"}, {"x-stay", "3"}},
        {{"TE", "trailers, deflate"}, {"Transfer-Encoding", "chunked"}, {"Trailer", "x"}, {"Upgrade", "h2c"},
            {"Proxy-Connection", "keep-alive"}, {"Proxy-Authorization", "b"}, {"Proxy-Authenticate", "c"},
            {"HTTP2-Settings", "AAA"}, {"x-end", "4"}},
        {{"connection", "x-a"}, {"connection", "x-b"}, {"x-a", "1"}, {"x-b", "2"}},
        {{"x-only", "1"}},
    };

    @Test
    void strippingInPlaceLeavesWhatCopyingLeaves() {
        for (String[][] head : HEADS) {
            for (boolean ascii : new boolean[] {false, true}) {
                HeadersMultiMap inPlace = HeadersMultiMap.httpHeaders();
                HeadersMultiMap from = HeadersMultiMap.httpHeaders();
                for (String[] h : head) {
                    inPlace.add(ascii ? new AsciiString(h[0]) : h[0], h[1]);
                    from.add(h[0], h[1]);
                }
                HopByHop.stripInPlace(inPlace);
                HeadersMultiMap copied = HeadersMultiMap.httpHeaders();
                HopByHop.copy(from, copied, false);
                assertEquals(lines(copied), lines(inPlace), List.of(head).stream().map(List::of).toList() + " ascii=" + ascii);
            }
        }
    }

    @Test
    void namesHeadersSeesOnlyRealNames() {
        assertEquals(false, HopByHop.namesHeaders(null));
        assertEquals(false, HopByHop.namesHeaders("keep-alive"));
        assertEquals(false, HopByHop.namesHeaders(" Close , KEEP-ALIVE,upgrade,"));
        assertEquals(true, HopByHop.namesHeaders("keep-alive, x-drop"));
        assertEquals(true, HopByHop.namesHeaders("x"));
    }

    private static List<String> lines(MultiMap m) {
        List<String> out = new ArrayList<>();
        m.forEach((k, v) -> out.add(k.toLowerCase() + ": " + v));
        return out;
    }
}
