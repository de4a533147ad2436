package natsjs

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestSourceDeliversEachMessageOnce(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 50)
	src := f.source(nil)
	r := startRun(t, src, 64)

	var got []string
	for range ids {
		d := r.recv()
		if d.Meta.NumDelivered != 1 {
			t.Errorf("%s: NumDelivered = %d, want 1", d.Meta.ID, d.Meta.NumDelivered)
		}
		if d.Meta.ID != idOf(d) {
			t.Errorf("Meta.ID = %q, want %q (from Nats-Msg-Id)", d.Meta.ID, idOf(d))
		}
		if d.Meta.Stream != streamName || d.Meta.Consumer != durable || d.Meta.Subject != subject {
			t.Errorf("Meta = %+v, want stream %s, consumer %s, subject %s", d.Meta, streamName, durable, subject)
		}
		if err := d.AckSync(context.Background()); err != nil {
			t.Fatalf("AckSync = %v, want nil", err)
		}
		got = append(got, d.Meta.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("delivered %v, want %v in stream order", got, ids)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	st := src.Stats()
	if st.Received != 50 || st.HandedOver != 50 || st.Acked != 50 || st.Unsettled != 0 || st.Redelivered != 0 {
		t.Errorf("Stats = %+v, want 50 received, handed over and acked, none unsettled or redelivered", st)
	}
	if info := f.consumerInfo(); info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("consumer has %d ack pending and %d pending, want 0 and 0", info.NumAckPending, info.NumPending)
	}
}

func TestDeliverySettlesOnce(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 1)
	src := f.source(nil)
	r := startRun(t, src, 4)
	d := r.recv()
	if err := d.Ack(); err != nil {
		t.Fatalf("Ack = %v, want nil", err)
	}
	copyOf := d
	for name, call := range map[string]func() error{
		"Ack":        d.Ack,
		"AckSync":    func() error { return d.AckSync(context.Background()) },
		"Nak":        func() error { return copyOf.Nak(0) },
		"Term":       func() error { return copyOf.Term("late") },
		"InProgress": d.InProgress,
	} {
		if err := call(); !errors.Is(err, ErrSettled) {
			t.Errorf("%s after Ack = %v, want ErrSettled", name, err)
		}
	}
	var zero Delivery[string]
	if err := zero.Ack(); !errors.Is(err, ErrSettled) {
		t.Errorf("zero Delivery Ack = %v, want ErrSettled", err)
	}
	if err := zero.InProgress(); !errors.Is(err, ErrSettled) {
		t.Errorf("zero Delivery InProgress = %v, want ErrSettled", err)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// drainAll receives deliveries until every id in want has been acked,
// acking each (and failing on an id outside want), then checks that the
// server has nothing more to deliver: no acked message can come back.
func drainAll(t *testing.T, f *fixture, r *run, want []string) map[string]Delivery[string] {
	t.Helper()
	left := make(map[string]bool, len(want))
	for _, id := range want {
		left[id] = true
	}
	got := make(map[string]Delivery[string])
	for len(left) > 0 {
		d := r.recv()
		if _, ok := got[d.Meta.ID]; !ok && !left[d.Meta.ID] {
			t.Errorf("delivered %s, which was acked before", d.Meta.ID)
		}
		delete(left, d.Meta.ID)
		got[d.Meta.ID] = d
		if err := d.AckSync(context.Background()); err != nil {
			t.Fatalf("AckSync = %v, want nil", err)
		}
	}
	if info := f.consumerInfo(); info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("after draining: %d ack pending, %d pending; want 0 and 0", info.NumAckPending, info.NumPending)
	}
	return got
}

// ackSync receives n deliveries, acks each with AckSync and records it in
// acked.
func (r *run) ackSync(n int, acked map[string]bool) {
	r.t.Helper()
	for range n {
		d := r.recv()
		if err := d.AckSync(context.Background()); err != nil {
			r.t.Fatalf("AckSync = %v, want nil", err)
		}
		acked[d.Meta.ID] = true
	}
}

// without returns ids less those in acked.
func without(ids []string, acked map[string]bool) []string {
	var rest []string
	for _, id := range ids {
		if !acked[id] {
			rest = append(rest, id)
		}
	}
	return rest
}

