package io.mesh.gateway.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.FastThreadLocal;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The event loop's read buffer: taken again only when nothing but the loop holds it, so bytes a handler kept (retained)
 * are never overwritten by the next read, and no buffer is lost or freed twice.
 */
class LoopReadBufferTest {
    private static final PooledByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    @AfterEach
    void dropLoopBuffer() {
        FastThreadLocal.removeAll();   // as when the event loop's thread ends: the loop's reference is released
    }

    @Test
    void aReadWhoseBytesWereConsumedLeavesTheBufferToTheNextRead() {
        ByteBuf first = LoopReadBuffer.take(ALLOC);
        first.writeCharSequence("GET / HTTP/1.1\r\n\r\n", StandardCharsets.US_ASCII);
        first.skipBytes(first.readableBytes());
        first.release();   // the reader is done with it

        ByteBuf second = LoopReadBuffer.take(ALLOC);

        assertSame(first, second);
        assertEquals(0, second.readerIndex());
        assertEquals(0, second.writerIndex());
        assertTrue(second.capacity() >= LoopReadBuffer.CAPACITY);
        assertEquals(2, second.refCnt());   // the loop's and the read's
        second.release();
    }

    @Test
    void bytesKeptPastTheReadAreNeverOverwrittenByTheNextRead() {
        ByteBuf first = LoopReadBuffer.take(ALLOC);
        first.writeCharSequence("body-of-the-first-response", StandardCharsets.US_ASCII);
        ByteBuf queued = first.readRetainedSlice(first.readableBytes());   // e.g. behind a full downstream socket
        first.release();

        ByteBuf second = LoopReadBuffer.take(ALLOC);
        second.writeCharSequence("something-else-entirely-and-longer", StandardCharsets.US_ASCII);

        assertNotSame(first, second);
        assertEquals("body-of-the-first-response", queued.toString(StandardCharsets.US_ASCII));
        assertEquals(1, first.refCnt());   // the loop let go of it; only the queued slice holds it now
        queued.release();
        assertEquals(0, first.refCnt());   // freed by its last holder
        second.release();
        assertSame(second, LoopReadBuffer.take(ALLOC));   // the new one is the loop's from now on
        second.release();
    }

    @Test
    void theLoopsReferenceIsReleasedWhenItsThreadEnds() {
        ByteBuf buffer = LoopReadBuffer.take(ALLOC);
        buffer.release();

        FastThreadLocal.removeAll();

        assertEquals(0, buffer.refCnt());
    }

    @Test
    void aChannelReadsIntoTheLoopBufferUnlessItsGuessIsLarger() {
        EmbeddedChannel channel = new EmbeddedChannel();
        DefaultChannelConfig config = (DefaultChannelConfig) channel.config();
        config.setRecvByteBufAllocator(new AdaptiveRecvByteBufAllocator(64, 1024, 65536));
        LoopReadBuffer.install(config);
        LoopReadBuffer.install(config);   // once only: the handle is not wrapped twice
        RecvByteBufAllocator.Handle small = config.getRecvByteBufAllocator().newHandle();
        ByteBuf read = small.allocate(ALLOC);
        read.release();
        assertSame(read, small.allocate(ALLOC));
        read.release();

        config.setRecvByteBufAllocator(new AdaptiveRecvByteBufAllocator(64, 16384, 65536));
        LoopReadBuffer.install(config);
        RecvByteBufAllocator.Handle large = config.getRecvByteBufAllocator().newHandle();
        ByteBuf own = large.allocate(ALLOC);
        assertNotSame(read, own);
        assertEquals(16384, own.capacity());   // the channel's guess, from its allocator
        own.release();
        channel.finishAndReleaseAll();
    }
}
