package fanin

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Layout of Sender.state, one word per Sender so that "is the run
// stopping?", "count me in" and "count me out, and count my value" are
// each one atomic step:
//
//	bit 63      stopping: set once by Shutdown; from then on no call may enter
//	bit 62      finished: set once, by whoever leaves the Sender stopping
//	            with nothing in flight; the last Sender of the run to finish
//	            closes the stream
//	bits 31-61  values placed in the stream (see fold for the top bit)
//	bits 0-30   calls in flight
//
// Counting accepted values in the word that every call already updates
// costs nothing extra: a separate counter would be a second contended
// atomic on the fast path of every send.
const (
	stopping uint64 = 1 << 63
	finished uint64 = 1 << 62

	acceptShift          = 31
	oneAccepted   uint64 = 1 << acceptShift
	inFlightMask  uint64 = oneAccepted - 1
	acceptedMask  uint64 = (1<<31 - 1) << acceptShift
	acceptFoldBit uint64 = 1 << 61 // the top bit of the accepted field

	// closable is the part of the state that must equal stopping for the
	// stream to be closed: stopping, not yet finished, nothing in flight.
	closable = stopping | finished | inFlightMask
)

// A Sender sends into one run of a [Channel]: the stream returned by the
// [Channel.Start] call that began the run. Adapters take one with
// [Channel.Sender] and keep it for the life of the run; once that run is shut
// down every method returns [ErrClosed] and [Sender.Done] is closed, even if
// the Channel has been started again. A Sender never delivers into a later
// run. A Sender is a [Sink].
//
// Each Sender counts its own calls in flight, so that producers on
// different cores that each keep their own Sender do not all update one
// word on every send; see [Channel.Sender].
//
// A Sender is safe for simultaneous use by multiple goroutines. Its zero
// value is not bound to any run: its Send and TrySend return [ErrNotStarted]
// and its Done returns nil.
type Sender[T any] struct {
	*runState[T] // nil for the zero Sender

	// state holds this Sender's stopping and finished bits, its accepted
	// count and its calls in flight; see the layout above. Every call adds
	// one before it looks at the stream and removes it when it no longer
	// will, so no call can slip past a Shutdown.
	//
	// A sync.RWMutex read-locked around the send would give the same
	// exclusion, but only if it is held across the blocking send, which is
	// the deadlock this package exists to prevent.
	state atomic.Uint64

	// folds is a sequence number: odd while a fold is moving 2^30 accepted
	// values out of state, and twice the number of folds done otherwise.
	folds atomic.Uint64

	// The Senders of a run lie side by side in one slice; the padding
	// keeps each one's state on a cache line of its own.
	_ [104]byte
}

// runState is what the Senders of one run share.
type runState[T any] struct {
	// buf holds the run's buffered Go channel. A Channel's run makes it at
	// once, since Start returns it; a Group's lane makes it at its first
	// send, so that an adapter that never sends holds no buffer (10,000
	// idle adapters with lanes of 256 values of 128 bytes would otherwise
	// hold 330 MB of empty buffers). Only a call in flight makes it, and
	// finish, when none is, so it is made once and never replaced. It is
	// closed exactly once, by finish, and only when no call is in flight
	// in any of the run's Senders, so a send on it can never panic.
	//
	// A lane that could also give its buffer back once drained was
	// rejected: a sender that loaded the old buffer could still send into
	// it after the swap, unless every send took a lock.
	buf      atomic.Pointer[chan T]
	capacity int

	// done is closed by the Shutdown that sets stopping. Every blocked Send
	// selects on it, which is how Shutdown wakes them without touching the
	// stream.
	done chan struct{}

	// drained is closed right after the stream: Shutdown waits on it.
	drained chan struct{}

	// mark, if not nil, tells a Group's consumer that this lane holds
	// values: it is set after a value is placed while the lane was idle,
	// and once the stream is closed; see readyMark.
	mark *readyMark

	// stats collects the refusals and waits of this run, and its accepted
	// count once it finishes; it is shared with the runs before and after.
	stats *counters

	stopOnce sync.Once // runs stop's steps once

	// senders are the run's Senders, each with its own count of calls in
	// flight. senders[0] is the one Channel.Send uses and Channel.Sender
	// hands out first; a lane has only that one. open counts those not yet
	// finished (stopping with nothing in flight); the one that brings it
	// to zero closes the stream. handed counts the Senders handed out.
	//
	// Shutdown sets stopping in each Sender in turn, so a send that
	// begins after Shutdown returned is refused whichever Sender it uses.
	// One word for the whole run was the design before: it made every
	// send on every core add to and subtract from one cache line.
	senders []Sender[T]
	open    atomic.Int32
	handed  atomic.Uint32
	over    atomic.Bool // set once, by finish, before the stream is closed

	// prev is the run of the same Channel before this one, if it had not
	// finished when this one began: a Shutdown whose ctx ended, or a Start
	// beside a Shutdown, can leave sends in flight in it. Its count is
	// still its own, so Channel.Stats adds it; see earlier.
	prev atomic.Pointer[Sender[T]]
}

