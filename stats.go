package fanin

import (
	"sync/atomic"
	"time"
)

// Stats describes a stream: a [Channel] across all its runs, or one lane
// of a [Group]. It is a snapshot taken without stopping any sender, in the
// spirit of database/sql's DBStats: counters that only grow, and gauges of
// the moment.
//
// The values sent by a run are counted in Accepted as they are placed; a
// run that has been shut down but still has sends in flight while a newer
// run begins may have its last values counted a moment late. Once Shutdown
// has returned and no run is active, every counter is exact.
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
// The totals in st must have been read before s's state: a run that
// finishes in between is then missed for a moment, never counted twice.
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
