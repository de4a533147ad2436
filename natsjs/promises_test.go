package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPoisonMessageIsTerminatedAndCounted publishes a payload that decode
// rejects between two good ones: the Source terminates it with the reason,
// counts it, never hands it over, and keeps going.
func TestPoisonMessageIsTerminatedAndCounted(t *testing.T) {
	f := newFixture(t)
	advisories, err := f.nc.SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED." + streamName + "." + durable)
	if err != nil {
		t.Fatalf("SubscribeSync: %v", err)
	}
	defer advisories.Unsubscribe()
	ctx := context.Background()
	for _, m := range []string{"good-1|x", "poison|not what decode wants", "good-2|x"} {
		if err := f.pub.Send(ctx, m); err != nil {
			t.Fatalf("Send = %v, want nil", err)
		}
	}
	src := f.source(nil)
	r := startRun(t, src, 8)
	for _, want := range []string{"good-1", "good-2"} {
		d := r.recv()
		if d.Meta.ID != want {
			t.Errorf("delivered %s, want %s", d.Meta.ID, want)
		}
		if err := d.AckSync(ctx); err != nil {
			t.Fatalf("AckSync = %v, want nil", err)
		}
	}
	adv, err := advisories.NextMsg(wait)
	if err != nil {
		t.Fatalf("no termination advisory: %v", err)
	}
	var event struct {
		StreamSeq uint64 `json:"stream_seq"`
		Reason    string `json:"reason"`
	}
	if err := json.Unmarshal(adv.Data, &event); err != nil {
		t.Fatalf("advisory %s: %v", adv.Data, err)
	}
	if event.StreamSeq != 2 || !strings.Contains(event.Reason, "undecodable: poisoned payload") {
		t.Errorf("termination advisory %s, want stream_seq 2 and the decode error as reason", adv.Data)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Poison != 1 || st.HandedOver != 2 || st.Termed != 0 {
		t.Errorf("Stats = %+v, want 1 poison, 2 handed over, none termed by the program", st)
	}
	if info := f.consumerInfo(); info.NumAckPending != 0 || info.NumPending != 0 || info.NumRedelivered != 0 {
		t.Errorf("consumer: %d ack pending, %d pending, %d redelivered; want all 0", info.NumAckPending, info.NumPending, info.NumRedelivered)
	}
}

// TestShutdownUnderLoadLosesNothing stops a Run while publishers publish
// and the program acks; the program acks what was buffered after Run
// returned, and a second Source then gets exactly what was never acked.
// AckWait is 30 s: only the Source's naks make that prompt.
func TestShutdownUnderLoadLosesNothing(t *testing.T) {
	f := newFixture(t)
	src := f.source(nil) // MaxAckPending 32
	r := startRun(t, src, 16)

	const publishers, each = 4, 60
	var ids []string
	var idsMu sync.Mutex
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Go(func() {
			for i := range each {
				id := fmt.Sprintf("p%d-%03d", p, i)
				if err := f.pub.Send(context.Background(), id+"|x"); err != nil {
					t.Errorf("Send = %v, want nil", err)
					return
				}
				idsMu.Lock()
				ids = append(ids, id)
				idsMu.Unlock()
			}
		})
	}

	acked := map[string]bool{}
	ackAll := func(ds <-chan Delivery[string], limit int) {
		for d := range ds {
			if err := d.Ack(); err != nil {
				t.Errorf("Ack = %v, want nil", err)
			}
			acked[d.Meta.ID] = true
			if len(acked) == limit {
				return
			}
		}
	}
	ackAll(r.stream, 100)
	// The program pauses: the window fills, 16 in the buffer, one in
	// Send, the rest held. Then Run is stopped, with publishers going on.
	eventually(t, "a full window and buffer", func() bool {
		st := src.Stats()
		return st.Unsettled == 32 && st.HandedOver == 100+16
	})
	r.cancel()
	if err := r.wait(); err != nil {
		t.Fatalf("Run under load = %v, want nil", err)
	}
	if st := src.Stats(); st.Returned != 16 {
		t.Errorf("Returned = %d, want 16: what was pulled and not handed over", st.Returned)
	}
	r.ch.Shutdown(context.Background())
	ackAll(r.stream, -1) // what was buffered, acked after Run returned
	pubs.Wait()
	if err := src.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if st := src.Stats(); st.Unsettled != 0 || st.Acked != uint64(len(acked)) {
		t.Errorf("Stats = %+v, want %d acked and none unsettled", st, len(acked))
	}

	again := startRun(t, f.source(nil), 64)
	drainAll(t, f, again, without(ids, acked))
}

