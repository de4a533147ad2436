package fanin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// flooder sends its name as fast as its lane takes it, until stopped.
func flooder(name string) Adapter[string] {
	return AdapterFunc(name, func(ctx context.Context, s Sink[string]) error {
		for {
			if err := s.Send(ctx, name); err != nil {
				return nil
			}
		}
	})
}

// TestStreamWeightedShare: with both lanes backlogged and weights 1:3, the
// consumer's split is exactly 25%/75%: each round, a gives turn values and
// then b gives 3*turn.
func TestStreamWeightedShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		mustAdd(t, g, flooder("a"), WithLane(16, 1))
		mustAdd(t, g, flooder("b"), WithLane(16, 3))
		stream := mustGroupStart(t, g)
		synctest.Wait() // both lanes are full, both flooders blocked
		const rounds = 64
		counts := map[string]int{}
		var first []string
		for i := range rounds * 4 * turn {
			v := recv(t, stream)
			counts[v]++
			if i < 4*turn {
				first = append(first, v)
			}
			synctest.Wait() // let the flooder refill its lane: both stay backlogged
		}
		if counts["a"] != rounds*turn || counts["b"] != rounds*3*turn {
			t.Errorf("split %v, want a %d (25%%) and b %d (75%%)", counts, rounds*turn, rounds*3*turn)
		}
		// Lanes take their turns in name order: a gives turn values, b 3*turn.
		var want []string
		for range turn {
			want = append(want, "a")
		}
		for range 3 * turn {
			want = append(want, "b")
		}
		if diff := cmp.Diff(want, first); diff != "" {
			t.Errorf("order of the first round (-want +got):\n%s", diff)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
	})
}

// TestStreamTickerNotStarvedByFlood: a flooder at full speed cannot take
// the room of a 100-a-second ticker that uses TrySend: the ticker's values
// are all accepted and all received.
func TestStreamTickerNotStarvedByFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tried, refused atomic.Int64
		ticker := AdapterFunc("ticker", func(ctx context.Context, s Sink[string]) error {
			tk := time.NewTicker(10 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-tk.C:
				}
				tried.Add(1)
				if s.TrySend("tick") != nil {
					refused.Add(1)
				}
			}
		})
		g := &Group[string]{}
		for i := range 3 {
			mustAdd(t, g, flooder(fmt.Sprint("flood", i)))
		}
		mustAdd(t, g, ticker)
		stream := mustGroupStart(t, g)
		received := map[string]int{}
		consumer := goCall(func() error {
			for v := range stream.All() {
				received[v]++
				time.Sleep(time.Millisecond) // an agent slower than the flood
			}
			return nil
		})
		time.Sleep(10 * time.Second)
		g.Shutdown(context.Background())
		<-consumer.ch
		if tried.Load() < 999 {
			t.Fatalf("the ticker tried %d sends in 10s, want 1000", tried.Load())
		}
		if refused.Load()*100 > tried.Load() {
			t.Errorf("the ticker had %d of %d sends refused, want under 1%%", refused.Load(), tried.Load())
		}
		if int64(received["tick"]) != tried.Load()-refused.Load() {
			t.Errorf("received %d ticks, want the %d accepted", received["tick"], tried.Load()-refused.Load())
		}
	})
}

// TestStreamOrderWithinLane: values of one lane come out in the order they
// were sent, however the lanes interleave.
func TestStreamOrderWithinLane(t *testing.T) {
	var g Group[string]
	for i := range 4 {
		name := fmt.Sprint("s", i)
		mustAdd(t, &g, AdapterFunc(name, func(ctx context.Context, s Sink[string]) error {
			for j := range 500 {
				if err := s.Send(ctx, fmt.Sprintf("%s:%04d", name, j)); err != nil {
					return err
				}
			}
			<-ctx.Done()
			return nil
		}), WithLane(1+i*3, 1+i))
	}
	stream := mustGroupStart(t, &g)
	last := map[string]string{}
	for range 2000 {
		v := recv(t, stream)
		name := v[:2]
		if prev, ok := last[name]; ok && v <= prev {
			t.Fatalf("%s came after %s", v, prev)
		}
		last[name] = v
	}
	g.Shutdown(context.Background())
	drainStream(stream)
}

