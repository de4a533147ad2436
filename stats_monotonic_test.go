package fanin

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// watchAccepted reads accepted() in a loop until stop is closed and
// reports the first time it falls: Accepted is a counter, and a counter
// that dips reads as a reset to whoever computes a rate from it.
func watchAccepted(t *testing.T, stop <-chan struct{}, what string, accepted func() uint64) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	wg.Go(func() {
		var prev uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			if a := accepted(); a < prev {
				t.Errorf("%s Accepted fell from %d to %d", what, prev, a)
				return
			} else {
				prev = a
			}
		}
	})
	return &wg
}

// TestChannelAcceptedNeverFalls runs a Channel again and again under
// flooding senders while Stats is read: Accepted never falls, neither when
// a run moves its count into the totals as it finishes, nor when a Start
// follows a Shutdown whose ctx ended with sends still in flight (the
// earlier run's count is its own until it finishes). At the end it equals
// the sends that returned nil.
func TestChannelAcceptedNeverFalls(t *testing.T) {
	c := New[int](2)
	stop := make(chan struct{})
	watch := watchAccepted(t, stop, "Channel.Stats", func() uint64 { return c.Stats().Accepted })
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	var ok atomic.Uint64
	for run := range 300 {
		out, err := c.Start()
		if err != nil {
			t.Fatalf("Start = %v", err)
		}
		var wg sync.WaitGroup
		for range 3 {
			s, _ := c.Sender()
			wg.Go(func() {
				for s.Send(context.Background(), 1) == nil {
					ok.Add(1)
				}
			})
		}
		wg.Go(func() {
			for range out {
			}
		})
		// Let the run accept some values, so that its count is worth
		// missing.
		for target := ok.Load() + 50; ok.Load() < target; {
			runtime.Gosched()
		}
		if run%2 == 0 {
			// Shutdown gives up at once: the next Start may begin while
			// this run's senders are still in flight.
			if err := c.Shutdown(canceled); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Shutdown = %v", err)
			}
		} else if err := c.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if run%4 == 0 {
			wg.Wait()
		}
		defer wg.Wait()
	}
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	close(stop)
	watch.Wait()
	// Every run's senders must have returned for the count to be final.
	t.Cleanup(func() {
		if got, want := c.Stats().Accepted, ok.Load(); got != want {
			t.Errorf("Accepted = %d, want %d sends that returned nil", got, want)
		}
	})
}

// TestGroupAcceptedNeverFalls: the same for a Group, per adapter and in
// total, across runs whose lanes finish while Stats is read.
func TestGroupAcceptedNeverFalls(t *testing.T) {
	var g Group[int]
	flood := func(name string) Adapter[int] {
		return AdapterFunc(name, func(ctx context.Context, s Sink[int]) error {
			for s.Send(ctx, 1) == nil {
			}
			return nil
		})
	}
	for _, name := range []string{"a", "b", "c"} {
		mustAdd(t, &g, flood(name), WithLane(2, 1))
	}
	stop := make(chan struct{})
	watchTotal := watchAccepted(t, stop, "GroupStats", func() uint64 { return g.Stats().Accepted })
	watchA := watchAccepted(t, stop, `adapter "a"'s`, func() uint64 {
		for _, a := range g.Stats().Adapters {
			if a.Name == "a" {
				return a.Accepted
			}
		}
		return 0
	})
	var handled uint64
	for range 200 {
		st, err := g.Start(context.Background())
		if err != nil {
			t.Fatalf("Start = %v", err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if _, err := st.Recv(context.Background()); err != nil {
					return
				}
				handled++
			}
		}()
		if err := g.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		<-done
	}
	close(stop)
	watchTotal.Wait()
	watchA.Wait()
	if got := g.Stats().Accepted; got != handled {
		t.Errorf("Accepted = %d, want the %d values received", got, handled)
	}
}

// TestChannelAcceptedNeverFallsDuringShutdown: a single run, nothing in
// flight, Shutdown while Stats is read: the run's count must not drop out
// while it moves into the totals.
func TestChannelAcceptedNeverFallsDuringShutdown(t *testing.T) {
	drops := 0
	for r := 0; r < 1000; r++ {
		c := New[int](64)
		stream, _ := c.Start()
		for i := 0; i < 10; i++ {
			c.TrySend(i)
		}
		stop := make(chan struct{})
		res := make(chan bool, 1)
		go func() {
			var last uint64
			bad := false
			for {
				a := c.Stats().Accepted
				if a < last {
					bad = true
				}
				last = max(last, a)
				select {
				case <-stop:
					res <- bad
					return
				default:
				}
			}
		}()
		runtime.Gosched()
		c.Shutdown(context.Background())
		close(stop)
		if <-res {
			drops++
		}
		for range stream {
		}
	}
	if drops > 0 {
		t.Fatalf("Stats().Accepted went down during Shutdown in %d of 1000 single-run Channels", drops)
	}
}

// TestGroupAcceptedNeverFallsOnRemove: an adapter's Sink used by a
// goroutine of its own (as a webhook handler uses it), and the adapter
// removed while Stats is read: the group's total keeps the lane's count
// through the Remove.
func TestGroupAcceptedNeverFallsOnRemove(t *testing.T) {
	var g Group[int]
	st, _ := g.Start(context.Background())
	go func() {
		for range st.All() {
		}
	}()
	drops := 0
	var example [2]uint64
	for r := 0; r < 100; r++ {
		name := fmt.Sprintf("r%d", r)
		sinks := make(chan Sink[int], 1)
		g.Add(context.Background(), AdapterFunc(name, func(ctx context.Context, s Sink[int]) error {
			sinks <- s
			<-ctx.Done()
			return nil
		}), WithLane(1024, 1))
		s := <-sinks
		sdone := make(chan struct{})
		go func() {
			defer close(sdone)
			for s.TrySend(r) != ErrClosed {
			}
		}()
		for g.Stats().Accepted < uint64(r*50) {
			runtime.Gosched()
		}
		stop := make(chan struct{})
		res := make(chan [2]uint64, 1)
		go func() {
			var last uint64
			bad := [2]uint64{}
			for {
				a := g.Stats().Accepted
				if a < last && bad == [2]uint64{} {
					bad = [2]uint64{last, a}
				}
				last = max(last, a)
				select {
				case <-stop:
					res <- bad
					return
				default:
				}
			}
		}()
		runtime.Gosched()
		if err := g.Remove(context.Background(), name); err != nil {
			t.Fatal(err)
		}
		<-sdone
		close(stop)
		if b := <-res; b != [2]uint64{} {
			drops++
			example = b
		}
	}
	g.Shutdown(context.Background())
	if drops > 0 {
		t.Fatalf("GroupStats.Accepted went down in %d of 100 removes; e.g. %v", drops, example)
	}
}