// earlier calls f for each run before s, newest first, that has not
// finished, and unlinks those that have, so that a Channel holds on to no
// finished run but its current one.
func (s *Sender[T]) earlier(f func(*Sender[T])) {
	for p := s; p != nil; {
		q := p.prev.Load()
		if q == nil {
			return
		}
		if q.isFinished() {
			p.prev.CompareAndSwap(q, q.prev.Load())
			continue
		}
		f(q)
		p = q
	}
}

// newSender returns a run with a buffer of capacity values and n Senders,
// n a power of two, and returns the first. A Channel's run (mark is nil)
// makes its buffer now; a lane (mark is set) at its first send.
func newSender[T any](capacity int, stats *counters, mark *readyMark, n int) *Sender[T] {
	r := &runState[T]{
		capacity: capacity,
		done:     make(chan struct{}),
		drained:  make(chan struct{}),
		mark:     mark,
		stats:    stats,
		senders:  make([]Sender[T], n),
	}
	for i := range r.senders {
		r.senders[i].runState = r
	}
	r.open.Store(int32(n))
	if mark == nil {
		r.makeBuf()
	}
	return &r.senders[0]
}

// sender returns one of the run's Senders, in turn.
func (r *runState[T]) sender() *Sender[T] {
	return &r.senders[(r.handed.Add(1)-1)&uint32(len(r.senders)-1)]
}

// stream returns the run's buffer, or nil for a lane that has not made it
// yet: len and cap of nil are 0, and a receive from it in a select with a
// default never proceeds, so a consumer sees an empty, open lane.
func (s *runState[T]) stream() chan T {
	if p := s.buf.Load(); p != nil {
		return *p
	}
	return nil
}

// ensure returns the run's buffer, making it if need be. Only a call in
// flight (or finish, when none is) may call it.
func (s *runState[T]) ensure() chan T {
	if p := s.buf.Load(); p != nil {
		return *p
	}
	return s.makeBuf()
}

func (s *runState[T]) makeBuf() chan T {
	ch := make(chan T, s.capacity)
	if s.buf.CompareAndSwap(nil, &ch) {
		return ch
	}
	return *s.buf.Load() // a concurrent send made it first
}

// Send places v in the run's stream, blocking while the buffer is full.
// It returns nil if and only if v was placed in the stream; a consumer that
// reads the stream until it is closed then receives v exactly once.
//
// Send returns [ErrClosed] if the run has been shut down, ctx.Err() if ctx
// ends first, and [ErrNotStarted] for the zero Sender. Any error means v was
// not placed and will never be received. A Send that overlaps Shutdown may
// complete or return ErrClosed; one that starts after Shutdown has returned
// always returns ErrClosed. No lock is held while Send waits.
func (s *Sender[T]) Send(ctx context.Context, v T) error {
	if s == nil || s.runState == nil {
		return ErrNotStarted
	}
	if s.enter() {
		return ErrClosed
	}
	// An ended ctx is reported even when there is room: a caller that has
	// given up must not have its value delivered behind its back.
	if d := ctx.Done(); d != nil {
		select {
		case <-d:
			s.exit()
			s.stats.canceled.Add(1)
			return ctx.Err()
		default:
		}
	}
	// The common case, room in the buffer, costs one non-blocking send; the
	// select below, with its extra channels, runs only when we must wait.
	ch := s.ensure()
	select {
	case ch <- v:
		s.placed()
		return nil
	default:
	}
	return s.wait(ctx, ch, v)
}

// wait is the slow path of Send: the buffer was full. It is kept apart so
// that the fast path stays small; the time it measures is spent blocked.
func (s *Sender[T]) wait(ctx context.Context, ch chan T, v T) error {
	st := s.stats
	st.blocked.Add(1)
	start := time.Now()
	var err error
	select {
	case ch <- v:
	case <-s.done:
		err = ErrClosed
	case <-ctx.Done():
		err = ctx.Err()
	}
	st.waitNanos.Add(int64(time.Since(start)))
	st.waited.Add(1)
	st.blocked.Add(-1)
	switch err {
	case nil:
		s.placed()
		return nil
	case ErrClosed:
		st.closed.Add(1)
	default:
		st.canceled.Add(1)
	}
	s.exit()
	return err
}

// TrySend places v in the run's stream if there is room now, and never
// blocks. It returns nil if and only if v was placed; otherwise [ErrFull]
// when the buffer is full (or, for an unbuffered Channel, no receiver is
// waiting), [ErrClosed] after the run was shut down, and [ErrNotStarted]
// for the zero Sender. An adapter that must answer at once, such as an HTTP
// handler, turns ErrFull into a "busy" reply.
func (s *Sender[T]) TrySend(v T) error {
	if s == nil || s.runState == nil {
		return ErrNotStarted
	}
	if s.enter() {
		return ErrClosed
	}
	select {
	case s.ensure() <- v:
		s.placed()
		return nil
	default:
	}
	s.exit()
	s.stats.full.Add(1)
	return ErrFull
}

