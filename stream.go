package fanin

import (
	"container/heap"
	"context"
	"iter"
	"sync"
	"sync/atomic"
)

// A Stream is the consumer's side of one run of a [Group]: every adapter
// sends into a lane of its own, and [Stream.Recv] takes from the lanes in a
// weighted round-robin order, so that an adapter that floods fills only its
// own lane and the others keep their turns. Within one lane, values are
// received in the order they were sent.
//
// The consumer pulls: Recv runs the fair merge in the consumer's own
// goroutine. A merge goroutine feeding a Go channel would have to hold a
// value it took from a lane until the consumer read it, so it could not end
// before the consumer did, and Shutdown would either wait for the consumer
// or leave the goroutine behind. With Recv, Shutdown only stops intake, and
// the consumer goes on receiving what was accepted, then sees the end.
//
// A Stream is safe for simultaneous use by multiple goroutines, although
// one consumer is the usual design: the order is fair per Recv call, not
// per goroutine.
type Stream[T any] struct {
	// wake holds a token when a lane may have turned ready since the
	// consumer last looked: a lane's mark adds one when it marks an idle
	// lane ready, and when the lane closes. One slot suffices, because a
	// consumer that takes the token looks at every ready lane.
	wake chan struct{}

	// waiting counts Recv calls blocked on wake. A Recv that takes a value
	// passes a token on when others wait, since one token may stand for
	// several values.
	waiting atomic.Int32

	mu       sync.Mutex
	ready    readySet   // which slots may hold values; the set's growth is guarded by mu
	lanes    []*lane[T] // by slot, nil where free; guarded by mu
	free     slotHeap   // free slots below len(lanes); guarded by mu
	live     int        // lanes in the merge: not yet closed and drained; guarded by mu
	pruned   int        // live after newLane last let go of closed lanes; guarded by mu
	cur      *lane[T]   // the lane whose turn it is; nil once that turn ended; guarded by mu
	pos      int        // the slot of the latest turn; guarded by mu
	credit   int        // values cur may still give in its turn; guarded by mu
	stopping bool       // no lane will be added; guarded by mu
	err      error      // the failure that ended the run; guarded by mu
}

// A lane is one adapter's (or the injection point's) buffer in a run, at
// one slot of the Stream: lanes take their turns in the order of their
// slots, and a new lane takes the lowest free one.
type lane[T any] struct {
	s      *Sender[T]
	weight int
	slot   int
	ch     chan T // s's buffer once made; guarded by Stream.mu
}

// stream returns l's buffer, or nil while its sender has not made it. The
// consumer keeps its own copy, so that a receive does not first read the
// Sender, whose state word its senders write on every send: the cache line
// would then move between their cores on every value. It requires that
// Stream.mu is held.
func (l *lane[T]) stream() chan T {
	if l.ch == nil {
		l.ch = l.s.stream()
	}
	return l.ch
}

func newStream[T any]() *Stream[T] {
	return &Stream[T]{wake: make(chan struct{}, 1)}
}

// newLane adds a lane of the given capacity and weight to the merge and
// returns its Sender, whose counters are stats. It also lets go of lanes
// that are closed and drained, which the consumer would drop when it next
// looked, so that a run with many Replaces and a consumer that is not
// reading holds only the lanes that matter: it looks each time the number
// of lanes has doubled, so that adding n lanes costs O(n) and not O(n²).
func (st *Stream[T]) newLane(capacity int, stats *counters, weight int) *Sender[T] {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.live >= 2*st.pruned {
		for _, l := range st.lanes {
			if l != nil && l.s.isFinished() && len(l.s.stream()) == 0 {
				st.remove(l)
			}
		}
		st.pruned = max(st.live, 8)
	}
	slot := len(st.lanes)
	if st.free.Len() > 0 {
		slot = heap.Pop(&st.free).(int)
	} else {
		st.lanes = append(st.lanes, nil)
		st.ready.grow(len(st.lanes))
	}
	s := newSender[T](capacity, stats, st.ready.markFor(slot, st.wake), 1)
	st.lanes[slot] = &lane[T]{s: s, weight: weight, slot: slot}
	st.live++
	return s
}

// remove takes lane l out of the merge and frees its slot. A mark that l's
// sender sets later (the one after its stream closed) then marks a free
// slot, or a later lane's, which costs that lane one look. It requires
// that st.mu is held.
func (st *Stream[T]) remove(l *lane[T]) {
	st.ready.clear(l.slot)
	st.lanes[l.slot] = nil
	heap.Push(&st.free, l.slot)
	st.live--
	if st.cur == l {
		st.cur = nil // the next ready lane takes the turn, afresh
	}
}

// stop records that no lane will be added, and wakes the consumer so that
// it can see the end once every lane is drained.
func (st *Stream[T]) stop() {
	st.mu.Lock()
	st.stopping = true
	st.mu.Unlock()
	st.poke()
}

// fail records err as the failure that ended the run, before stop.
func (st *Stream[T]) fail(err error) {
	st.mu.Lock()
	st.err = err
	st.mu.Unlock()
}

// Err returns the failure that ended the run: an [*AdapterError] naming
// the adapter whose escalation shut the run down (see [WithIntensity]), or
// nil while the run goes on and after an ordinary [Group.Shutdown]. A
// consumer reads it once [Stream.Recv] has returned [ErrClosed] (or the
// loop over [Stream.All] has ended), as it reads bufio.Scanner's Err: the
// values accepted before the failure have all been received by then. The
// group itself is not running any more; [Group.Shutdown] waits for its
// adapters, and [Group.Start] begins a new run.
func (st *Stream[T]) Err() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