// TestCanceledMidFlightRedeliversEveryUnacked cancels a Run while
// deliveries sit everywhere: acked, handed over and held by the program,
// handed over and still buffered, pulled and not handed over. AckWait is
// 30 s, so only the Source's naks can bring them back within the test.
func TestCanceledMidFlightRedeliversEveryUnacked(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 40)
	src := f.source(nil) // MaxAckPending 32
	r := startRun(t, src, 8)

	acked := map[string]bool{}
	var held []Delivery[string]
	for i := range 12 {
		d := r.recv()
		if i%2 == 0 {
			if err := d.AckSync(context.Background()); err != nil {
				t.Fatalf("AckSync = %v, want nil", err)
			}
			acked[d.Meta.ID] = true
		} else {
			held = append(held, d)
		}
	}
	// 6 acked, so the window of 32 lets all but 2 of the other 34 out.
	// The sender hands over after the receipt: wait for the buffer too.
	eventually(t, "38 received, 8 in the buffer", func() bool {
		st := src.Stats()
		return st.Received == 38 && st.HandedOver == 20
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	st := src.Stats()
	// 12 taken by the test, 8 in the buffer; the 18 others were pulled
	// but not handed over (one of them was waiting in Send).
	if st.HandedOver != 20 || st.Returned != 18 || st.Unsettled != 14 {
		t.Errorf("after Run: Stats = %+v, want 20 handed over, 18 returned, 14 unsettled", st)
	}

	// Acks after Run returned still count: the connection stays open for
	// the deliveries the program holds.
	for _, d := range held[:2] {
		if err := d.Ack(); err != nil {
			t.Errorf("Ack after Run returned = %v, want nil", err)
		}
		acked[d.Meta.ID] = true
	}
	if err := src.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	for _, d := range held[2:] {
		if err := d.Ack(); !errors.Is(err, ErrSettled) {
			t.Errorf("Ack after Close = %v, want ErrSettled (Close gave it back)", err)
		}
	}
	if st := src.Stats(); st.Returned != 18+12 || st.Unsettled != 0 {
		t.Errorf("after Close: Stats = %+v, want 30 returned and none unsettled", st)
	}

	again := startRun(t, f.source(nil), 64)
	got := drainAll(t, f, again, without(ids, acked))
	for id, d := range got {
		if d.Meta.NumDelivered < 2 && id < "m-038" {
			t.Errorf("%s: NumDelivered = %d, want a redelivery", id, d.Meta.NumDelivered)
		}
	}
}

// TestCrashedAgentRedeliversAfterAckWait cuts a Source's connection as a
// crash would: nothing is naked, Run reports the lost connection, and the
// server redelivers every unacked message once AckWait has passed.
func TestCrashedAgentRedeliversAfterAckWait(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 30)
	var c cutter
	fast := func(cfg *SourceConfig) { cfg.Consumer.AckWait = time.Second }
	src := f.source(func(cfg *SourceConfig) {
		fast(cfg)
		cfg.Options = append(cfg.Options, nats.SetCustomDialer(&c))
	})
	r := startRun(t, src, 8)
	acked := map[string]bool{}
	r.ackSync(10, acked)
	held := r.recv()
	eventually(t, "30 received", func() bool { return src.Stats().Received == 30 })
	c.cut()
	if err := r.wait(); !errors.Is(err, ErrConnLost) {
		t.Fatalf("Run after the connection was cut = %v, want ErrConnLost", err)
	}
	if err := held.Ack(); err == nil {
		t.Errorf("Ack on a lost connection = nil, want an error")
	}
	if st := src.Stats(); st.Returned != 0 {
		t.Errorf("Returned = %d, want 0: nothing can be naked on a cut connection", st.Returned)
	}

	again := startRun(t, f.source(fast), 64)
	got := drainAll(t, f, again, without(ids, acked))
	for id, d := range got {
		if d.Meta.NumDelivered != 2 {
			t.Errorf("%s: NumDelivered = %d, want 2", id, d.Meta.NumDelivered)
		}
	}
}

// TestServerRestartLosesNothing stops the server with deliveries acked,
// held and pulled, and starts it again on the same store: Run reports the
// lost connection, the same Source starts again once the server is back,
// nothing acked comes back and every unacked message does.
func TestServerRestartLosesNothing(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 30)
	fast := func(cfg *SourceConfig) { cfg.Consumer.AckWait = time.Second }
	src := f.source(fast)
	r := startRun(t, src, 8)
	acked := map[string]bool{}
	r.ackSync(10, acked)
	var held []Delivery[string]
	for range 5 {
		held = append(held, r.recv())
	}
	eventually(t, "30 received", func() bool { return src.Stats().Received == 30 })

	f.restart()
	if err := r.wait(); !errors.Is(err, ErrConnLost) {
		t.Fatalf("Run across a server restart = %v, want ErrConnLost", err)
	}
	for _, d := range held {
		if err := d.Ack(); err == nil {
			t.Errorf("Ack on the connection lost in the restart = nil, want an error")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	stream, err := f.js.Stream(ctx, streamName)
	if err != nil {
		t.Fatalf("Stream after restart: %v", err)
	}
	if n := stream.CachedInfo().State.Msgs; n != 30 {
		t.Errorf("stream holds %d messages after restart, want 30", n)
	}

	again := startRun(t, src, 64) // the same Source: Start dials again
	drainAll(t, f, again, without(ids, acked))
	if err := again.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Runs != 2 {
		t.Errorf("Runs = %d, want 2", st.Runs)
	}
}

// TestRedeliveredCountsEveryRedeliveryReceived: Stats().Redelivered counts
// the redeliveries a Source receives, also those it gives back at
// shutdown without handing them over.
func TestRedeliveredCountsEveryRedeliveryReceived(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 10)
	first := f.source(nil)
	r := startRun(t, first, 16)
	eventually(t, "10 handed over", func() bool { return first.Stats().HandedOver == 10 })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if err := first.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}

	src := f.source(nil)
	r = startRun(t, src, 1) // one in the lane, one waiting in Send, the rest held
	eventually(t, "10 received", func() bool { return src.Stats().Received == 10 })
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Redelivered != 10 || st.HandedOver >= 10 || st.Returned+st.HandedOver != 10 {
		t.Errorf("Stats = %+v, want 10 redelivered, of which some handed over and the rest returned", st)
	}
}

