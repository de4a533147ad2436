package fanin

import (
	"context"
	"sync"
	"sync/atomic"
)

// Bits of Sender.state. The low bits count the calls in flight.
const (
	// stopping is set once by Shutdown: from then on no call may enter.
	stopping uint64 = 1 << 63
	// finished is set once, by whoever closes the stream.
	finished uint64 = 1 << 62
)

// A Sender sends into one run of a [Channel]: the stream returned by the
// [Channel.Start] call that began the run. Adapters take one with
// [Channel.Sender] and keep it for the life of the run; once that run is shut
// down every method returns [ErrClosed] and [Sender.Done] is closed, even if
// the Channel has been started again. A Sender never delivers into a later
// run.
//
// A Sender is safe for simultaneous use by multiple goroutines. Its zero
// value is not bound to any run: its Send and TrySend return [ErrNotStarted]
// and its Done returns nil.
type Sender[T any] struct {
	// stream is the run's buffered Go channel. It is closed exactly once, by
	// whoever moves state to stopping|finished, and only when no call is in
	// flight, so a send on it can never panic.
	stream chan T

	// done is closed by the Shutdown that sets stopping. Every blocked Send
	// selects on it, which is how Shutdown wakes them without touching the
	// stream.
	done chan struct{}

	// drained is closed right after stream: Shutdown waits on it.
	drained chan struct{}

	stopOnce sync.Once // runs stop's steps once

	// state holds the stopping and finished bits and the number of calls in
	// flight. Every call adds one before it looks at the stream and removes
	// it when it no longer will; one word makes "is it stopping?" and "count
	// me in" a single atomic step, so no call can slip past a Shutdown.
	//
	// A sync.RWMutex read-locked around the send would give the same
	// exclusion, but only if it is held across the blocking send, which is
	// the deadlock this package exists to prevent.
	state atomic.Uint64
}

func newSender[T any](capacity int) *Sender[T] {
	return &Sender[T]{
		stream:  make(chan T, capacity),
		done:    make(chan struct{}),
		drained: make(chan struct{}),
	}
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
	if s == nil || s.done == nil {
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
			return ctx.Err()
		default:
		}
	}
	// The common case, room in the buffer, costs one non-blocking send; the
	// select below, with its extra channels, runs only when we must wait.
	select {
	case s.stream <- v:
		s.exit()
		return nil
	default:
	}
	var err error
	select {
	case s.stream <- v:
	case <-s.done:
		err = ErrClosed
	case <-ctx.Done():
		err = ctx.Err()
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
	if s == nil || s.done == nil {
		return ErrNotStarted
	}
	if s.enter() {
		return ErrClosed
	}
	var err error
	select {
	case s.stream <- v:
	default:
		err = ErrFull
	}
	s.exit()
	return err
}

// Done returns a channel that is closed when the Sender's run is shut down.
// Adapters select on it to stop producing. It returns nil for the zero
// Sender.
func (s *Sender[T]) Done() <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.done
}

// enter counts a call in and reports whether the run is stopping, in which
// case the call must return ErrClosed without touching the stream; enter
// has already counted it out again.
func (s *Sender[T]) enter() (stopped bool) {
	if s.state.Add(1)&stopping != 0 {
		s.exit()
		return true
	}
	return false
}

// exit counts a call out. The call that leaves the run stopping with
// nothing in flight closes the stream.
func (s *Sender[T]) exit() {
	if s.state.Add(^uint64(0)) == stopping {
		s.finish()
	}
}

// stop marks the run stopping and wakes every blocked Send. It never
// blocks for long: a concurrent stop waits only for the first to finish
// these three steps, so that whichever Shutdown returns, Done is closed.
func (s *Sender[T]) stop() {
	s.stopOnce.Do(func() {
		// done is closed first, so that the stream (and drained) can
		// never be closed before it.
		close(s.done)
		s.state.Or(stopping)
		// Calls in flight see the stream closed by the last of them to
		// leave; if there are none, nobody else will close it.
		s.finish()
	})
}

// finish closes the stream if the run is stopping, nothing is in flight and
// nobody closed it yet. The compare-and-swap makes the close happen once,
// although the in-flight count may fall to zero many times after stopping
// (each late call enters, sees stopping and leaves).
func (s *Sender[T]) finish() {
	if s.state.CompareAndSwap(stopping, stopping|finished) {
		close(s.stream)
		close(s.drained)
	}
}

// stopped reports whether Shutdown has marked this run stopping.
func (s *Sender[T]) stopped() bool {
	return s.state.Load()&stopping != 0
}