// Done returns a channel that is closed when the Sender's run is shut down.
// Adapters select on it to stop producing. Shutdown closes it first, so a
// send that begins just after it is closed may still be accepted (and is
// then received); once Shutdown has returned, every send is refused. It
// returns nil for the zero Sender.
func (s *Sender[T]) Done() <-chan struct{} {
	if s == nil || s.runState == nil {
		return nil
	}
	return s.done
}

// enter counts a call in and reports whether the run is stopping, in which
// case the call must return ErrClosed without touching the stream; enter
// has already counted it out again, and counted the refusal.
func (s *Sender[T]) enter() (stopped bool) {
	if s.state.Add(1)&stopping != 0 {
		s.exit()
		s.stats.closed.Add(1)
		return true
	}
	return false
}

// exit counts a call out. The call that leaves its Sender stopping with
// nothing in flight finishes it.
func (s *Sender[T]) exit() {
	if s.state.Add(^uint64(0))&closable == stopping {
		s.finish()
	}
}

// placed counts a call out whose value is in the stream, in the same atomic
// step, and marks a Group's lane ready if it was idle. The mark comes after
// the count: a consumer that finds the lane empty and unmarks it reads the
// count next, so either it sees this value or this call sees the lane
// unmarked and marks it again (see Stream.take).
func (s *Sender[T]) placed() {
	n := s.state.Add(oneAccepted - 1)
	if n&acceptFoldBit != 0 {
		s.fold(n)
	}
	if s.mark != nil {
		s.mark.set()
	}
	if n&closable == stopping {
		s.finish()
	}
}

// fold keeps the accepted field of state from overflowing into the
// finished bit. The call whose increment set the field's top bit (there is
// exactly one per 2^30 values) moves 2^30 out of state into folds; the
// field has room for another 2^30 increments meanwhile. n is the state
// that call's increment produced.
func (s *Sender[T]) fold(n uint64) {
	if (n-(oneAccepted-1))&acceptFoldBit != 0 {
		return // the bit was already set: another call folds
	}
	s.folds.Add(1)                    // odd: readers retry
	s.state.Add(^(acceptFoldBit - 1)) // minus acceptFoldBit
	s.folds.Add(1)
}

// own returns the number of values placed in the stream through s.
func (s *Sender[T]) own() uint64 {
	for {
		f := s.folds.Load()
		n := s.state.Load()
		if f&1 == 0 && s.folds.Load() == f {
			return f/2<<30 + (n&acceptedMask)>>acceptShift
		}
		runtime.Gosched() // a fold is under way; it is two atomic steps
	}
}

// accepted returns the number of values placed in the run's stream so far,
// through any of its Senders.
func (r *runState[T]) accepted() uint64 {
	var n uint64
	for i := range r.senders {
		n += r.senders[i].own()
	}
	return n
}

// stop marks the run stopping and wakes every blocked Send. It never
// blocks for long: a concurrent stop waits only for the first to finish
// these steps, so that whichever Shutdown returns, Done is closed and no
// Sender admits a call.
func (r *runState[T]) stop() {
	r.stopOnce.Do(func() {
		// done is closed first, so that the stream (and drained) can
		// never be closed before it.
		close(r.done)
		for i := range r.senders {
			s := &r.senders[i]
			s.state.Or(stopping)
			// Calls in flight see the Sender finished by the last of
			// them to leave; if there are none, nobody else will.
			s.finish()
		}
	})
}

// finish marks s finished if the run is stopping, nothing is in flight in
// s and nobody finished it yet; the last Sender of the run to finish closes
// the stream. The compare-and-swap makes this happen once per Sender,
// although its in-flight count may fall to zero many times after stopping
// (each late call enters, sees stopping and leaves).
func (s *Sender[T]) finish() {
	for {
		n := s.state.Load()
		if n&closable != stopping {
			return
		}
		if s.state.CompareAndSwap(n, n|finished) {
			break
		}
	}
	if s.open.Add(-1) == 0 {
		s.runState.finish()
	}
}

// finish closes the stream: every Sender of the run is finished, so
// nothing can be placed any more.
func (r *runState[T]) finish() {
	// The count is final. It joins the totals before drained is closed, so
	// that Stats after Shutdown has returned is exact, and in one step for
	// a concurrent Stats, so that the run is never missed nor counted twice.
	r.stats.moveAccepted(func() { r.over.Store(true) }, r.accepted)
	ch := r.stream()
	if ch == nil {
		// A lane that nothing was sent to closes an empty channel without
		// a buffer: nobody can send any more, and the consumer needs only
		// to see it closed.
		ch = make(chan T)
		r.buf.Store(&ch)
	}
	close(ch)
	close(r.drained)
	if r.mark != nil {
		r.mark.force() // the consumer must look once more, to see the end
	}
}

func (s *Sender[T]) countRateLimited() {
	if s != nil && s.runState != nil { // the zero Sender counts nothing
		s.stats.rateLimited.Add(1)
	}
}

// stopped reports whether Shutdown has marked this run stopping.
func (r *runState[T]) stopped() bool {
	return r.senders[0].state.Load()&stopping != 0 // stop marks it first
}

// isFinished reports whether the run's count is final: the stream is
// closed, or about to be.
func (r *runState[T]) isFinished() bool {
	return r.over.Load()
}