// TestDeletedConsumerIsNotRecreatedByARestart acks 50 messages, deletes
// the durable consumer under the Run, and starts the same Source again, as
// a Group's restart would: Start must fail with ErrConsumerDeleted rather
// than create a new consumer that would replay the 50 acked messages as
// first deliveries. A new Source (a new agent process) still creates it.
func TestDeletedConsumerIsNotRecreatedByARestart(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 50)
	src := f.source(nil)
	r := startRun(t, src, 64)
	for range ids {
		if err := r.recv().AckSync(context.Background()); err != nil {
			t.Fatalf("AckSync = %v, want nil", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := f.js.DeleteConsumer(ctx, streamName, durable); err != nil {
		t.Fatalf("DeleteConsumer = %v", err)
	}
	if err := r.wait(); err == nil {
		t.Fatalf("Run after its consumer was deleted = nil, want an error")
	}
	if err := src.Start(ctx); !errors.Is(err, ErrConsumerDeleted) {
		t.Errorf("Start after the consumer was deleted = %v, want ErrConsumerDeleted", err)
	}
	if _, err := f.js.Consumer(ctx, streamName, durable); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("Consumer after the restart = %v, want ErrConsumerNotFound: nothing recreated it", err)
	}
	if st := src.Stats(); st.Received != 50 {
		t.Errorf("Received = %d, want 50: nothing replayed", st.Received)
	}
	if err := f.source(nil).Start(ctx); err != nil {
		t.Errorf("Start of a new Source = %v, want nil (it creates the consumer)", err)
	}
}

// failingSink refuses every value with errSinkBroken: in TrySend, or, if
// full is set, in Send after TrySend found the lane full, as a sink whose
// own conversion fails does.
type failingSink struct {
	full bool
	done chan struct{}
}

var errSinkBroken = errors.New("sink broken")

func (s failingSink) Send(context.Context, Delivery[string]) error { return errSinkBroken }
func (s failingSink) Done() <-chan struct{}                        { return s.done }
func (s failingSink) TrySend(Delivery[string]) error {
	if s.full {
		return fanin.ErrFull
	}
	return errSinkBroken
}

// TestSinkRefusalEndsRunAndGivesBack: a sink that refuses a delivery for a
// reason other than its shutdown ends Run with an error that wraps the
// refusal, and the Source gives back what it took, so that the next Run
// receives every message at once rather than after AckWait (30 s here).
func TestSinkRefusalEndsRunAndGivesBack(t *testing.T) {
	for _, full := range []bool{false, true} {
		f := newFixture(t)
		ids := f.publish("m", 5)
		src := f.source(nil)
		if err := src.Start(context.Background()); err != nil {
			t.Fatalf("Start = %v, want nil", err)
		}
		errc := make(chan error, 1)
		go func() { errc <- src.Run(context.Background(), failingSink{full: full, done: make(chan struct{})}) }()
		select {
		case err := <-errc:
			if !errors.Is(err, errSinkBroken) {
				t.Errorf("full %v: Run = %v, want an error wrapping the sink's", full, err)
			}
		case <-time.After(wait):
			t.Fatalf("full %v: Run did not return within %v", full, wait)
		}
		if st := src.Stats(); st.Unsettled != 0 || st.HandedOver != 0 || st.Returned != st.Received {
			t.Errorf("full %v: Stats() = %+v, want nothing handed over or unsettled, everything received returned", full, st)
		}
		r := startRun(t, src, 16)
		got := map[string]bool{}
		for range ids {
			d := r.recv()
			got[idOf(d)] = true
			d.Ack()
		}
		if len(got) != len(ids) {
			t.Errorf("full %v: the next Run received %v, want each of %v", full, got, ids)
		}
		if err := r.stop(); err != nil {
			t.Errorf("full %v: Run = %v, want nil", full, err)
		}
	}
}

// TestConsumerDeletedUnderRunIsErrConsumerDeleted: a durable consumer
// deleted while a Run pulls on it ends the Run with an error matching
// ErrConsumerDeleted, as documented, and not ErrConnLost.
func TestConsumerDeletedUnderRunIsErrConsumerDeleted(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 3)
	src := f.source(nil)
	r := startRun(t, src, 16)
	for range 3 {
		r.recv().Ack()
	}
	if err := f.js.DeleteConsumer(context.Background(), streamName, durable); err != nil {
		t.Fatalf("DeleteConsumer = %v", err)
	}
	if err := r.wait(); !errors.Is(err, ErrConsumerDeleted) || errors.Is(err, ErrConnLost) {
		t.Errorf("Run = %v, want ErrConsumerDeleted and not ErrConnLost", err)
	}
}
