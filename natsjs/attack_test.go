package natsjs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// The tests in this file attack the promises of the documentation one by
// one, in the ways a careless program or a bad network would.

// TestRunReturnsWhenTheServerStopsAnswering freezes the connection, as a
// server that hangs would, and stops Run: its Drain is never confirmed, and
// Run must give up on the connection after DrainTimeout, not hang.
func TestRunReturnsWhenTheServerStopsAnswering(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 4)
	var c cutter
	src := f.source(func(cfg *SourceConfig) { cfg.Options = append(cfg.Options, nats.SetCustomDialer(&c)) })
	r := startRun(t, src, 8)
	eventually(t, "4 received", func() bool { return src.Stats().Received == 4 })
	c.freeze()
	began := time.Now()
	r.cancel()
	select {
	case err := <-r.errc:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(DrainTimeout + wait):
		t.Fatalf("Run did not return within DrainTimeout + %v of a frozen connection", wait)
	}
	if took := time.Since(began); took < DrainTimeout {
		t.Errorf("Run returned after %v, before DrainTimeout (%v): it did not wait for the drain", took, DrainTimeout)
	}
}

// TestConnectionClosesWithTheLastSettle checks that a Run's connection
// outlives the Run exactly as long as a delivery it handed over is not
// settled, and no longer: no Close is needed when the program settles
// everything.
func TestConnectionClosesWithTheLastSettle(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 3)
	src := f.source(nil)
	r := startRun(t, src, 8)
	eventually(t, "3 handed over", func() bool { return src.Stats().HandedOver == 3 })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	connections := func() int {
		src.mu.Lock()
		defer src.mu.Unlock()
		return len(src.sessions)
	}
	for i := range 3 {
		if n := connections(); n != 1 {
			t.Fatalf("with %d deliveries unsettled: %d connections, want 1", 3-i, n)
		}
		if err := r.recv().Ack(); err != nil {
			t.Fatalf("Ack after Run returned = %v, want nil", err)
		}
	}
	if n := connections(); n != 0 {
		t.Errorf("all settled: %d connections, want 0", n)
	}
	// The close flushes the last Ack; the server may take a moment.
	eventually(t, "no ack pending", func() bool { return f.consumerInfo().NumAckPending == 0 })
}

// TestAckSyncFailureLeavesUnsettled: an AckSync that fails leaves the
// delivery to the program, which can still settle it.
func TestAckSyncFailureLeavesUnsettled(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 1)
	src := f.source(nil)
	r := startRun(t, src, 8)
	d := r.recv()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.AckSync(ended); err == nil {
		t.Fatalf("AckSync with an ended context = nil, want an error")
	}
	if st := src.Stats(); st.Unsettled != 1 || st.Acked != 0 {
		t.Errorf("after a failed AckSync: Stats = %+v, want 1 unsettled, 0 acked", st)
	}
	if err := d.AckSync(context.Background()); err != nil {
		t.Errorf("AckSync again = %v, want nil", err)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestOrderKeptWhileSendWaits reads slowly from a small buffer, so that
// most deliveries wait in the Source's queue while Send waits: they must
// still arrive in stream order, each once.
func TestOrderKeptWhileSendWaits(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 60)
	src := f.source(func(cfg *SourceConfig) { cfg.Consumer.MaxAckPending = 16 })
	r := startRun(t, src, 2)
	var got []string
	for range ids {
		d := r.recv()
		got = append(got, d.Meta.ID)
		if err := d.Ack(); err != nil {
			t.Fatalf("Ack = %v, want nil", err)
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("delivered %v, want %v", got, ids)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Received != 60 || st.Redelivered != 0 {
		t.Errorf("Stats = %+v, want 60 received, none redelivered", st)
	}
}

// TestDecodePanicIsPoison: a decoder that panics on a payload makes it
// poison, like one that rejects it; the Run goes on.
func TestDecodePanicIsPoison(t *testing.T) {
	f := newFixture(t)
	for _, m := range []string{"a|x", "boom|x", "b|x"} {
		if err := f.pub.Send(context.Background(), m); err != nil {
			t.Fatalf("Send = %v, want nil", err)
		}
	}
	src := NewSource(f.config(nil), func(b []byte) (string, error) {
		if string(b) == "boom|x" {
			panic("decoder bug")
		}
		return string(b), nil
	})
	defer src.Close(context.Background())
	r := startRun(t, src, 8)
	for _, want := range []string{"a", "b"} {
		if d := r.recv(); d.Meta.ID != want {
			t.Errorf("delivered %s, want %s", d.Meta.ID, want)
		} else if err := d.AckSync(context.Background()); err != nil {
			t.Errorf("AckSync = %v, want nil", err)
		}
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Poison != 1 {
		t.Errorf("Poison = %d, want 1", st.Poison)
	}
}

// TestNakRedeliversAndTermDoesNot settles with Nak (with a delay) and Term,
// then checks what the server delivers again.
func TestNakRedeliversAndTermDoesNot(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 2)
	src := f.source(nil)
	r := startRun(t, src, 8)
	first, second := r.recv(), r.recv()
	if err := first.Nak(100 * time.Millisecond); err != nil {
		t.Fatalf("Nak = %v, want nil", err)
	}
	if err := second.Term("not wanted"); err != nil {
		t.Fatalf("Term = %v, want nil", err)
	}
	again := r.recv()
	if again.Meta.ID != first.Meta.ID || again.Meta.NumDelivered != 2 || again.Meta.StreamSeq != first.Meta.StreamSeq {
		t.Errorf("redelivered %+v, want %s again with NumDelivered 2 and the same StreamSeq", again.Meta, first.Meta.ID)
	}
	if err := again.AckSync(context.Background()); err != nil {
		t.Fatalf("AckSync = %v, want nil", err)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Naked != 1 || st.Termed != 1 || st.Acked != 1 || st.Received != 3 || st.Redelivered != 1 {
		t.Errorf("Stats = %+v, want 1 naked, 1 termed, 1 acked, 3 received, 1 redelivered", st)
	}
	if info := f.consumerInfo(); info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer: %d ack pending, %d pending; want 0 and 0", info.NumAckPending, info.NumPending)
	}
}

// TestCloseTwice: Close is idempotent.
func TestCloseTwice(t *testing.T) {
	f := newFixture(t)
	src := f.source(nil)
	startRun(t, src, 1)
	for range 2 {
		if err := src.Close(context.Background()); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
	}
	if err := src.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
}

// TestReconnectingSourceRidesOutARestart: with reconnection allowed by
// SourceConfig.Options, a server restart does not end Run; the pull goes
// on, on the same Run.
func TestReconnectingSourceRidesOutARestart(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("a", 10)
	src := f.source(func(cfg *SourceConfig) {
		cfg.Consumer.AckWait = time.Second
		cfg.Options = append(cfg.Options, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	})
	r := startRun(t, src, 16)
	acked := map[string]bool{}
	r.ackSync(5, acked)
	f.restart()
	ids = append(ids, f.publish("b", 5)...)
	for len(acked) < len(ids) {
		d := r.recv()
		// Deliveries taken before the restart may fail to ack.
		if err := d.AckSync(context.Background()); err == nil {
			acked[d.Meta.ID] = true
		}
	}
	select {
	case err := <-r.errc:
		t.Fatalf("Run returned %v across a restart it should ride out", err)
	default:
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Runs != 1 {
		t.Errorf("Runs = %d, want 1", st.Runs)
	}
}
