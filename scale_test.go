package fanin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// acceptLog records the values whose Send or TrySend returned nil.
type acceptLog struct {
	mu  sync.Mutex
	ids map[int64]bool // guarded by mu
}

func (a *acceptLog) add(id int64) {
	a.mu.Lock()
	a.ids[id] = true
	a.mu.Unlock()
}

// TestStressIdleAdaptersChurnDeliveredIffNil: 10,000 adapters that are
// mostly idle (one in 50 sends a single value with TrySend when it starts),
// beside 8 adapters that send without pause, while other goroutines Add,
// Remove and Replace adapters of both kinds and the consumer receives.
// Every value received was accepted (its send returned nil), every accepted
// value is received exactly once, and each adapter instance's values arrive
// in the order it sent them.
//
// Under the race detector, which allows at most 8,128 live goroutines and
// makes each one several times dearer, the group has 2,000 idle adapters
// and the churn is shorter: the same interleavings of marks, idle lanes
// and lanes leaving the merge are exercised, on fewer of them.
func TestStressIdleAdaptersChurnDeliveredIffNil(t *testing.T) {
	idle, churns, busy := 10_000, 2_000, 8
	if raceEnabled {
		idle, churns = 2_000, 600
	}
	ctx := context.Background()
	accepted := &acceptLog{ids: map[int64]bool{}}
	// A value is its adapter's instance number times 2^32 plus its
	// sequence number, so that every value is unique and an instance's
	// values increase. (A name's values need not: Replace runs the new
	// instance, with a lane of its own, before it stops the old one.)
	var instances atomic.Int64
	idleAdapter := func(n int) Adapter[int64] {
		inst := instances.Add(1)
		return AdapterFunc(fmt.Sprintf("i%06d", n), func(ctx context.Context, s Sink[int64]) error {
			if n%50 == 0 {
				id := inst<<32 | 1
				if s.TrySend(id) == nil {
					accepted.add(id)
				}
			}
			<-ctx.Done()
			return nil
		})
	}
	busyAdapter := func(n int) Adapter[int64] {
		inst := instances.Add(1)
		var seq int64 // one goroutine runs an instance at a time
		return AdapterFunc(fmt.Sprintf("b%06d", n), func(ctx context.Context, s Sink[int64]) error {
			for {
				seq++
				id := inst<<32 | seq
				switch err := s.Send(ctx, id); {
				case err == nil:
					accepted.add(id)
				case errors.Is(err, ErrClosed), errors.Is(err, context.Canceled):
					return nil
				default:
					return fmt.Errorf("Send = %v", err)
				}
			}
		})
	}

	var g Group[int64]
	for n := range idle {
		if err := g.Add(ctx, idleAdapter(n)); err != nil {
			t.Fatalf("Add = %v, want nil", err)
		}
	}
	for n := range busy {
		if err := g.Add(ctx, busyAdapter(idle+n), WithLane(1+n*8, 1+n%3)); err != nil {
			t.Fatalf("Add = %v, want nil", err)
		}
	}
	stream, err := g.Start(ctx)
	if err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}

	var received []int64
	consumer := make(chan error, 1)
	go func() {
		for {
			v, err := stream.Recv(ctx)
			if err != nil {
				if err != ErrClosed {
					consumer <- err
				} else {
					consumer <- stream.Err()
				}
				return
			}
			received = append(received, v)
		}
	}()

	// Two goroutines churn: each removes a random idle adapter and adds a
	// new one, replaces a random idle adapter, and now and then replaces a
	// busy one, whose replacement goes on with the name's sequence.
	var churn sync.WaitGroup
	var nextName atomic.Int64
	nextName.Store(int64(idle + busy))
	for w := range 2 {
		churn.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 19))
			for i := range churns / 2 {
				victim := r.IntN(idle)
				switch err := g.Remove(ctx, fmt.Sprintf("i%06d", victim)); {
				case err == nil, errors.Is(err, ErrNoAdapter): // the other churner took it
				default:
					t.Errorf("Remove = %v", err)
				}
				if err := g.Add(ctx, idleAdapter(int(nextName.Add(1)))); err != nil {
					t.Errorf("Add = %v, want nil", err)
				}
				if err := g.Replace(ctx, idleAdapter(r.IntN(idle))); err != nil && !errors.Is(err, ErrNoAdapter) {
					t.Errorf("Replace = %v", err)
				}
				if i%10 == 0 {
					n := idle + r.IntN(busy)
					if err := g.Replace(ctx, busyAdapter(n), WithLane(1+r.IntN(16), 1+r.IntN(3))); err != nil && !errors.Is(err, ErrNoAdapter) {
						t.Errorf("Replace = %v", err)
					}
				}
			}
		})
	}
	churn.Wait()
	// Let values flow a little longer, with every lane in place.
	deadline := time.Now().Add(time.Minute)
	for g.Stats().Accepted < uint64(churns)*20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a wait for the flow, not a synchronisation
	}
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	if err := <-consumer; err != nil {
		t.Fatalf("the consumer ended with %v, want ErrClosed and no failure", err)
	}

	accepted.mu.Lock()
	defer accepted.mu.Unlock()
	seen := make(map[int64]bool, len(received))
	last := map[int64]int64{}
	for _, v := range received {
		if seen[v] {
			t.Fatalf("value %#x received twice", v)
		}
		seen[v] = true
		if !accepted.ids[v] {
			t.Fatalf("value %#x received, but its send did not return nil", v)
		}
		inst, s := v>>32, v&(1<<32-1)
		if s <= last[inst] {
			t.Fatalf("instance %d: value %d received after %d", inst, s, last[inst])
		}
		last[inst] = s
	}
	for id := range accepted.ids {
		if !seen[id] {
			t.Fatalf("value %#x accepted (its send returned nil) but never received", id)
		}
	}
	if st := g.Stats(); st.Accepted != uint64(len(received)) {
		t.Errorf("Stats().Accepted = %d, want the %d received", st.Accepted, len(received))
	}
	if len(received) < churns*20 {
		t.Errorf("received %d values, want at least %d: the flow stalled", len(received), churns*20)
	}
	t.Logf("%d idle adapters, %d churn steps, %d values received", idle, churns, len(received))
}

