package fanin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

var (
	// ErrReplyOverflow is returned by [StreamReply.Send] when the stream's
	// buffer is full: the requester has not kept up. The stream is then
	// cut, and the requester, after the chunks already buffered, receives
	// ErrReplyOverflow from [ReplyReader.Next] instead of the rest of the
	// answer, so that it never takes an answer with a gap for a whole one.
	ErrReplyOverflow = errors.New("fanin: streamed reply overflowed its buffer")

	// ErrReplyEnded is returned by [StreamReply.Send] when the stream can
	// take no more chunks: it was ended (by End, Fail, an overflow or
	// [PendingStreams.Close]), or its requester left ([ReplyReader.Close]),
	// or the StreamReply is the zero one. Nothing was added.
	ErrReplyEnded = errors.New("fanin: streamed reply has ended")
)

// PendingStreams matches streamed replies to requests, as [Pending] does for
// single replies: a caller sends a message carrying a [StreamReply] handle
// and reads the answer from a [ReplyReader] chunk by chunk; the consumer
// sends chunks through the handle and then ends the stream. A gateway that
// shows a model's answer word by word as it is produced is the typical
// caller.
//
// The consumer never waits for the requester: each stream has a buffer of
// a fixed number of chunks, and [StreamReply.Send] on a full buffer does not
// wait but cuts the stream (see [ErrReplyOverflow]). At most max streams are
// open at once; a stream's slot is held from [PendingStreams.Open] until its
// requester has read its end or closed its reader, and released on every
// way out, so that no failure can leak one. The consumer learns whether the
// requester received the whole answer from [StreamReply.Done] and
// [StreamReply.Received].
//
// A PendingStreams is safe for simultaneous use by multiple goroutines and
// must not be copied after first use. Its zero value is not usable; call
// [NewPendingStreams].
type PendingStreams[C any] struct {
	max    int
	buffer int

	mu      sync.Mutex
	open    map[*replyState[C]]struct{} // streams whose slot is held; guarded by mu
	closing bool                        // set by Close; guarded by mu
}

// NewPendingStreams returns a PendingStreams that keeps at most max streams
// open at once, each buffering at most buffer chunks that its requester has
// not read yet. It panics if max or buffer is not positive.
func NewPendingStreams[C any](max, buffer int) *PendingStreams[C] {
	if max <= 0 || buffer <= 0 {
		panic(fmt.Sprintf("fanin: NewPendingStreams called with max %d and buffer %d; both must be positive", max, buffer))
	}
	return &PendingStreams[C]{max: max, buffer: buffer, open: map[*replyState[C]]struct{}{}}
}

// replyState is one stream: its buffered chunks, its end, and whether its
// requester received it. The consumer's handle and the requester's reader
// both point to it; the PendingStreams holds it while its slot is held.
type replyState[C any] struct {
	p      *PendingStreams[C]
	wake   chan struct{} // room for one signal: something was added; never closed
	done   chan struct{} // closed when the requester has finished, read the end or left
	buffer int

	mu       sync.Mutex
	chunks   []C   // a ring of buffer chunks, made at the first Send; guarded by mu
	head, n  int   // the ring's first chunk and how many it holds; guarded by mu
	ended    bool  // no more chunks will be added; guarded by mu
	err      error // the end: nil for End, else what Next returns after the chunks; guarded by mu
	finished bool  // the requester read the end or closed; guarded by mu
	received bool  // the requester read every chunk and a clean end; guarded by mu
}

// Open registers a new stream, calls send with its [StreamReply] handle,
// and returns the reader its answer comes through. send puts a message
// carrying the handle in the stream, typically with [Sink.TrySend] or
// [Sink.Send]; it must return nil if and only if it placed the message.
//
// Open returns the reader and nil, or else: [ErrTooManyPending] when max
// streams are open (send is not called); send's error; or [ErrClosed]
// after [PendingStreams.Close]. On every error, a panic in send included,
// the stream's slot is released before Open returns, and a consumer that
// already holds the handle sees its sends refused with [ErrReplyEnded].
//
// The caller must read the reader until [ReplyReader.Next] returns an
// error, or call [ReplyReader.Close]: either releases the slot.
func (p *PendingStreams[C]) Open(send func(StreamReply[C]) error) (*ReplyReader[C], error) {
	st := &replyState[C]{p: p, wake: make(chan struct{}, 1), done: make(chan struct{}), buffer: p.buffer}
	p.mu.Lock()
	switch {
	case p.closing:
		p.mu.Unlock()
		return nil, ErrClosed
	case len(p.open) >= p.max:
		// The check and the registration are one critical section, so the
		// cap cannot be overrun by callers racing past the check.
		p.mu.Unlock()
		return nil, ErrTooManyPending
	}
	p.open[st] = struct{}{}
	p.mu.Unlock()

	rd := &ReplyReader[C]{st: st}
	ok := false
	defer func() {
		if !ok { // send failed or panicked (net/http recovers those)
			rd.Close()
		}
	}()
	if err := send(StreamReply[C]{st}); err != nil {
		return nil, err
	}
	ok = true
	return rd, nil
}