// TestConnLostWhileSendWaits cuts the connection while Run waits for room
// in a full buffer that nobody reads: Run must notice and return at once.
func TestConnLostWhileSendWaits(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 8)
	var c cutter
	src := f.source(func(cfg *SourceConfig) {
		cfg.Consumer.MaxAckPending = 8
		cfg.Options = append(cfg.Options, nats.SetCustomDialer(&c))
	})
	r := startRun(t, src, 2)
	eventually(t, "8 received", func() bool { return src.Stats().Received == 8 })
	c.cut()
	if err := r.wait(); !errors.Is(err, ErrConnLost) {
		t.Errorf("Run = %v, want ErrConnLost", err)
	}
}

// TestSilentConnectionLossIsConnLost freezes the connection under a
// running Source, as a dead host or a partition would (no FIN, no RST):
// the server's heartbeats stop, and Run must end within a few heartbeats
// with an error matching ErrConnLost, for the Group to dial again.
func TestSilentConnectionLossIsConnLost(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 4)
	var c cutter
	src := f.source(func(cfg *SourceConfig) {
		cfg.Heartbeat = 500 * time.Millisecond
		cfg.Options = append(cfg.Options, nats.SetCustomDialer(&c))
	})
	r := startRun(t, src, 8)
	eventually(t, "4 received", func() bool { return src.Stats().Received == 4 })
	c.freeze()
	if err := r.wait(); !errors.Is(err, ErrConnLost) {
		t.Errorf("Run = %v, want ErrConnLost", err)
	}
	if st := src.Stats(); st.Unsettled != 0 {
		t.Errorf("Stats().Unsettled = %d after the connection was lost, want 0", st.Unsettled)
	}
}

// TestNoRedeliveryWhileBufferedOrSlow leaves deliveries unread in the
// buffer for several AckWaits: the Source's InProgress keeps every one of
// them from being redelivered.
func TestNoRedeliveryWhileBufferedOrSlow(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 8)
	src := f.source(func(cfg *SourceConfig) {
		cfg.Consumer.AckWait = time.Second
		cfg.Consumer.MaxAckPending = 8
	})
	r := startRun(t, src, 4) // 4 in the buffer, 1 in Send, 3 in the queue
	// Four rounds of InProgress for each of the 8 take over 2 AckWaits.
	eventually(t, "32 extensions", func() bool { return src.Stats().Extended >= 32 })
	for range 8 {
		d := r.recv()
		if d.Meta.NumDelivered != 1 {
			t.Errorf("%s: NumDelivered = %d, want 1", d.Meta.ID, d.Meta.NumDelivered)
		}
		if err := d.AckSync(context.Background()); err != nil {
			t.Fatalf("AckSync = %v, want nil", err)
		}
	}
	// The consumer sequence counts redeliveries too.
	if info := f.consumerInfo(); info.Delivered.Consumer != 8 || info.NumAckPending != 0 {
		t.Errorf("consumer: %d deliveries, %d ack pending; want 8 and 0", info.Delivered.Consumer, info.NumAckPending)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Received != 8 {
		t.Errorf("Received = %d, want 8", st.Received)
	}
}