// TestStreamWeightedOrderAmongIdleLanes: 3,000 idle lanes between three
// backlogged ones of weights 1, 2 and 3 change nothing in the order of
// turns: each round, in slot order, a gives turn values, b 2*turn and c
// 3*turn, exactly.
func TestStreamWeightedOrderAmongIdleLanes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		idle := func(name string) Adapter[string] {
			return AdapterFunc(name, func(ctx context.Context, s Sink[string]) error {
				<-ctx.Done()
				return nil
			})
		}
		// Names sort as: a, idle, b, idle, c, idle.
		for i := range 1000 {
			mustAdd(t, g, idle(fmt.Sprintf("a-idle%04d", i)))
			mustAdd(t, g, idle(fmt.Sprintf("b-idle%04d", i)))
			mustAdd(t, g, idle(fmt.Sprintf("c-idle%04d", i)))
		}
		mustAdd(t, g, flooder("a"), WithLane(16, 1))
		mustAdd(t, g, flooder("b"), WithLane(16, 2))
		mustAdd(t, g, flooder("c"), WithLane(16, 3))
		stream := mustGroupStart(t, g)
		synctest.Wait() // every busy lane is full, every flooder blocked
		var want, got []string
		for range 3 {
			for _, w := range []struct {
				name   string
				weight int
			}{{"a", 1}, {"b", 2}, {"c", 3}} {
				for range w.weight * turn {
					want = append(want, w.name)
				}
			}
		}
		for range len(want) {
			got = append(got, recv(t, stream))
			synctest.Wait() // the flooder refills: every busy lane stays backlogged
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("order of three rounds (-want +got):\n%s", diff)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestReadySetFind checks readySet.next against a plain scan, for random
// sets across chunk boundaries, from every kind of starting slot.
func TestReadySetFind(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 1))
	for round := range 200 {
		n := 1 + r.IntN(3*chunkSlots)
		var rs readySet
		rs.grow(n)
		set := make([]bool, n)
		for range r.IntN(8) {
			i := r.IntN(n)
			set[i] = true
			rs.markFor(i, nil).setBits()
		}
		// Some bits set and cleared again leave stale summary bits.
		for range r.IntN(4) {
			i := r.IntN(n)
			if !set[i] {
				rs.markFor(i, nil).setBits()
				rs.clear(i)
			}
		}
		for range 20 {
			pos := r.IntN(n)
			want := -1
			for k := 1; k <= n; k++ {
				if i := (pos + k) % n; set[i] {
					want = i
					break
				}
			}
			if got := rs.next(pos, n); got != want {
				t.Fatalf("round %d: next(%d, %d) = %d, want %d", round, pos, n, got, want)
			}
		}
	}
}

