// Package scenario is a scripted run of a fanin.Group, shared by the tests
// of the metrics modules so that each checks its numbers against the same
// known history. It is not part of fanin's API.
package scenario

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fanin-go/fanin"
)

// Start runs the script in t's synctest bubble and returns once every
// adapter is durably blocked, leaving the group running; t's cleanup shuts
// it down. What the snapshot then holds:
//
//   - "filler" (lane capacity 2): 2 accepted, then 1 TrySend refused full;
//     its lane is full: length 2 of 2.
//   - "flaky" (lane capacity 4): sends 1 value and fails, twice, then sends
//     1 and serves: 3 accepted, 2 restarts, 3 runs, running.
//   - "batch" (added WithKeepTrying, not degraded): SendBatch of 2 values
//     through lim (burst 1) with RefuseOverLimit: 1 accepted, 1 rate
//     limited; lim allowed 1, refused 1.
//   - "blocked" (lane capacity 1): 1 accepted, then a Send waiting for
//     room: 1 blocked now (Waited and WaitTime count a wait once it ends).
//   - "gone": sends 1 value and is removed: its lane (default capacity,
//     256), still holding the value, and its 1 accepted count under
//     "(removed)".
//   - the injection lane (default capacity): 1 value sent by Group.Sender.
//
// Nothing receives, so every accepted value is still buffered; group runs 1.
func Start(t *testing.T) (g *fanin.Group[string], lim *fanin.Limiter) {
	t.Helper()
	g = new(fanin.Group[string])
	lim = fanin.NewLimiter(fanin.Band{Events: 1, Interval: time.Hour, Burst: 1})
	ctx := t.Context()
	serve := func(ctx context.Context) error { <-ctx.Done(); return nil }

	must(t, g.Add(ctx, fanin.AdapterFunc("filler", func(ctx context.Context, s fanin.Sink[string]) error {
		for _, v := range []string{"f1", "f2"} {
			if err := s.Send(ctx, v); err != nil {
				return err
			}
		}
		if err := s.TrySend("f3"); !errors.Is(err, fanin.ErrFull) {
			t.Errorf("TrySend into a full lane = %v, want ErrFull", err)
		}
		return serve(ctx)
	}), fanin.WithLane(2, 1)))

	runs := 0
	must(t, g.Add(ctx, fanin.AdapterFunc("flaky", func(ctx context.Context, s fanin.Sink[string]) error {
		runs++
		if err := s.Send(ctx, "x"); err != nil {
			return err
		}
		if runs <= 2 {
			return errors.New("flaky: failed")
		}
		return serve(ctx)
	}), fanin.WithLane(4, 1), fanin.WithBackoff(time.Second, time.Second, 0)))

	must(t, g.Add(ctx, fanin.AdapterFunc("batch", func(ctx context.Context, s fanin.Sink[string]) error {
		if n, err := fanin.SendBatch(ctx, s, lim, []string{"b1", "b2"}, fanin.RefuseOverLimit); n != 1 || err != fanin.ErrRateLimited {
			t.Errorf("SendBatch = %d, %v; want 1, ErrRateLimited", n, err)
		}
		return serve(ctx)
	}), fanin.WithKeepTrying()))

	must(t, g.Add(ctx, fanin.AdapterFunc("blocked", func(ctx context.Context, s fanin.Sink[string]) error {
		if err := s.Send(ctx, "k1"); err != nil {
			return err
		}
		s.Send(ctx, "k2") // waits for room until the group shuts down
		return serve(ctx)
	}), fanin.WithLane(1, 1)))

	must(t, g.Add(ctx, fanin.AdapterFunc("gone", func(ctx context.Context, s fanin.Sink[string]) error {
		if err := s.Send(ctx, "g1"); err != nil {
			return err
		}
		return serve(ctx)
	})))

	if _, err := g.Start(ctx); err != nil {
		t.Fatalf("Start = %v", err)
	}
	t.Cleanup(func() {
		if err := g.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	})
	inject, err := g.Sender()
	must(t, err)
	must(t, inject.Send(ctx, "i1"))

	time.Sleep(5 * time.Second) // the fake clock: flaky's two backoffs of 1s pass
	synctest.Wait()
	must(t, g.Remove(ctx, "gone"))
	synctest.Wait()
	return g, lim
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