// TestGroupShutdownThousandBlockedAcrossLanes: every lane full, nobody
// reading, 1000 senders blocked across 10 adapters. Shutdown returns
// without any fake time passing, every blocked sender returns ErrClosed,
// and the consumer then receives exactly what was accepted.
func TestGroupShutdownThousandBlockedAcrossLanes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var accepted, closed atomic.Int64
		g := &Group[int]{}
		for a := range 10 {
			g.Add(context.Background(), AdapterFunc(fmt.Sprint("a", a), func(ctx context.Context, s Sink[int]) error {
				var wg sync.WaitGroup
				for i := range 100 + 8 { // 8 fill the lane, 100 block
					wg.Go(func() {
						switch err := s.Send(ctx, a*1000+i); err {
						case nil:
							accepted.Add(1)
						case ErrClosed:
							closed.Add(1)
						default:
							t.Errorf("Send = %v", err)
						}
					})
				}
				wg.Wait()
				return nil
			}), WithLane(8, 1))
		}
		stream, _ := g.Start(context.Background())
		synctest.Wait()
		if st := g.Stats(); st.Blocked != 1000 || st.Len != 80 {
			t.Fatalf("before Shutdown: %d blocked and %d buffered, want 1000 and 80", st.Blocked, st.Len)
		}
		start := time.Now()
		if err := g.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Shutdown took %v of fake time, want 0", d)
		}
		if accepted.Load() != 80 || closed.Load() != 1000 {
			t.Errorf("%d accepted and %d closed, want 80 and 1000", accepted.Load(), closed.Load())
		}
		if got := drainStream(stream); len(got) != 80 {
			t.Errorf("received %d values, want the 80 accepted", len(got))
		}
		st := g.Stats()
		if st.Accepted != 80 || st.Closed != 1000 || st.Blocked != 0 || st.Waited != 1000 {
			t.Errorf("stats %+v, want 80 accepted, 1000 closed, 1000 waited, 0 blocked", st)
		}
	})
}

// TestStreamRecv covers Recv's own outcomes: a ctx that ends, the end of
// the run for every caller, and several consumers at once.
func TestStreamRecv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[int]{}
		stream, _ := g.Start(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := stream.Recv(ctx); err != context.DeadlineExceeded {
			t.Errorf("Recv on an idle stream = %v, want DeadlineExceeded", err)
		}

		// Three consumers wait; 300 injected values reach them, once each.
		var mu sync.Mutex
		got := map[int]int{}
		var consumers sync.WaitGroup
		for range 3 {
			consumers.Go(func() {
				for {
					v, err := stream.Recv(context.Background())
					if err != nil {
						if err != ErrClosed {
							t.Errorf("Recv = %v, want ErrClosed at the end", err)
						}
						return
					}
					mu.Lock()
					got[v]++
					mu.Unlock()
				}
			})
		}
		synctest.Wait()
		s, _ := g.Sender()
		for i := range 300 {
			if err := s.Send(context.Background(), i); err != nil {
				t.Fatalf("Send(%d) = %v", i, err)
			}
			if i%7 == 0 {
				synctest.Wait()
			}
		}
		g.Shutdown(context.Background())
		consumers.Wait()
		if len(got) != 300 {
			t.Errorf("received %d distinct values, want 300", len(got))
		}
		for v, n := range got {
			if n != 1 {
				t.Errorf("%d received %d times", v, n)
			}
		}
		if _, err := stream.Recv(context.Background()); err != ErrClosed {
			t.Errorf("Recv after the end = %v, want ErrClosed", err)
		}
		if err := s.TrySend(1); err != ErrClosed {
			t.Errorf("TrySend on the group's Sender after Shutdown = %v, want ErrClosed", err)
		}
	})
}

// TestGroupSenderStates: Sender before the first Start, while running and
// between runs.
func TestGroupSenderStates(t *testing.T) {
	var g Group[int]
	if _, err := g.Sender(); err != ErrNotStarted {
		t.Errorf("Sender before Start = %v, want ErrNotStarted", err)
	}
	stream, _ := g.Start(context.Background())
	if _, err := g.Sender(); err != nil {
		t.Errorf("Sender while running = %v, want nil", err)
	}
	g.Shutdown(context.Background())
	drainStream(stream)
	if _, err := g.Sender(); err != ErrClosed {
		t.Errorf("Sender after Shutdown = %v, want ErrClosed", err)
	}
}