// Len returns the number of streams whose slot is held.
func (p *PendingStreams[C]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.open)
}

// Close ends every open stream that has not ended yet with [ErrClosed]:
// its requester receives the chunks already buffered and then ErrClosed,
// and its consumer's later sends are refused with [ErrReplyEnded]. Every
// later Open returns ErrClosed. Close never waits for a requester. It is
// idempotent.
func (p *PendingStreams[C]) Close() {
	p.mu.Lock()
	p.closing = true
	open := make([]*replyState[C], 0, len(p.open))
	for st := range p.open {
		open = append(open, st)
	}
	p.mu.Unlock()
	// Each stream is ended under its own lock, never under p.mu, so the
	// two locks are never held together.
	for _, st := range open {
		st.end(ErrClosed)
	}
}

// release gives back st's slot.
func (p *PendingStreams[C]) release(st *replyState[C]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.open, st)
}

// signal wakes the reader, if it waits; it never blocks.
func (st *replyState[C]) signal() {
	select {
	case st.wake <- struct{}{}:
	default: // a wake-up is already pending; the reader will see everything
	}
}

// end ends st with err (nil for a clean end) unless it has ended or its
// requester left, and reports whether it did.
func (st *replyState[C]) end(err error) bool {
	st.mu.Lock()
	if st.ended || st.finished {
		st.mu.Unlock()
		return false
	}
	st.ended, st.err = true, err
	st.mu.Unlock()
	st.signal()
	return true
}

// A StreamReply is the handle by which the consumer streams the answer to
// one request of a [PendingStreams]: any number of [StreamReply.Send] and
// then one [StreamReply.End] or [StreamReply.Fail]. It is a small value,
// safe to copy into a message of any type and to use from any goroutine;
// none of its methods ever waits for the requester.
//
// The zero StreamReply belongs to no request: Wanted reports false, Send
// returns [ErrReplyEnded], End and Fail report false, Done is never closed
// and Received reports false.
type StreamReply[C any] struct {
	st *replyState[C]
}

// Wanted reports whether r belongs to a request, that is whether the
// message that carries it asked for a streamed reply.
func (r StreamReply[C]) Wanted() bool { return r.st != nil }

// Send adds chunk c to the answer. It never blocks. It returns nil if c is
// in the stream's buffer, where the requester reads it in order;
// [ErrReplyOverflow] if the buffer was full, which cuts the stream (c and
// every later chunk are dropped, and the requester is told); or
// [ErrReplyEnded] if the stream can take no more chunks.
func (r StreamReply[C]) Send(c C) error {
	st := r.st
	if st == nil {
		return ErrReplyEnded
	}
	st.mu.Lock()
	switch {
	case st.ended || st.finished:
		st.mu.Unlock()
		return ErrReplyEnded
	case st.n == st.buffer:
		// Cut rather than drop this chunk and go on: a text with a hole
		// in it reads as whole, and waiting for room would let a slow
		// requester stall the consumer.
		st.ended, st.err = true, ErrReplyOverflow
		st.mu.Unlock()
		st.signal()
		return ErrReplyOverflow
	}
	if st.chunks == nil {
		st.chunks = make([]C, st.buffer)
	}
	st.chunks[(st.head+st.n)%st.buffer] = c
	st.n++
	st.mu.Unlock()
	st.signal()
	return nil
}

