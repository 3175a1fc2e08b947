package io.mesh.gateway.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelConfig;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * Socket reads of the data plane's connections into one buffer per event loop, taken again for the next read as soon
 * as nothing but the loop holds it, as nginx reads into a buffer it keeps instead of allocating one per read. A read
 * whose bytes are all consumed during the read (a request head turned into an upstream head, a response whose body
 * was written and flushed at the end of the read) leaves the buffer to the loop again, which saves a pooled
 * allocation and release per read: two per proxied request.
 *
 * <p>Ownership is the reference count, as for any Netty buffer: the loop keeps one reference, a read takes one more,
 * and anything that keeps bytes past the read (a body slice queued behind a full socket, a partial head kept for the
 * next read) retains it, so the loop sees a count above one and reads into a new buffer, dropping its own reference to
 * the old one (freed when its last holder releases it). Code that keeps bytes without retaining them would already be
 * reading freed memory without this. Reads of a size guess above {@link #CAPACITY} (a large body streaming in) get a
 * buffer of their own from the channel's allocator, as before.
 *
 * <p>Wraps the channel's own {@link RecvByteBufAllocator}, whose handle still decides the guess and when to stop
 * reading. Event-loop confined: reads happen on the channel's event loop.
 */
final class LoopReadBuffer implements RecvByteBufAllocator {
    /** Netty's first guess for a read (AdaptiveRecvByteBufAllocator's initial 2048): what a pooled read took before. */
    static final int CAPACITY = 2048;

    private static final FastThreadLocal<ByteBuf> LOOP_BUFFER = new FastThreadLocal<>() {
        @Override
        protected void onRemoval(ByteBuf buffer) {
            if (buffer != null) {
                buffer.release();
            }
        }
    };

    private final RecvByteBufAllocator delegate;

    private LoopReadBuffer(RecvByteBufAllocator delegate) {
        this.delegate = delegate;
    }

    /** Makes the channel's reads use the loop's buffer (before its first read; a later read would keep its handle). */
    static void install(ChannelConfig config) {
        RecvByteBufAllocator current = config.getRecvByteBufAllocator();
        if (!(current instanceof LoopReadBuffer)) {
            config.setRecvByteBufAllocator(new LoopReadBuffer(current));
        }
    }

    @Override
    public Handle newHandle() {
        return new LoopHandle((ExtendedHandle) delegate.newHandle());
    }

    /** The loop's buffer, cleared and with one more reference for the read, or a new one when it is held elsewhere. */
    static ByteBuf take(ByteBufAllocator alloc) {
        ByteBuf kept = LOOP_BUFFER.get();
        if (kept != null && kept.refCnt() == 1) {
            return kept.clear().retain();
        }
        ByteBuf fresh = alloc.ioBuffer(CAPACITY);
        LOOP_BUFFER.set(fresh.retain());
        if (kept != null) {
            kept.release();   // its holders release the rest
        }
        return fresh;
    }

    private static final class LoopHandle implements ExtendedHandle {
        private final ExtendedHandle delegate;

        LoopHandle(ExtendedHandle delegate) {
            this.delegate = delegate;
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            return delegate.guess() <= CAPACITY ? take(alloc) : delegate.allocate(alloc);
        }

        @Override
        public int guess() {
            return delegate.guess();
        }

        @Override
        public void reset(ChannelConfig config) {
            delegate.reset(config);
        }

        @Override
        public void incMessagesRead(int numMessages) {
            delegate.incMessagesRead(numMessages);
        }

        @Override
        public void lastBytesRead(int bytes) {
            delegate.lastBytesRead(bytes);
        }

        @Override
        public int lastBytesRead() {
            return delegate.lastBytesRead();
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            delegate.attemptedBytesRead(bytes);
        }

        @Override
        public int attemptedBytesRead() {
            return delegate.attemptedBytesRead();
        }

        @Override
        public boolean continueReading() {
            return delegate.continueReading();
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return delegate.continueReading(maybeMoreDataSupplier);
        }

        @Override
        public void readComplete() {
            delegate.readComplete();
        }
    }
}
