package fanin

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestChannelStatsExact drives a Channel through every counted outcome on
// the fake clock and checks every field.
func TestChannelStatsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[int](2)
		if diff := cmp.Diff(Stats{Capacity: 2}, c.Stats()); diff != "" {
			t.Errorf("Stats before Start (-want +got):\n%s", diff)
		}
		stream := mustStart(t, c)
		s, _ := c.Sender()
		c.TrySend(1)
		c.Send(context.Background(), 2)
		c.TrySend(3) // full
		canceled, cancel := context.WithCancel(context.Background())
		cancel()
		c.Send(canceled, 4) // canceled before it looks for room

		// One send waits 3s and is canceled, one waits 5s and is woken
		// by Shutdown, one waits 1s and gets room.
		short, cancelShort := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancelShort()
		goCall(func() error { return c.Send(short, 5) })
		goCall(func() error { return c.Send(context.Background(), 6) })
		synctest.Wait()
		if st := c.Stats(); st.Blocked != 2 || st.Len != 2 {
			t.Errorf("while two wait: %d blocked, %d buffered; want 2 and 2", st.Blocked, st.Len)
		}
		time.Sleep(time.Second)
		<-stream // room for one: the send of 5 or of 6 gets it
		synctest.Wait()
		time.Sleep(4 * time.Second)
		synctest.Wait()
		mustShutdown(t, c)
		SendBatch(context.Background(), s, NewLimiter(Band{1, time.Hour, 1}), []int{7, 8}, RefuseOverLimit)
		drain(stream)

		// Of 5 and 6, one got the room after 1s; the other waited 3s and
		// was canceled (5) or 5s and woken by Shutdown (6).
		st := c.Stats()
		want := Stats{Capacity: 2, Runs: 1, Accepted: 3, Full: 1, Waited: 2, Closed: 1 + 1, Canceled: 1}
		switch st.WaitTime {
		case time.Second + 5*time.Second: // 5 got the room; 6 woken by Shutdown
			want.WaitTime = 6 * time.Second
		case time.Second + 3*time.Second: // 6 got the room; 5 canceled at 3s
			want.WaitTime, want.Canceled, want.Closed = 4*time.Second, 2, 1
		}
		// SendBatch took a token for 7, which the closed run refused.
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("Stats after Shutdown (-want +got):\n%s", diff)
		}

		// A second run adds to the totals.
		stream = mustStart(t, c)
		c.TrySend(9)
		if st := c.Stats(); st.Runs != 2 || st.Accepted != want.Accepted+1 || st.Len != 1 {
			t.Errorf("second run: %d runs, %d accepted, %d buffered; want 2, %d, 1", st.Runs, st.Accepted, st.Len, want.Accepted+1)
		}
		mustShutdown(t, c)
		drain(stream)
	})
}

// TestStatsRateLimited: a batch refused by its limiter is counted once per
// refusal, through a mapped sink too.
func TestStatsRateLimited(t *testing.T) {
	c := New[string](8)
	stream := mustStart(t, c)
	s, _ := c.Sender()
	lim := NewLimiter(Band{Events: 1, Interval: time.Hour, Burst: 2})
	ms := MapSink(Sink[string](s), func(i int) string { return string(rune('a' + i)) })
	n, err := SendBatch(context.Background(), ms, lim, []int{0, 1, 2, 3}, RefuseOverLimit)
	if n != 2 || err != ErrRateLimited {
		t.Fatalf("SendBatch = %d, %v; want 2, ErrRateLimited", n, err)
	}
	if st := c.Stats(); st.RateLimited != 1 || st.Accepted != 2 {
		t.Errorf("Stats: %d rate limited, %d accepted; want 1 and 2", st.RateLimited, st.Accepted)
	}
	mustShutdown(t, c)
	drain(stream)
}

// TestAcceptedFold: the accepted count lives in the state word with room
// for 2^31; past 2^30 it is folded into a second counter. Counting stays
// exact across folds, for readers that race the folding sends too.
func TestAcceptedFold(t *testing.T) {
	c := New[int](1 << 12)
	stream := mustStart(t, c)
	s, _ := c.Sender()
	// Start the field 1000 short of the fold, as if 2^30-1000 values had
	// been sent already.
	const base = 1<<30 - 1000
	s.state.Add(base << acceptShift)
	var wg sync.WaitGroup
	var stop atomic.Bool
	wg.Go(func() { // a reader: counts never go backwards
		last := uint64(0)
		for !stop.Load() {
			n := s.accepted()
			if n < last {
				t.Errorf("accepted went from %d back to %d", last, n)
				return
			}
			last = n
		}
	})
	for w := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				if err := s.TrySend(w*1000 + i); err != nil {
					t.Errorf("TrySend = %v", err)
					return
				}
			}
		})
	}
	for range 4000 {
		<-stream
	}
	stop.Store(true)
	wg.Wait()
	if got, want := s.accepted(), uint64(base+4000); got != want {
		t.Errorf("accepted = %d, want %d", got, want)
	}
	if got := s.folds.Load(); got != 2 {
		t.Errorf("folds = %d, want 2 (one fold done)", got)
	}
	if got := s.state.Load() & inFlightMask; got != 0 {
		t.Errorf("%d calls in flight after all returned", got)
	}
	mustShutdown(t, c)
	if got, want := c.Stats().Accepted, uint64(base+4000); got != want {
		t.Errorf("Stats().Accepted after Shutdown = %d, want %d", got, want)
	}
}

// TestGroupStatsExact: per adapter lanes, states, restarts and errors on
// the fake clock.
func TestGroupStatsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &Group[string]{}
		mustAdd(t, g, AdapterFunc("steady", func(ctx context.Context, s Sink[string]) error {
			for range 3 {
				s.TrySend("x")
			}
			<-ctx.Done()
			return nil
		}), WithLane(2, 1))
		mustAdd(t, g, newFlaky("ws", fail(errConnLost), fail(errConnLost)), WithBackoff(time.Second, time.Second, 0))
		stream := mustGroupStart(t, g)
		inj, _ := g.Sender()
		inj.TrySend("injected")
		time.Sleep(time.Minute)
		synctest.Wait()
		gs := g.Stats()
		want := GroupStats{
			Stats:    Stats{Capacity: 2 + DefaultCapacity + DefaultCapacity, Len: 3, Runs: 1, Accepted: 3, Full: 1},
			Injected: Stats{Capacity: DefaultCapacity, Len: 1, Runs: 1, Accepted: 1},
			Adapters: []AdapterStats{
				{Name: "steady", State: Running, Stats: Stats{Capacity: 2, Len: 2, Runs: 1, Accepted: 2, Full: 1}},
				{Name: "ws", State: Running, Restarts: 2, Err: errConnLost, Stats: Stats{Capacity: DefaultCapacity, Runs: 3}},
			},
		}
		if diff := cmp.Diff(want, gs, sameError); diff != "" {
			t.Errorf("Stats (-want +got):\n%s", diff)
		}
		g.Shutdown(context.Background())
		drainStream(stream)
		gs = g.Stats()
		if gs.Len != 0 || gs.Accepted != 3 || gs.Adapters[0].State != Stopped || gs.Adapters[0].Capacity != 0 {
			t.Errorf("after Shutdown and drain: %+v", gs)
		}
	})
}