// End ends the answer: the requester reads the chunks sent before it and
// then the end. It never blocks, and reports whether the end was placed,
// which is false if the stream had already ended (an overflow, an earlier
// End or Fail, [PendingStreams.Close]) or its requester had left. Whether
// the requester then reads up to the end is reported by
// [StreamReply.Received] once [StreamReply.Done] is closed.
func (r StreamReply[C]) End() bool {
	return r.st != nil && r.st.end(nil)
}

// Fail ends the answer with err, which the requester's [ReplyReader.Next]
// returns after the chunks sent before it; a nil err reaches the requester
// as io.ErrUnexpectedEOF, so that a failure never reads as a clean end. It
// never blocks, and reports
// whether the end was placed, as [StreamReply.End] does.
func (r StreamReply[C]) Fail(err error) bool {
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return r.st != nil && r.st.end(err)
}

// Done returns a channel that is closed when the requester has finished
// with the stream: it read the end (clean or not) or closed its reader.
// It is never closed for the zero StreamReply.
func (r StreamReply[C]) Done() <-chan struct{} {
	if r.st == nil {
		return nil
	}
	return r.st.done
}

// Received reports whether the requester has read every chunk and the
// clean end of [StreamReply.End]: the whole answer. Until Done is closed it
// may turn from false to true; after, it no longer changes.
func (r StreamReply[C]) Received() bool {
	if r.st == nil {
		return false
	}
	r.st.mu.Lock()
	defer r.st.mu.Unlock()
	return r.st.received
}

// A ReplyReader is the requester's end of one streamed reply, returned by
// [PendingStreams.Open]. It is meant for one goroutine; Close may be called
// from any.
type ReplyReader[C any] struct {
	st *replyState[C]
}

// Next returns the next chunk of the answer, waiting until one is sent or
// the stream ends. After the last chunk it returns io.EOF if the consumer
// ended the answer with End; the error of Fail; [ErrReplyOverflow] if the
// reader fell behind and the stream was cut; [ErrClosed] after
// [PendingStreams.Close]; or [ErrReplyEnded] after [ReplyReader.Close].
// Reading the end releases the stream's slot, and every later Next
// returns the same error. If ctx ends first Next returns ctx.Err() and
// leaves the stream as it was: a later Next continues it.
func (rd *ReplyReader[C]) Next(ctx context.Context) (C, error) {
	st := rd.st
	for {
		c, err, ok := rd.take()
		if ok {
			return c, err
		}
		select {
		case <-st.wake:
		case <-ctx.Done():
			var zero C
			return zero, ctx.Err()
		}
	}
}

// take returns the next chunk or the end, and ok, or reports with !ok that
// there is nothing to read yet.
func (rd *ReplyReader[C]) take() (c C, err error, ok bool) {
	st := rd.st
	st.mu.Lock()
	if st.n > 0 {
		c = st.chunks[st.head]
		var zero C
		st.chunks[st.head] = zero // let the chunk be collected
		st.head = (st.head + 1) % st.buffer
		st.n--
		st.mu.Unlock()
		return c, nil, true
	}
	if st.finished {
		err = st.err
		st.mu.Unlock()
		return c, err, true
	}
	if !st.ended {
		st.mu.Unlock()
		return c, nil, false
	}
	st.finished = true
	if st.err == nil {
		st.received = true
		st.err = io.EOF
	}
	err = st.err
	st.mu.Unlock()
	rd.finish()
	return c, err, true
}

// finish releases the slot and tells the consumer; called once, by
// whoever set finished.
func (rd *ReplyReader[C]) finish() {
	rd.st.p.release(rd.st)
	close(rd.st.done)
}

// Close gives the stream up: its slot is released, the chunks not read are
// dropped, the consumer's later sends are refused with [ErrReplyEnded],
// and [StreamReply.Done] is closed (with Received false, unless the whole
// answer had already been read). Later calls of Next return ErrReplyEnded,
// or the end already read. It never blocks and is idempotent.
func (rd *ReplyReader[C]) Close() {
	st := rd.st
	st.mu.Lock()
	if st.finished {
		st.mu.Unlock()
		return
	}
	st.finished = true
	st.ended, st.err = true, ErrReplyEnded
	var zero C
	for i := range st.chunks {
		st.chunks[i] = zero
	}
	st.n = 0
	st.mu.Unlock()
	rd.finish()
	st.signal() // a Next waiting in another goroutine returns ErrReplyEnded
}