// TestGroupStressDeliveredIffNil: senders in many lanes, random
// cancellations, Shutdowns and restarts: a send returned nil if and only if
// its value was received, exactly once.
func TestGroupStressDeliveredIffNil(t *testing.T) {
	for round := range 20 {
		var g Group[int]
		var next atomic.Int64
		var mu sync.Mutex
		accepted := map[int]bool{}
		for a := range 5 {
			mustAdd(t, &g, AdapterFunc(fmt.Sprint("a", a), func(ctx context.Context, s Sink[int]) error {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(a)))
				for ctx.Err() == nil {
					v := int(next.Add(1))
					var err error
					if rng.IntN(2) == 0 {
						err = s.TrySend(v)
					} else {
						sctx, cancel := context.WithTimeout(ctx, time.Duration(rng.IntN(50))*time.Microsecond)
						err = s.Send(sctx, v)
						cancel()
					}
					if err == nil {
						mu.Lock()
						accepted[v] = true
						mu.Unlock()
					}
				}
				return nil
			}), WithLane(1+a, 1+a%3))
		}
		received := map[int]int{}
		for range 5 {
			stream := mustGroupStart(t, &g)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for v := range stream.All() {
					received[v]++
					if rand.IntN(100) == 0 {
						runtime.Gosched()
					}
				}
			}()
			for range rand.IntN(200) {
				runtime.Gosched()
			}
			if err := g.Shutdown(context.Background()); err != nil {
				t.Fatalf("Shutdown = %v", err)
			}
			<-done
		}
		for v := range accepted {
			if received[v] != 1 {
				t.Fatalf("round %d: accepted %d received %d times", round, v, received[v])
			}
		}
		for v, n := range received {
			if !accepted[v] || n != 1 {
				t.Fatalf("round %d: %d received %d times, accepted %v", round, v, n, accepted[v])
			}
		}
		var sum uint64
		for _, a := range g.Stats().Adapters {
			sum += a.Accepted
		}
		if sum != uint64(len(accepted)) {
			t.Fatalf("round %d: Stats count %d accepted, the senders %d", round, sum, len(accepted))
		}
	}
}

// TestGroupRun: the common main loop. When ctx ends, the consumer still
// handles every value accepted before, and Run returns nil.
func TestGroupRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var accepted atomic.Int64
		g := &Group[int]{}
		mustAdd(t, g, AdapterFunc("counter", func(ctx context.Context, s Sink[int]) error {
			for i := 0; ; i++ {
				if err := s.Send(ctx, i); err != nil {
					return nil
				}
				accepted.Add(1)
			}
		}), WithLane(64, 1))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var handled []int
		err := g.Run(ctx, func(v int) error {
			handled = append(handled, v)
			time.Sleep(time.Millisecond) // a slow agent: the lane stays full
			return nil
		})
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if int64(len(handled)) != accepted.Load() {
			t.Errorf("handled %d values, want the %d accepted", len(handled), accepted.Load())
		}
		if !slices.IsSorted(handled) || handled[0] != 0 {
			t.Errorf("handled values out of order or missing the first")
		}
	})
}

// TestGroupRunHandleError: an error from handle ends Run with that error,
// and the group is shut down.
func TestGroupRunHandleError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errAgent := errors.New("agent broke")
		g := &Group[int]{}
		mustAdd(t, g, AdapterFunc("counter", func(ctx context.Context, s Sink[int]) error {
			for i := 0; ; i++ {
				if err := s.Send(ctx, i); err != nil {
					return nil
				}
			}
		}))
		err := g.Run(context.Background(), func(v int) error {
			if v == 10 {
				return errAgent
			}
			return nil
		})
		if err != errAgent {
			t.Errorf("Run = %v, want %v", err, errAgent)
		}
		if got := g.Stats().Adapters[0].State; got != Stopped {
			t.Errorf("adapter is %v after Run, want stopped", got)
		}
	})
}

// TestGroupRunShutdownTimeout: an adapter that ignores its context makes
// Run return a NotReturnedError after ShutdownTimeout, not hang.
func TestGroupRunShutdownTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		g := &Group[int]{ShutdownTimeout: 3 * time.Second}
		mustAdd(t, g, AdapterFunc("stuck", func(context.Context, Sink[int]) error {
			<-release
			return nil
		}))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := g.Run(ctx, func(int) error { return nil })
		var nr *NotReturnedError
		if !errors.As(err, &nr) || nr.Names[0] != "stuck" {
			t.Errorf("Run = %v, want a NotReturnedError naming stuck", err)
		}
		if d := time.Since(start); d != 4*time.Second {
			t.Errorf("Run took %v, want 4s: 1s of ctx and 3s of ShutdownTimeout", d)
		}
		close(release)
	})
}
