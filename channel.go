package fanin

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
)

// DefaultCapacity is the buffer size of a zero [Channel]. It is the bound the
// reference system used for each adapter's queue.
const DefaultCapacity = 256

var (
	// ErrNotStarted is returned by Send, TrySend and Sender on a Channel that
	// has never been started, and by the methods of a zero Sender.
	ErrNotStarted = errors.New("fanin: channel not started")

	// ErrClosed is returned when the run a call belongs to has been shut
	// down: by Send and TrySend, by Sender after Shutdown, and by a blocked
	// Send that Shutdown woke.
	ErrClosed = errors.New("fanin: channel closed")

	// ErrFull is returned by TrySend when the buffer has no room.
	ErrFull = errors.New("fanin: channel full")

	// ErrStarted is returned by Start while a run is active.
	ErrStarted = errors.New("fanin: channel already started")
)

// A Channel is a restartable, bounded, multi-producer stream. Each call to
// [Channel.Start] begins a run with a new buffered stream for one consumer to
// read; [Channel.Shutdown] ends the run and closes that stream once every
// send in flight has returned. Many producers send concurrently with
// [Channel.Send], which waits for room, or [Channel.TrySend], which does
// not; adapters that send for the whole run keep a [Sender] instead.
//
// The current run lives behind an atomic pointer, so a call finds its run
// with one load and no lock is ever held while a send waits: Start, Shutdown
// and every other sender keep working while the buffer is full.
//
// The zero value is ready to use and has a buffer of [DefaultCapacity]; use
// [New] for another size. A Channel is safe for simultaneous use by multiple
// goroutines and must not be copied after first use. It starts no
// goroutines.
type Channel[T any] struct {
	// run is the current run's Sender: nil before the first Start, and
	// after a Shutdown the stopped run until the next Start replaces it.
	run atomic.Pointer[Sender[T]]

	capacity int  // buffer size of each run; meaningful only when sized
	sized    bool // set by New; the zero Channel uses DefaultCapacity

	stats counters // shared by every run
}

// New returns a Channel whose runs buffer up to capacity values. A capacity
// of 0 makes every send wait for the consumer, as with an unbuffered Go
// channel. New panics if capacity is negative.
func New[T any](capacity int) *Channel[T] {
	if capacity < 0 {
		panic("fanin: New called with negative capacity")
	}
	return &Channel[T]{capacity: capacity, sized: true}
}

// Start begins a new run and returns its stream, which the consumer reads
// until it is closed by [Channel.Shutdown]. Exactly one goroutine should
// read it: the stream is the fan-in point of every sender.
//
// Start returns [ErrStarted], and leaves the running run untouched, if a run
// is active. After Shutdown it may be called again: the new run has a new
// stream, and Senders of earlier runs keep returning [ErrClosed].
func (c *Channel[T]) Start() (<-chan T, error) {
	for {
		old := c.run.Load()
		if old != nil && !old.stopped() {
			return nil, ErrStarted
		}
		// The new run is complete before it is published, so no caller
		// ever sees a half-made run, and a lost race to another Start costs
		// only the discarded allocation.
		s := newSender[T](c.Cap(), &c.stats, nil, sendersPerRun())
		if old != nil {
			s.prev.Store(old)
			s.earlier(func(*Sender[T]) {}) // keeps only runs still counting
		}
		if c.run.CompareAndSwap(old, s) {
			c.stats.runs.Add(1)
			return s.stream(), nil
		}
	}
}

// Shutdown ends the current run. It stops intake at once (a send that
// overlaps Shutdown may still complete, but every Send or TrySend that
// begins after it has returned gets [ErrClosed]), wakes every Send blocked
// on a full buffer with ErrClosed, and closes the stream as soon as the
// last send in flight has returned. Values already in the buffer stay
// readable: the consumer receives them before it sees the stream closed.
//
// Shutdown does not wait for the consumer or for room in the buffer, so it
// returns promptly even when the buffer is full, nobody reads and thousands
// of senders are blocked. It returns nil once the stream is closed. If ctx
// ends first it returns ctx.Err(); the stream is still closed, by the last
// send to leave.
//
// Shutdown is idempotent and safe to call concurrently with every other
// method; a second call waits for the same close. It returns nil on a
// Channel that was never started. After Shutdown, [Channel.Start] begins a
// new run.
func (c *Channel[T]) Shutdown(ctx context.Context) error {
	s := c.run.Load()
	if s == nil {
		return nil
	}
	s.stop()
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send places v in the current run's stream, blocking while the buffer is
// full. It is [Sender.Send] on the run that is current when Send is called,
// and returns nil if and only if v was placed in that stream. Before the
// first Start it returns [ErrNotStarted].
func (c *Channel[T]) Send(ctx context.Context, v T) error {
	// A nil *Sender answers ErrNotStarted, so this needs no branch of its
	// own and stays small enough to inline.
	return c.run.Load().Send(ctx, v)
}

// TrySend places v in the current run's stream if there is room now, and
// never blocks. It is [Sender.TrySend] on the current run; before the first
// Start it returns [ErrNotStarted].
func (c *Channel[T]) TrySend(v T) error {
	return c.run.Load().TrySend(v)
}

// Sender returns a handle bound to the current run. It returns
// [ErrNotStarted] before the first Start and [ErrClosed] while the last run
// is shut down and no new one has started.
//
// A run has a fixed set of Senders, one per P (GOMAXPROCS at Start, rounded
// up to a power of two, at most 64), and Sender hands them out in turn,
// the first being the one that [Channel.Send] uses. Each counts its own
// calls in flight, so that producers that each keep the Sender they were
// given do not all write one word on every send; Shutdown waits for every
// Sender of the run. Sender allocates nothing, so it may be called per
// request.
func (c *Channel[T]) Sender() (*Sender[T], error) {
	s := c.run.Load()
	switch {
	case s == nil:
		return nil, ErrNotStarted
	case s.stopped():
		return nil, ErrClosed
	}
	return s.sender(), nil
}

// maxSenders bounds the Senders of a Channel's run.
const maxSenders = 64

// sendersPerRun returns how many Senders a Channel's run gets: GOMAXPROCS
// rounded up to a power of two, at most maxSenders.
func sendersPerRun() int {
	n := 1
	for n < runtime.GOMAXPROCS(0) && n < maxSenders {
		n *= 2
	}
	return n
}

// Len returns the number of values buffered in the current run's stream and
// not yet received, or 0 if the Channel has not been started. The result is
// a snapshot: other goroutines may change it at once.
func (c *Channel[T]) Len() int {
	if s := c.run.Load(); s != nil {
		return len(s.stream())
	}
	return 0
}

// Stats returns counters of every run of c and gauges of the current one.
// Counting costs a send that finds room nothing beyond the atomic step it
// already takes; see [Stats] for how exact a snapshot is.
func (c *Channel[T]) Stats() Stats {
	st := c.stats.read(func(st *Stats) {
		if s := c.run.Load(); s != nil {
			addRun(st, s)
			// An earlier run with sends still in flight is counted too,
			// or its count would vanish from Accepted until it finished.
			s.earlier(func(p *Sender[T]) { st.Accepted += p.accepted() })
		}
	})
	st.Capacity = c.Cap()
	return st
}

// Cap returns the buffer size of each run.
func (c *Channel[T]) Cap() int {
	if c.sized {
		return c.capacity
	}
	return DefaultCapacity
}