// TestNoRedeliveryBehindASlowDecode: the decode function takes 100 ms a
// payload (as one that validates a schema or decompresses may), so the
// last of 32 deliveries is decoded 3.2 s after it arrived, past the
// AckWait of 2 s. Every delivery is tracked and extended from its receipt,
// not from its decode: none is redelivered, and they come in stream order.
func TestNoRedeliveryBehindASlowDecode(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 32)
	src := NewSource(f.config(func(cfg *SourceConfig) {
		cfg.Consumer.AckWait = 2 * time.Second
		cfg.Consumer.MaxAckPending = 32
	}), func(b []byte) (string, error) {
		time.Sleep(100 * time.Millisecond) // the decoder's work
		return decodeString(b)
	})
	t.Cleanup(func() {
		if err := src.Close(context.Background()); err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
	})
	r := startRun(t, src, 32)
	var got []string
	for range ids {
		d := r.recv()
		got = append(got, d.Meta.ID)
		if d.Meta.NumDelivered != 1 {
			t.Errorf("%s: NumDelivered = %d, want 1", d.Meta.ID, d.Meta.NumDelivered)
		}
		if err := d.AckSync(context.Background()); err != nil {
			t.Fatalf("AckSync = %v, want nil", err)
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("delivered %v, want %v", got, ids)
	}
	if info := f.consumerInfo(); info.Delivered.Consumer != 32 || info.NumAckPending != 0 {
		t.Errorf("consumer: %d deliveries, %d ack pending; want 32 and 0", info.Delivered.Consumer, info.NumAckPending)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Redelivered != 0 || st.Extended == 0 {
		t.Errorf("Stats = %+v, want none redelivered and some extended", st)
	}
}

// TestExtensionFollowsTheShortestBackOffStep: a consumer with AckWait 6 s
// and BackOff [6 s, 1 s] gives a redelivered message 1 s from its last
// InProgress, not 6 s. The Source extends at a third of the shortest step,
// so a second delivery held by the program over two of those seconds is
// not delivered a third time.
func TestExtensionFollowsTheShortestBackOffStep(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 1)
	src := f.source(func(cfg *SourceConfig) {
		cfg.Consumer.AckWait = 6 * time.Second
		cfg.Consumer.BackOff = []time.Duration{6 * time.Second, time.Second}
		cfg.Consumer.MaxDeliver = 10
	})
	r := startRun(t, src, 8)
	if err := r.recv().Nak(0); err != nil {
		t.Fatalf("Nak = %v, want nil", err)
	}
	d := r.recv()
	if d.Meta.NumDelivered != 2 {
		t.Fatalf("NumDelivered = %d after a Nak, want 2", d.Meta.NumDelivered)
	}
	// Six rounds of InProgress, each at most two ticks of 333 ms apart,
	// cover two BackOff steps of 1 s; at a third of the AckWait of 6 s, not
	// even one round fits in a step.
	before := src.Stats().Extended
	eventually(t, "6 extensions", func() bool { return src.Stats().Extended >= before+6 })
	if info := f.consumerInfo(); info.Delivered.Consumer != 2 {
		t.Errorf("consumer: %d deliveries while the second was held, want 2", info.Delivered.Consumer)
	}
	if err := d.AckSync(context.Background()); err != nil {
		t.Fatalf("AckSync = %v, want nil", err)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestExtensionFollowsTheConsumersCurrentAckWait starts a Source with an
// AckWait of 30 s, which extends its deliveries every 10 s, and then a
// second Start on the same durable lowers the AckWait to 2 s, as a rolling
// deploy that changes it does. The first Source must notice within a
// second (before the deliveries it received just now reach the new
// AckWait) and extend at a third of the new AckWait from then on: none of
// the deliveries waiting in its lane is redelivered over two of the new
// AckWaits.
func TestExtensionFollowsTheConsumersCurrentAckWait(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 8)
	a := f.source(func(cfg *SourceConfig) { cfg.Consumer.MaxAckPending = 8 })
	r := startRun(t, a, 8)
	eventually(t, "8 received", func() bool { return a.Stats().Received == 8 })

	b := f.source(func(cfg *SourceConfig) {
		cfg.Consumer.MaxAckPending = 8
		cfg.Consumer.AckWait = 2 * time.Second
	})
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("second Start = %v, want nil", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if got := f.consumerInfo().Config.AckWait; got != 2*time.Second {
		t.Fatalf("consumer AckWait = %v after the second Start, want 2s", got)
	}
	// Four rounds of InProgress, each at most two ticks of 667 ms apart,
	// cover more than two AckWaits of 2 s; at the old tick of 10 s, not
	// even one round fits in the wait.
	eventually(t, "32 extensions", func() bool { return a.Stats().Extended >= 32 })
	for range 8 {
		d := r.recv()
		if d.Meta.NumDelivered != 1 {
			t.Errorf("%s: NumDelivered = %d, want 1", d.Meta.ID, d.Meta.NumDelivered)
		}
		if err := d.AckSync(context.Background()); err != nil {
			t.Fatalf("AckSync = %v, want nil", err)
		}
	}
	if info := f.consumerInfo(); info.Delivered.Consumer != 8 || info.NumAckPending != 0 {
		t.Errorf("consumer: %d deliveries, %d ack pending; want 8 and 0", info.Delivered.Consumer, info.NumAckPending)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestMaxExtensionEndsExtension is the control for the test above: past
// MaxExtension the Source stops extending, and the server redelivers.
func TestMaxExtensionEndsExtension(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 2)
	src := f.source(func(cfg *SourceConfig) {
		cfg.Consumer.AckWait = time.Second
		cfg.MaxExtension = time.Second
	})
	r := startRun(t, src, 1) // one in the buffer, one waiting in Send
	eventually(t, "a redelivery", func() bool { return src.Stats().Received > 2 })
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestSettleRacesWithClose settles each delivery from four goroutines at
// once, Ack, Nak, Term and Close's give-back: exactly one wins each, the
// counts agree, and the server redelivers exactly the naked ones.
func TestSettleRacesWithClose(t *testing.T) {
	f := newFixture(t)
	ids := f.publish("m", 24)
	src := f.source(nil)
	r := startRun(t, src, 32)
	var ds []Delivery[string]
	for range ids {
		ds = append(ds, r.recv())
	}
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}

	type outcome struct{ ack, nak, term bool }
	outcomes := make([]outcome, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() { outcomes[i].ack = settledBy(t, d.Ack()) })
		wg.Go(func() { outcomes[i].nak = settledBy(t, d.Nak(0)) })
		wg.Go(func() { outcomes[i].term = settledBy(t, d.Term("race")) })
		wg.Go(func() { d.InProgress() })
	}
	wg.Go(func() { src.Close(context.Background()) })
	wg.Wait()

	comeBack := map[string]bool{}
	var wins [3]int
	for i, o := range outcomes {
		n := 0
		for k, won := range []bool{o.ack, o.nak, o.term} {
			if won {
				n++
				wins[k]++
			}
		}
		if n > 1 {
			t.Errorf("%s settled %d times", ds[i].Meta.ID, n)
		}
		if n == 0 || o.nak {
			comeBack[ds[i].Meta.ID] = true // given back by Close, or naked
		}
	}
	st := src.Stats()
	if st.Acked != uint64(wins[0]) || st.Naked != uint64(wins[1]) || st.Termed != uint64(wins[2]) ||
		st.Acked+st.Naked+st.Termed+st.Returned != uint64(len(ds)) || st.Unsettled != 0 {
		t.Errorf("Stats = %+v, want acked %d, naked %d, termed %d, the rest returned, none unsettled", st, wins[0], wins[1], wins[2])
	}
	var want []string
	for _, id := range ids {
		if comeBack[id] {
			want = append(want, id)
		}
	}
	again := startRun(t, f.source(nil), 64)
	drainAll(t, f, again, want)
}

// settledBy reports whether a settling call won; any error but ErrSettled
// fails the test.
func settledBy(t *testing.T, err error) bool {
	if err != nil && !errors.Is(err, ErrSettled) {
		t.Errorf("settling call = %v, want nil or ErrSettled", err)
	}
	return err == nil
}

func TestSourceLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	connections := func(src *Source[string]) int {
		src.mu.Lock()
		defer src.mu.Unlock()
		return len(src.sessions)
	}

	t.Run("Run with an ended context releases what Start made", func(t *testing.T) {
		src := f.source(nil)
		if err := src.Start(ctx); err != nil {
			t.Fatalf("Start = %v, want nil", err)
		}
		ended, cancel := context.WithCancel(ctx)
		cancel()
		if err := src.Run(ended, nil); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if n := connections(src); n != 0 {
			t.Errorf("%d connections open, want 0", n)
		}
	})
	t.Run("a second Start undoes the first", func(t *testing.T) {
		src := f.source(nil)
		for range 2 {
			if err := src.Start(ctx); err != nil {
				t.Fatalf("Start = %v, want nil", err)
			}
		}
		if n := connections(src); n != 1 {
			t.Errorf("%d connections open, want 1", n)
		}
	})
	t.Run("a failed Start leaves nothing open", func(t *testing.T) {
		src := f.source(func(cfg *SourceConfig) { cfg.Stream = "MISSING" })
		if err := src.Start(ctx); err == nil {
			t.Errorf("Start on a missing stream = nil, want an error")
		}
		if n := connections(src); n != 0 {
			t.Errorf("%d connections open, want 0", n)
		}
	})
	t.Run("Run without Start dials", func(t *testing.T) {
		f.publish("solo", 1)
		src := f.source(nil)
		ch := newChannel(t, 1)
		r := &run{t: t, ch: ch.ch, stream: ch.stream, errc: make(chan error, 1)}
		runCtx, cancel := context.WithCancel(ctx)
		r.cancel = cancel
		go func() { r.errc <- src.Run(runCtx, ch.sender) }()
		d := r.recv()
		if err := d.AckSync(ctx); err != nil {
			t.Errorf("AckSync = %v, want nil", err)
		}
		if err := r.stop(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
	t.Run("Close stops a Run, and Start and Run refuse afterwards", func(t *testing.T) {
		src := f.source(nil)
		r := startRun(t, src, 1)
		if err := src.Close(ctx); err != nil {
			t.Fatalf("Close = %v, want nil", err)
		}
		if err := r.wait(); !errors.Is(err, ErrClosed) {
			t.Errorf("Run stopped by Close = %v, want ErrClosed", err)
		}
		if err := src.Start(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Start after Close = %v, want ErrClosed", err)
		}
		ch := newChannel(t, 1)
		if err := src.Run(ctx, ch.sender); !errors.Is(err, ErrClosed) {
			t.Errorf("Run after Close = %v, want ErrClosed", err)
		}
		if n := connections(src); n != 0 {
			t.Errorf("%d connections open, want 0", n)
		}
	})
}

func TestNewSourcePanicsOnProgrammerError(t *testing.T) {
	f := newFixture(t)
	for name, change := range map[string]func(*SourceConfig){
		"no URL":           func(c *SourceConfig) { c.URL = "" },
		"no stream":        func(c *SourceConfig) { c.Stream = "" },
		"no durable":       func(c *SourceConfig) { c.Consumer.Durable = "" },
		"ack none":         func(c *SourceConfig) { c.Consumer.AckPolicy = jetstream.AckNonePolicy },
		"negative pending": func(c *SourceConfig) { c.Consumer.MaxAckPending = -1 },
		"negative wait":    func(c *SourceConfig) { c.Consumer.AckWait = -1 },
		"short heartbeat":  func(c *SourceConfig) { c.Heartbeat = 100 * time.Millisecond },
		"long heartbeat":   func(c *SourceConfig) { c.Heartbeat = 20 * time.Second },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewSource with %s did not panic", name)
				}
			}()
			NewSource(f.config(change), decodeString)
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("NewSource with a nil decode did not panic")
			}
		}()
		NewSource[string](f.config(nil), nil)
	}()
}