// TestStreamIdleReadyNeverLosesAWakeUp: two adapters each send one value,
// then wait until the consumer has received it before they send the next,
// so that their lanes turn ready and idle again on every value, and the
// consumer finds a lane empty just as its sender places a value over and
// over. A mark lost in that race would leave a value in a lane with the
// consumer asleep: Recv would wait until its bound (a minute, far beyond
// any scheduling delay) and the test fails.
func TestStreamIdleReadyNeverLosesAWakeUp(t *testing.T) {
	rounds := 20_000
	if raceEnabled {
		rounds = 5_000
	}
	ctx := context.Background()
	var g Group[int]
	acks := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	for a := range 2 {
		mustAdd(t, &g, AdapterFunc(fmt.Sprint("p", a), func(ctx context.Context, s Sink[int]) error {
			for i := range rounds {
				if err := s.Send(ctx, a*rounds+i); err != nil {
					return nil
				}
				select {
				case <-acks[a]:
				case <-ctx.Done():
					return nil
				}
			}
			<-ctx.Done()
			return nil
		}))
	}
	stream := mustGroupStart(t, &g)
	next := [2]int{}
	for range 2 * rounds {
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		v, err := stream.Recv(rctx)
		cancel()
		if err != nil {
			t.Fatalf("Recv = %v after %d values, want a value: a wake-up was lost", err, next[0]+next[1])
		}
		a := v / rounds
		if v%rounds != next[a] {
			t.Fatalf("adapter %d: received %d, want %d", a, v%rounds, next[a])
		}
		next[a]++
		acks[a] <- struct{}{}
	}
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	if rest := drainStream(stream); len(rest) != 0 {
		t.Errorf("%d values left after every one was received", len(rest))
	}
}

// TestStreamIdleSeesWhatASenderPlacedWhileMarked plays the race between a
// consumer that found a lane empty and a sender, one step at a time: the
// sender places a value while the lane is still marked, so it does not
// mark it again; the consumer's unmarking must then find that value. And
// the same with the close: Shutdown closes the lane while it is marked, and
// the unmarking must find the lane closed, or the stream would never end.
func TestStreamIdleSeesWhatASenderPlacedWhileMarked(t *testing.T) {
	ctx := context.Background()
	var g Group[int]
	sinks := make(chan Sink[int], 1)
	mustAdd(t, &g, AdapterFunc("a", func(ctx context.Context, s Sink[int]) error {
		sinks <- s
		<-ctx.Done()
		return nil
	}))
	st := mustGroupStart(t, &g)
	sink := <-sinks
	var l *lane[int]
	st.mu.Lock()
	for _, x := range st.lanes {
		if x != nil && Sink[int](x.s) == sink {
			l = x
		}
	}
	st.mu.Unlock()
	if l == nil {
		t.Fatal("the adapter's lane is not in the stream")
	}

	if err := sink.Send(ctx, 1); err != nil {
		t.Fatalf("Send = %v, want nil", err)
	}
	if v := recv(t, st); v != 1 { // the lane is empty now, and still marked
		t.Fatalf("Recv = %d, want 1", v)
	}
	if err := sink.Send(ctx, 2); err != nil { // sees the mark: does not mark
		t.Fatalf("Send = %v, want nil", err)
	}
	st.mu.Lock()
	v, got, closed := st.idle(l)
	st.mu.Unlock()
	if !got || closed || v != 2 {
		t.Fatalf("idle = %d, %v, %v; want 2, true, false: the value placed while the lane was marked", v, got, closed)
	}
	if !l.s.mark.ready.Load() {
		t.Error("the lane is unmarked after idle found a value in it")
	}

	// Marked and empty again; Shutdown closes the lane, whose finish sees
	// the mark and does not set it again.
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	st.mu.Lock()
	_, got, closed = st.idle(l)
	st.mu.Unlock()
	if got || !closed {
		t.Fatalf("idle after Shutdown = %v, %v; want false, true: the close", got, closed)
	}
	if rest := drainStream(st); len(rest) != 0 {
		t.Errorf("received %v after every value was taken, want none", rest)
	}
}
