//go:build !race

// The race detector changes what goroutines and allocations cost, so these
// tests are built only without it; CI runs them in a step of their own.

package fanin

import (
	"context"
	"testing"
)

// TestIdleAdapterMemory: an adapter that waits and never sends, with the
// default lane and a 128-byte message type, holds at most 16 KiB: its
// goroutine, its lane and the group's bookkeeping. A lane makes its buffer
// (256 values of 128 bytes, 32 KiB) only at its first send.
func TestIdleAdapterMemory(t *testing.T) {
	const limit = 16 << 10
	per := idleAdapterMemory(t, 10_000)
	if per > limit {
		t.Errorf("an idle adapter holds %.0f bytes, want at most %d", per, limit)
	}
	t.Logf("an idle adapter holds %.0f bytes", per)
}

// TestSendAllocatesNothing: in the steady state a send allocates nothing:
// Channel.Send, a Sender of the run, and an adapter's send into its lane
// that marks the idle lane ready, with the consumer's Recv that unmarks it.
func TestSendAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	c := New[msg128](DefaultCapacity)
	stream := mustStart(t, c)
	s, err := c.Sender()
	if err != nil {
		t.Fatalf("Sender() = %v, want nil", err)
	}
	var m msg128
	if n := testing.AllocsPerRun(1000, func() {
		if err := c.Send(ctx, m); err != nil {
			t.Fatalf("Send = %v, want nil", err)
		}
		if err := s.Send(ctx, m); err != nil {
			t.Fatalf("Sender.Send = %v, want nil", err)
		}
		<-stream
		<-stream
	}); n != 0 {
		t.Errorf("a Channel send and receive allocate %v times, want 0", n)
	}
	mustShutdown(t, c)

	var g Group[msg128]
	sinks := make(chan Sink[msg128], 1)
	mustAdd(t, &g, AdapterFunc("a", func(ctx context.Context, s Sink[msg128]) error {
		sinks <- s
		<-ctx.Done()
		return nil
	}))
	st := mustGroupStart(t, &g)
	lane := <-sinks
	if err := lane.Send(ctx, m); err != nil { // the lane makes its buffer
		t.Fatalf("Send = %v, want nil", err)
	}
	recv(t, st)
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if n := testing.AllocsPerRun(1000, func() {
		if err := lane.Send(ctx, m); err != nil { // marks the idle lane
			t.Fatalf("Send = %v, want nil", err)
		}
		if _, err := st.Recv(ctx); err != nil {
			t.Fatalf("Recv = %v, want nil", err)
		}
		// Finds the lane empty, unmarks it, and gives up.
		if _, err := st.Recv(ended); err != context.Canceled {
			t.Fatalf("Recv = %v, want %v", err, context.Canceled)
		}
	}); n != 0 {
		t.Errorf("a lane's send and receive allocate %v times, want 0", n)
	}
	g.Shutdown(ctx)
	drainStream(st)
}
