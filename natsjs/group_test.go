package natsjs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/nats-io/nats.go"
)

// groupRecv receives one delivery from a Group's stream, failing after wait.
func groupRecv(t *testing.T, st *fanin.Stream[Delivery[string]]) Delivery[string] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	d, err := st.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv = %v, want a delivery", err)
	}
	return d
}

// TestGroupRestartsAfterLostConnection runs a Source in a fanin.Group with
// RestartOnFailure, and loses its connection twice: once cut as a network
// failure would, once with the server stopped and started again on its
// store. Each time Run reports ErrConnLost, the group starts the Source
// again (Start dials anew, and fails while the server is down), and every
// message not acked before is delivered.
func TestGroupRestartsAfterLostConnection(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 30)
	var c cutter
	src := f.source(func(cfg *SourceConfig) {
		cfg.Consumer.AckWait = time.Second
		cfg.Options = append(cfg.Options, nats.SetCustomDialer(&c))
	})
	events := make(chan fanin.AdapterEvent, 256)
	g := &fanin.Group[Delivery[string]]{Events: events}
	ctx := context.Background()
	if err := g.Add(ctx, src, fanin.WithRestart(fanin.RestartOnFailure),
		fanin.WithBackoff(20*time.Millisecond, 200*time.Millisecond, 0),
		fanin.WithIntensity(100, time.Minute),
		fanin.WithLane(16, 1)); err != nil {
		t.Fatalf("Add = %v, want nil", err)
	}
	st, err := g.Start(ctx)
	if err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
	defer g.Shutdown(ctx)

	// seen collects the group's events; waitStarted waits for the n-th
	// EventStarted.
	var seen []fanin.AdapterEvent
	waitStarted := func(n int) {
		t.Helper()
		timeout := time.After(wait)
		for {
			started := 0
			for _, e := range seen {
				if e.Kind == fanin.EventStarted {
					started++
				}
			}
			if started >= n {
				return
			}
			select {
			case e := <-events:
				seen = append(seen, e)
			case <-timeout:
				t.Fatalf("start %d: not within %v; events %v", n, wait, seen)
			}
		}
	}
	acked := map[string]bool{}
	ackUntil := func(n int) {
		t.Helper()
		for len(acked) < n {
			d := groupRecv(t, st)
			// A delivery from before the connection was lost fails.
			if err := d.AckSync(ctx); err == nil {
				acked[d.Meta.ID] = true
			}
		}
	}
	waitStarted(1)
	ackUntil(5)
	c.cut()
	waitStarted(2)
	ackUntil(15)
	f.restart()
	waitStarted(3)
	ackUntil(len(ids))

	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	for len(events) > 0 {
		seen = append(seen, <-events)
	}
	lost := 0
	for _, e := range seen {
		if e.Kind == fanin.EventFailed && errors.Is(e.Err, ErrConnLost) {
			lost++
		}
	}
	if lost != 2 {
		t.Errorf("%d failures with ErrConnLost, want 2; events %v", lost, seen)
	}
	if r := g.Stats().Adapters[0].Restarts; r < 2 {
		t.Errorf("Restarts = %d, want at least 2", r)
	}
	if info := f.consumerInfo(); info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer: %d ack pending, %d pending; want 0 and 0", info.NumAckPending, info.NumPending)
	}
}

// TestGroupRidesOutAnOutageOfAnyLengthByDefault adds a Source to a Group
// with the Group's default failure model (no WithKeepTrying) and a restart
// intensity of 2 restarts a second, and keeps the server down for longer
// than that second twice: at boot, and while the Source runs. Each outage
// costs one restart (the Start after it waits for the server), never an
// escalation, and the messages published before and after are all
// handled.
func TestGroupRidesOutAnOutageOfAnyLengthByDefault(t *testing.T) {
	f := newFixture(t)
	before := f.publish("before", 5)
	src := f.source(nil)
	g := &fanin.Group[Delivery[string]]{}
	ctx := context.Background()
	if err := g.Add(ctx, src, fanin.WithIntensity(2, time.Second),
		fanin.WithBackoff(10*time.Millisecond, 50*time.Millisecond, 0)); err != nil {
		t.Fatalf("Add = %v, want nil", err)
	}
	// outage stops the server, calls during, and starts the server again
	// once it has been down for 1.5 s, longer than the intensity window
	// (in which the Group's own restarts, 10 to 50 ms apart, would exceed
	// the intensity many times over), and the Source has failed to dial
	// at least 3 more times meanwhile.
	outage := func(during func()) {
		t.Helper()
		failed := src.Stats().DialFailures
		began := time.Now()
		f.down()
		during()
		eventually(t, "an outage of 1.5 s with 3 failed dials", func() bool {
			return time.Since(began) > 1500*time.Millisecond && src.Stats().DialFailures >= failed+3
		})
		f.up()
	}
	handle := func(ids []string, st *fanin.Stream[Delivery[string]]) {
		t.Helper()
		want := map[string]bool{}
		for _, id := range ids {
			want[id] = true
		}
		for len(want) > 0 {
			d := groupRecv(t, st)
			delete(want, d.Meta.ID)
			if err := d.AckSync(ctx); err != nil {
				t.Fatalf("AckSync(%s) = %v, want nil", d.Meta.ID, err)
			}
		}
	}

	// At boot: the first Start fails at once, the restart waits for the
	// server.
	var st *fanin.Stream[Delivery[string]]
	outage(func() {
		var err error
		if st, err = g.Start(ctx); err != nil {
			t.Fatalf("Group.Start = %v, want nil", err)
		}
	})
	defer g.Shutdown(ctx)
	handle(before, st)

	// While running: the lost connection ends Run, the restart waits.
	outage(func() {})
	handle(f.publish("after", 5), st)

	if err := g.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v, want nil", err)
	}
	if err := st.Err(); err != nil {
		t.Errorf("Stream.Err = %v, want nil", err)
	}
	gs := g.Stats()
	if gs.Escalations != 0 {
		t.Errorf("Escalations = %d, want 0", gs.Escalations)
	}
	if r := gs.Adapters[0].Restarts; r != 2 {
		t.Errorf("Restarts = %d, want 2: one for each outage", r)
	}
}