func (st *Stream[T]) poke() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// Recv returns the next value, waiting until one is accepted into some
// lane. Once the run has been shut down and every value accepted before has
// been received, Recv returns [ErrClosed]; if ctx ends first it returns
// ctx.Err(). A value that Recv returns is removed from its lane; one it does
// not return stays there.
func (st *Stream[T]) Recv(ctx context.Context) (T, error) {
	for {
		v, ok, end := st.next()
		if ok {
			if st.waiting.Load() > 0 {
				st.poke()
			}
			return v, nil
		}
		if end {
			st.poke() // other Recv calls see the end too
			var zero T
			return zero, ErrClosed
		}
		st.waiting.Add(1)
		// Look once more now that we count as waiting: a value placed
		// after next looked, whose token a concurrent Recv took, is seen
		// here, or that Recv passes its token on.
		v, ok, end = st.next()
		if ok || end {
			st.waiting.Add(-1)
			if ok {
				return v, nil
			}
			continue
		}
		select {
		case <-st.wake:
			st.waiting.Add(-1)
		case <-ctx.Done():
			st.waiting.Add(-1)
			var zero T
			return zero, ctx.Err()
		}
	}
}

// All returns an iterator over the values of the run, in the order Recv
// gives them. It ends when the run has been shut down and every accepted
// value has been received, or when the loop body breaks.
func (st *Stream[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		for {
			v, err := st.Recv(context.Background())
			if err != nil || !yield(v) {
				return
			}
		}
	}
}

// Len returns the number of values in the run's lanes, not yet received.
func (st *Stream[T]) Len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for _, l := range st.lanes {
		if l != nil {
			n += len(l.s.stream())
		}
	}
	return n
}

// next takes the next value in weighted round-robin order without waiting.
// It reports end once the run is stopping and every lane is drained.
//
// The lane whose turn it is gives up to weight*turn values in a row; an
// empty lane passes its turn at once, to the next lane in slot order that
// is marked ready. So while every lane has values waiting, lane i receives
// weight_i*turn of every sum(weight)*turn values, and a lane with nothing
// to give costs the others nothing: an idle lane is not looked at, so the
// cost of a value does not grow with the number of idle adapters.
//
// The design this replaced looked at every lane in turn, and an empty lane
// still cost a look: with 10,000 idle lanes beside one busy one, a value
// cost about 100 times as much as with none (BenchmarkIdleLanes). A queue of ready lanes in the
// order they turned ready was rejected because it changes the order of
// turns with the timing of the senders; the marks keep the slot order.
func (st *Stream[T]) next() (v T, ok, end bool) {
	st.mu.Lock()
	v, ok, end = st.nextLocked()
	st.mu.Unlock() // without defer: nothing under the lock can panic
	return v, ok, end
}

// nextLocked is next with st.mu held.
func (st *Stream[T]) nextLocked() (v T, ok, end bool) {
	for {
		if l := st.cur; l != nil && st.credit > 0 {
			v, got, closed := st.take(l)
			if got {
				st.credit--
				return v, true, false
			}
			if closed {
				st.remove(l) // closed and drained: the lane leaves the merge
			}
			st.cur = nil // idle or gone: its turn ends
		}
		i := st.ready.next(st.pos, len(st.lanes))
		if i < 0 {
			return v, false, st.stopping && st.live == 0
		}
		l := st.lanes[i]
		if l == nil {
			st.ready.clear(i) // a late mark of a lane that has left
			continue
		}
		st.cur, st.pos, st.credit = l, i, l.weight*turn
	}
}

// take receives a value from lane l without waiting. If l is empty it
// unmarks l, and reports closed if l is closed and drained. It requires
// that st.mu is held.
func (st *Stream[T]) take(l *lane[T]) (v T, got, closed bool) {
	select {
	case v, open := <-l.stream():
		return v, open, !open
	default:
	}
	return st.idle(l)
}

// idle unmarks lane l, which take found empty, and then looks at it once
// more. It requires that st.mu is held.
//
// Unmarking races with senders, who mark the lane after they placed a
// value only if they see it unmarked. So idle clears the ready bit, then
// the flag, with a swap that reads the latest write to it, then loads the
// sender's state word, and only then looks at the buffer again: a sender
// whose count that load saw has its value visible to the second look; one
// whose count it missed counts after the swap, and so sees the flag clear
// and marks the lane itself. The same holds for the close: finish swaps the
// flag after it closed the stream, so either the second look sees the
// close or finish marks the lane. A value or a close found on the second
// look is taken here, and the lane marked again.
func (st *Stream[T]) idle(l *lane[T]) (v T, got, closed bool) {
	m := l.s.mark
	st.ready.clear(l.slot)
	m.ready.Swap(false)
	l.s.state.Load()
	select {
	case v, open := <-l.stream():
		if open {
			m.rearm()
		}
		return v, open, !open
	default:
	}
	return v, false, false
}

// turn is how many values a lane of weight 1 gives in a row; weight w gives
// w*turn. Taking several values from one lane before moving on keeps the
// consumer on one channel, whose lock and buffer are then warm in its
// cache: on a 16-core machine this made the merge of 4 and 16 adapters
// 30-70% cheaper than one value a turn, and kept the shares exact over
// every round.
const turn = 16
