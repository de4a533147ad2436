package fanin

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Stats describes a stream: a [Channel] across all its runs, or one lane
// of a [Group]. It is a snapshot taken without stopping any sender, in the
// spirit of database/sql's DBStats: counters that only grow, and gauges of
// the moment.
//
// The values sent by a run are counted in Accepted as they are placed,
// including those of a run that has been shut down but still has sends in
// flight while a newer run begins, and a counter never falls between two
// snapshots. Once Shutdown has returned and no run is active, every counter
// is exact.
type Stats struct {
	Capacity int // buffer size of the current run (for a Group: summed over its lanes)
	Len      int // values buffered now and not yet received
	Runs     int // runs begun: calls of Start that succeeded

	Accepted uint64 // values placed in the stream: sends that returned nil

	// Refusals by reason. Each counts calls that returned the error named.
	Full        uint64 // TrySend found no room: ErrFull
	Closed      uint64 // the run was shut down: ErrClosed (on entry or while waiting)
	Canceled    uint64 // the caller's context ended: ctx.Err()
	RateLimited uint64 // SendBatch refused by its Limiter: ErrRateLimited

	Waited   uint64        // sends that found the buffer full and waited, whatever the outcome
	WaitTime time.Duration // total time those sends spent waiting
	Blocked  int           // sends waiting for room now
}

// counters are the shared, slow-path counters behind a Stats. Only refusals
// and waits touch them while a run is active; the fast path of a send that
// finds room does not.
type counters struct {
	accepted    atomic.Uint64 // of runs that have finished
	runs        atomic.Int64
	full        atomic.Uint64
	closed      atomic.Uint64
	canceled    atomic.Uint64
	rateLimited atomic.Uint64
	waited      atomic.Uint64
	waitNanos   atomic.Int64
	blocked     atomic.Int64

	// A run that finishes moves its accepted count into accepted. A
	// snapshot that saw the run finished but read accepted before the move
	// would miss the whole run for a moment, and a counter that dips reads
	// as a reset to whoever computes a rate. So finish counts itself in
	// finishing for the move and then bumps finishes, and read retries
	// while a move is under way or happened during its reads: a seqlock
	// that admits several writers, which runs sharing these counters are.
	finishing atomic.Int64
	finishes  atomic.Uint64
}

// moveAccepted adds n, the final count of a run that is being marked
// finished by mark, to the totals, as one step for read.
func (c *counters) moveAccepted(mark func(), n func() uint64) {
	c.finishing.Add(1)
	mark()
	c.accepted.Add(n())
	c.finishes.Add(1)
	c.finishing.Add(-1)
}

// read returns the counters as a Stats, with live adding what runs not yet
// finished hold, such that no run is counted twice or missed: it retries
// while a run is moving its count into the totals. A move is two atomic
// steps, so a retry waits at most for a finishing goroutine to be
// scheduled again.
func (c *counters) read(live func(*Stats)) Stats {
	for {
		gen := c.finishes.Load()
		if c.finishing.Load() != 0 {
			runtime.Gosched()
			continue
		}
		st := c.snapshot()
		if live != nil {
			live(&st)
		}
		if c.finishing.Load() == 0 && c.finishes.Load() == gen {
			return st
		}
	}
}

// snapshot returns the counters as a Stats, without the gauges of a run.
func (c *counters) snapshot() Stats {
	return Stats{
		Runs:        int(c.runs.Load()),
		Accepted:    c.accepted.Load(),
		Full:        c.full.Load(),
		Closed:      c.closed.Load(),
		Canceled:    c.canceled.Load(),
		RateLimited: c.rateLimited.Load(),
		Waited:      c.waited.Load(),
		WaitTime:    time.Duration(c.waitNanos.Load()),
		Blocked:     int(c.blocked.Load()),
	}
}

// addRun adds the gauges and the not yet finished count of run s to st.
// It is called within counters.read, which sees to it that a run that
// finishes meanwhile is neither missed nor counted twice.
func addRun[T any](st *Stats, s *Sender[T]) {
	st.Capacity += s.capacity
	st.Len += len(s.stream()) // a finished run may still hold values for the consumer
	if !s.isFinished() {
		st.Accepted += s.accepted()
	}
}

// add adds the counters and gauges of o to st.
func (st *Stats) add(o Stats) {
	st.Capacity += o.Capacity
	st.Len += o.Len
	st.Accepted += o.Accepted
	st.Full += o.Full
	st.Closed += o.Closed
	st.Canceled += o.Canceled
	st.RateLimited += o.RateLimited
	st.Waited += o.Waited
	st.WaitTime += o.WaitTime
	st.Blocked += o.Blocked
}
