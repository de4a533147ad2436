package natsjs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/natsjs/internal/embed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

// This file attacks the documented promises of the package. Each test
// names the promise it checks. The bounds on waiting (rvBound) are failure
// bounds only: every wait ends on a deterministic signal well before them
// when the code keeps its promise.

const rvBound = 15 * time.Second

// rvServer starts an embedded server in a temporary directory.
func rvServer(t *testing.T) *embed.Server {
	t.Helper()
	srv, err := embed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatalf("embed.Start: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// rvJS connects a plain client with the given options.
func rvJS(t *testing.T, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	return nc, js
}

func rvStream(t *testing.T, js jetstream.JetStream, cfg jetstream.StreamConfig) jetstream.Stream {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "S"
	}
	if cfg.Subjects == nil {
		cfg.Subjects = []string{"s.>"}
	}
	if cfg.Storage == 0 {
		cfg.Storage = jetstream.FileStorage
	}
	st, err := js.CreateStream(context.Background(), cfg)
	if err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	return st
}

// rvEncode publishes a string as itself, with the string as its id.
func rvEncode(s string) (string, []byte, error) { return s, []byte(s), nil }

func rvDecode(b []byte) (string, error) { return string(b), nil }

func rvPublish(t *testing.T, js jetstream.JetStream, msgs ...string) {
	t.Helper()
	pub := NewPublisher(js, "s.in", 0, rvEncode)
	for _, m := range msgs {
		if err := pub.Send(context.Background(), m); err != nil {
			t.Fatalf("Send(%q) = %v, want nil", m, err)
		}
	}
	if err := pub.Close(context.Background()); err != nil {
		t.Fatalf("Publisher.Close = %v, want nil", err)
	}
}

func rvSource(url string, change func(*SourceConfig)) *Source[string] {
	cfg := SourceConfig{
		URL:    url,
		Stream: "S",
		Consumer: jetstream.ConsumerConfig{
			Durable: "D",
			AckWait: time.Minute,
		},
	}
	if change != nil {
		change(&cfg)
	}
	return NewSource(cfg, rvDecode)
}

// rvRun runs src into a Channel of the given capacity.
type rvRun struct {
	t      *testing.T
	ch     *fanin.Channel[Delivery[string]]
	out    <-chan Delivery[string]
	cancel context.CancelFunc
	errc   chan error
}

func rvStartRun(t *testing.T, src *Source[string], capacity int) *rvRun {
	t.Helper()
	ch := fanin.New[Delivery[string]](capacity)
	out, err := ch.Start()
	if err != nil {
		t.Fatalf("Channel.Start: %v", err)
	}
	snd, err := ch.Sender()
	if err != nil {
		t.Fatalf("Channel.Sender: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rvRun{t: t, ch: ch, out: out, cancel: cancel, errc: make(chan error, 1)}
	go func() { r.errc <- src.Run(ctx, snd) }()
	return r
}

func (r *rvRun) recv() Delivery[string] {
	r.t.Helper()
	select {
	case d := <-r.out:
		return d
	case <-time.After(rvBound):
		r.t.Fatalf("no delivery within %v", rvBound)
		return Delivery[string]{}
	}
}

func (r *rvRun) wait() error {
	r.t.Helper()
	select {
	case err := <-r.errc:
		return err
	case <-time.After(rvBound):
		r.t.Fatalf("Run did not return within %v", rvBound)
		return nil
	}
}

func (r *rvRun) stop() error {
	r.t.Helper()
	r.cancel()
	return r.wait()
}

// rvUntil polls cond until it holds; it fails the test after rvBound. It
// waits for state of the real server over a real connection, which
// synctest cannot see; the sleep paces the polling and proves nothing.
func rvUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(rvBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, rvBound)
		}
		time.Sleep(time.Millisecond)
	}
}

// rvMsgs returns the number of messages st holds.
func rvMsgs(t *testing.T, st jetstream.Stream) uint64 {
	t.Helper()
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func rvInfo(t *testing.T, js jetstream.JetStream) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := js.Consumer(context.Background(), "S", "D")
	if err != nil {
		t.Fatalf("Consumer: %v", err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatalf("Consumer.Info: %v", err)
	}
	return info
}

// rvDialer dials connections that a test can tamper with.
type rvDialer struct {
	mu    sync.Mutex
	conns []*rvConn
	// watch is a byte pattern; every write containing it signals seen.
	watch []byte
	seen  chan struct{}
}

func newRVDialer(watch string) *rvDialer {
	return &rvDialer{watch: []byte(watch), seen: make(chan struct{}, 1024)}
}

func (d *rvDialer) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	rc := &rvConn{Conn: c, d: d, closed: make(chan struct{}), gate: make(chan struct{})}
	close(rc.gate)
	d.mu.Lock()
	d.conns = append(d.conns, rc)
	d.mu.Unlock()
	return rc, nil
}

func (d *rvDialer) last() *rvConn {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conns[len(d.conns)-1]
}

// rvConn swallows writes while swallow is set, and holds what it read
// while its gate is shut.
type rvConn struct {
	net.Conn
	d       *rvDialer
	swallow atomic.Bool

	mu   sync.Mutex
	gate chan struct{} // closed while reads flow; guarded by mu

	closeOnce sync.Once
	closed    chan struct{}
}

func (c *rvConn) Write(b []byte) (int, error) {
	if len(c.d.watch) > 0 {
		for range bytes.Count(b, c.d.watch) {
			select {
			case c.d.seen <- struct{}{}:
			default:
			}
		}
	}
	if c.swallow.Load() {
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *rvConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	gate := c.gate
	c.mu.Unlock()
	select {
	case <-gate:
	case <-c.closed:
	}
	return n, err
}

func (c *rvConn) holdReads() {
	c.mu.Lock()
	c.gate = make(chan struct{})
	c.mu.Unlock()
}

func (c *rvConn) releaseReads() {
	c.mu.Lock()
	select {
	case <-c.gate:
	default:
		close(c.gate)
	}
	c.mu.Unlock()
}

func (c *rvConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (c *rvConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (d *rvDialer) waitSeen(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-d.seen:
		case <-time.After(rvBound):
			t.Fatalf("saw %d writes of %q, want %d", i, d.watch, n)
		}
	}
}

// Promise (Source.Close): "naks every delivery still unsettled ... and
// closes every connection". An AckSync in flight while Close runs makes
// Close skip the delivery; when that AckSync then fails, the delivery is
// unsettled again (as AckSync promises) but nothing ever naks it, and its
// connection stays open after Close has returned.
func TestAttackCloseDuringFailingAckSyncLeavesConnectionOpen(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	rvPublish(t, js, "a")

	dialer := newRVDialer("+ACK")
	src := rvSource(srv.URL(), func(c *SourceConfig) {
		c.Options = []nats.Option{nats.SetCustomDialer(dialer)}
	})
	r := rvStartRun(t, src, 4)
	d := r.recv()
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	conn := dialer.last()
	conn.swallow.Store(true) // the server never sees the ack, so never confirms it

	actx, acancel := context.WithCancel(context.Background())
	ackErr := make(chan error, 1)
	go func() { ackErr <- d.AckSync(actx) }()
	dialer.waitSeen(t, 1) // the AckSync is in flight

	cctx, ccancel := context.WithTimeout(context.Background(), rvBound)
	defer ccancel()
	if err := src.Close(cctx); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	acancel()
	if err := <-ackErr; err == nil {
		t.Fatalf("AckSync on a swallowed connection = nil, want an error")
	}
	leaked := !conn.isClosed()
	unsettled := src.Stats().Unsettled
	// Release what the Source left behind, so that later tests stay clean.
	nakErr := d.Nak(0)
	if leaked || unsettled != 0 {
		t.Errorf("after Close returned: connection open = %v, Stats().Unsettled = %d, a later Nak = %v; "+
			"want the connection closed, 0 unsettled and ErrSettled", leaked, unsettled, nakErr)
	}
}

// Promise (ErrSettled, Delivery): "ErrSettled is returned by the methods of
// a Delivery that has already been settled"; "the first settling call wins
// and later ones return ErrSettled". An Ack that races with an AckSync that
// later fails is refused with ErrSettled although nothing settled the
// Delivery: the program that called Ack believes the message is settled,
// and the Delivery is open again.
func TestAttackAckRefusedByFailingAckSync(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	rvPublish(t, js, "a")

	dialer := newRVDialer("+ACK")
	src := rvSource(srv.URL(), func(c *SourceConfig) {
		c.Options = []nats.Option{nats.SetCustomDialer(dialer)}
	})
	defer src.Close(context.Background())
	r := rvStartRun(t, src, 4)
	defer r.stop()
	d := r.recv()
	conn := dialer.last()
	conn.swallow.Store(true)

	actx, acancel := context.WithCancel(context.Background())
	ackErr := make(chan error, 1)
	go func() { ackErr <- d.AckSync(actx) }()
	dialer.waitSeen(t, 1)
	plain := d.Ack()
	acancel()
	syncErr := <-ackErr
	conn.swallow.Store(false)
	if syncErr == nil {
		t.Fatalf("AckSync on a swallowed connection = nil, want an error")
	}
	if !errors.Is(plain, ErrSettled) {
		t.Fatalf("Ack during AckSync = %v, want ErrSettled", plain)
	}
	// ErrSettled said the Delivery was settled; it must stay so.
	if err := d.Nak(0); !errors.Is(err, ErrSettled) {
		t.Errorf("Ack returned ErrSettled, but a later Nak = %v, want ErrSettled: the Delivery was not settled", err)
	}
}

// Promise (fanin.Starter, which Source implements): "Start must return
// promptly once ctx ends". Source.Start dials with nats.Connect, which
// does not see ctx.
func TestAttackStartIgnoresContextWhileDialing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // a server that never says INFO
		}
	}()
	src := rvSource("nats://"+ln.Addr().String(), func(c *SourceConfig) {
		c.Options = []nats.Option{nats.Timeout(time.Minute)}
	})
	defer src.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- src.Start(ctx) }()
	var c net.Conn
	select {
	case c = <-accepted:
	case <-time.After(rvBound):
		t.Fatalf("Start did not dial")
	}
	cancel()
	select {
	case err := <-errc:
		c.Close()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Start after its ctx ended = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		c.Close() // lets the dial fail, so that nothing leaks
		err := <-errc
		t.Errorf("Start did not return within 5s of its ctx ending (nats.Timeout 1m); it returned %v once the peer hung up", err)
	}
}

// Promise (Publisher): bounded in flight; TrySend ErrFull at once; Close
// refuses new and waiting sends with ErrClosed, waits for the publishes in
// flight and lets them finish; retries carry the same id (stored once).
func TestAttackPublisherBoundAndClose(t *testing.T) {
	srv := rvServer(t)
	_, adm := rvJS(t, srv.URL())
	st := rvStream(t, adm, jetstream.StreamConfig{})
	dialer := newRVDialer("HPUB")
	_, js := rvJS(t, srv.URL(), nats.SetCustomDialer(dialer))
	pub := NewPublisher(js, "s.in", 2, rvEncode)
	ctx := context.Background()
	if err := pub.Send(ctx, "warm"); err != nil { // sets up the reply subscription
		t.Fatalf("Send(warm) = %v, want nil", err)
	}
	conn := dialer.last()
	for len(dialer.seen) > 0 {
		<-dialer.seen
	}
	conn.swallow.Store(true)

	results := make(chan error, 3)
	go func() { results <- pub.Send(ctx, "a") }()
	go func() { results <- pub.Send(ctx, "b") }()
	rvUntil(t, "two publishes hold the two slots", func() bool { return len(pub.slots) == 2 })
	if err := pub.TrySend("c"); !errors.Is(err, fanin.ErrFull) {
		t.Fatalf("TrySend with every slot taken = %v, want ErrFull", err)
	}
	waiting := make(chan error, 1)
	go func() { waiting <- pub.Send(ctx, "w") }()

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := pub.Close(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with 2 in flight and an ended ctx = %v, want context.Canceled", err)
	}
	select {
	case <-pub.Done():
	default:
		t.Fatalf("Done not closed after Close")
	}
	if err := <-waiting; !errors.Is(err, fanin.ErrClosed) {
		t.Errorf("Send waiting for a slot, after Close = %v, want ErrClosed", err)
	}
	if err := pub.Send(ctx, "late"); !errors.Is(err, fanin.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := pub.TrySend("late"); !errors.Is(err, fanin.ErrClosed) {
		t.Errorf("TrySend after Close = %v, want ErrClosed", err)
	}
	dialer.waitSeen(t, 4) // each of the two has been retried at least once
	conn.swallow.Store(false)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("Send in flight across Close = %v, want nil once the server answers", err)
		}
	}
	if err := pub.Close(ctx); err != nil {
		t.Errorf("Close after the last PubAck = %v, want nil", err)
	}
	if n := rvMsgs(t, st); n != 3 {
		t.Errorf("stream holds %d messages, want 3 (warm, a, b, each once)", n)
	}
}

// Promise: a publish whose PubAck is lost is retried with the same
// Nats-Msg-Id and stored once; Send returns nil only after a PubAck.
func TestAttackPublishRetryAfterLostPubAckStoredOnce(t *testing.T) {
	srv := rvServer(t)
	_, adm := rvJS(t, srv.URL())
	st := rvStream(t, adm, jetstream.StreamConfig{})
	dialer := newRVDialer("HPUB")
	_, js := rvJS(t, srv.URL(), nats.SetCustomDialer(dialer))
	pub := NewPublisher(js, "s.in", 0, rvEncode)
	defer pub.Close(context.Background())
	ctx := context.Background()
	if err := pub.Send(ctx, "warm"); err != nil {
		t.Fatalf("Send(warm) = %v", err)
	}
	for len(dialer.seen) > 0 {
		<-dialer.seen
	}
	conn := dialer.last()
	conn.holdReads() // the PubAck is held back: the attempt times out
	res := make(chan error, 1)
	go func() { res <- pub.Send(ctx, "x") }()
	dialer.waitSeen(t, 2) // first attempt and its retry
	rvUntil(t, "x stored", func() bool {
		info, err := st.Info(ctx)
		return err == nil && info.State.Msgs == 2
	})
	select {
	case err := <-res:
		t.Fatalf("Send returned %v before any PubAck could arrive", err)
	default:
	}
	conn.releaseReads()
	if err := <-res; err != nil {
		t.Fatalf("Send(x) = %v, want nil", err)
	}
	if n := rvMsgs(t, st); n != 2 {
		t.Errorf("stream holds %d messages after a retried publish, want 2 (warm, x once)", n)
	}
}

// Promise: a failed publish is an error, never a silent drop; a refusal
// by the stream is returned at once, not retried until ctx ends.
func TestAttackPublishRefusalIsAnError(t *testing.T) {
	srv := rvServer(t)
	nc, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{MaxMsgs: 1, Discard: jetstream.DiscardNew})
	pub := NewPublisher(js, "s.in", 0, rvEncode)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := pub.Send(ctx, "one"); err != nil {
		t.Fatalf("Send(one) = %v, want nil", err)
	}
	err := pub.Send(ctx, "two")
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send to a full DiscardNew stream = %v, want the stream's refusal", err)
	}
	if err := pub.TrySend("three"); err == nil {
		t.Errorf("TrySend to a full DiscardNew stream = nil, want an error")
	}
	if err := pub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	pub2 := NewPublisher(js, "s.in", 0, rvEncode)
	nc.Close()
	if err := pub2.Send(ctx, "four"); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send on a closed connection = %v, want the connection's error at once", err)
	}
	pub2.Close(ctx)
}

// Promise: Meta fields (ID, Subject, Stream, Consumer, StreamSeq,
// ConsumerSeq, NumDelivered, Stored) are correct, also on redelivery.
func TestAttackMetaFields(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	before := time.Now().Add(-time.Second)
	rvPublish(t, js, "m1", "m2")
	after := time.Now().Add(time.Second)
	src := rvSource(srv.URL(), nil)
	defer src.Close(context.Background())
	r := rvStartRun(t, src, 4)
	defer r.stop()
	d1, d2 := r.recv(), r.recv()
	for i, c := range []struct {
		d    Delivery[string]
		id   string
		sseq uint64
		cseq uint64
		n    uint64
	}{{d1, "m1", 1, 1, 1}, {d2, "m2", 2, 2, 1}} {
		m := c.d.Meta
		if c.d.Value != c.id || m.ID != c.id || m.Subject != "s.in" || m.Stream != "S" || m.Consumer != "D" ||
			m.StreamSeq != c.sseq || m.ConsumerSeq != c.cseq || m.NumDelivered != c.n ||
			m.Stored.Before(before) || m.Stored.After(after) {
			t.Errorf("delivery %d: value %q meta %+v, want id %s seq %d/%d delivered %d", i, c.d.Value, m, c.id, c.sseq, c.cseq, c.n)
		}
	}
	if err := d1.Nak(0); err != nil {
		t.Fatalf("Nak = %v", err)
	}
	d3 := r.recv()
	if m := d3.Meta; m.ID != "m1" || m.StreamSeq != 1 || m.ConsumerSeq != 3 || m.NumDelivered != 2 {
		t.Errorf("redelivery meta %+v, want m1 stream seq 1, consumer seq 3, delivered 2", m)
	}
	for _, d := range []Delivery[string]{d2, d3} {
		if err := d.AckSync(context.Background()); err != nil {
			t.Fatalf("AckSync = %v", err)
		}
	}
	if st := src.Stats(); st.Redelivered != 1 || st.Naked != 1 || st.Acked != 2 || st.Received != 3 {
		t.Errorf("Stats = %+v, want Received 3, Redelivered 1, Naked 1, Acked 2", st)
	}
}

// Promise: a payload that decode rejects or panics on is terminated with
// the error as the reason, counted in Stats().Poison, never handed over,
// never a crash; order of the rest is kept.
func TestAttackPoisonTerminatedWithReason(t *testing.T) {
	srv := rvServer(t)
	nc, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	adv, err := nc.SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.D")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	rvPublish(t, js, "ok1", "bad", "panic", "ok2")
	src := NewSource(SourceConfig{URL: srv.URL(), Stream: "S",
		Consumer: jetstream.ConsumerConfig{Durable: "D", AckWait: time.Minute}},
		func(b []byte) (string, error) {
			switch string(b) {
			case "bad":
				return "", errors.New("rejected payload")
			case "panic":
				panic("decoder boom")
			}
			return string(b), nil
		})
	defer src.Close(context.Background())
	ch := fanin.New[Delivery[string]](4)
	out, _ := ch.Start()
	snd, _ := ch.Sender()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- src.Run(ctx, snd) }()
	for _, want := range []string{"ok1", "ok2"} {
		select {
		case d := <-out:
			if d.Value != want {
				t.Errorf("delivery %q, want %q", d.Value, want)
			}
			if err := d.AckSync(context.Background()); err != nil {
				t.Fatal(err)
			}
		case <-time.After(rvBound):
			t.Fatalf("no delivery")
		}
	}
	reasons := map[string]bool{}
	for range 2 {
		m, err := adv.NextMsg(rvBound)
		if err != nil {
			t.Fatalf("termination advisory: %v", err)
		}
		var a struct {
			StreamSeq uint64 `json:"stream_seq"`
			Reason    string `json:"reason"`
		}
		if err := json.Unmarshal(m.Data, &a); err != nil {
			t.Fatal(err)
		}
		reasons[a.Reason] = true
	}
	var rejected, panicked bool
	for r := range reasons {
		rejected = rejected || strings.Contains(r, "rejected payload")
		panicked = panicked || strings.Contains(r, "decoder boom")
	}
	if !rejected || !panicked {
		t.Errorf("termination reasons %v, want the decoder's error and its panic", reasons)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Poison != 2 || st.HandedOver != 2 {
		t.Errorf("Stats = %+v, want Poison 2, HandedOver 2", st)
	}
	info := rvInfo(t, js)
	if info.NumAckPending != 0 || info.NumPending != 0 || info.NumRedelivered != 0 {
		t.Errorf("consumer: ack pending %d, pending %d, redelivered %d; want 0, 0, 0",
			info.NumAckPending, info.NumPending, info.NumRedelivered)
	}
}

// Promise: on shutdown Run stops pulling and naks what it pulled but did
// not hand over, so that redelivery is immediate (not after AckWait); what
// it handed over stays ackable after Run returned.
func TestAttackShutdownNaksWhatWasHeld(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	var msgs []string
	for i := range 20 {
		msgs = append(msgs, string(rune('a'+i)))
	}
	rvPublish(t, js, msgs...)
	src := rvSource(srv.URL(), func(c *SourceConfig) {
		c.Consumer.AckWait = time.Hour // redelivery by AckWait would fail the test
		c.Consumer.MaxAckPending = 20  // larger than the lane, on purpose
	})
	defer src.Close(context.Background())
	r := rvStartRun(t, src, 2)
	// The sender hands over after the receipt: wait for the lane too.
	rvUntil(t, "all 20 pulled, 2 in the lane", func() bool {
		st := src.Stats()
		return st.Received == 20 && st.HandedOver == 2
	})
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if st := src.Stats(); st.Returned != 18 || st.HandedOver != 2 || st.Unsettled != 2 {
		t.Errorf("Stats after Run = %+v, want Returned 18, HandedOver 2, Unsettled 2", st)
	}
	// The lane keeps 2; they are acked after Run returned.
	var kept []Delivery[string]
	for range 2 {
		kept = append(kept, <-r.out)
	}

	src2 := rvSource(srv.URL(), nil)
	defer src2.Close(context.Background())
	r2 := rvStartRun(t, src2, 32)
	defer r2.stop()
	// Redeliveries are exempt from stream order; each must come back
	// once, at once (AckWait is an hour).
	want := map[string]bool{}
	for _, m := range msgs[2:] {
		want[m] = true
	}
	for i := range 18 {
		d := r2.recv()
		if d.Meta.NumDelivered != 2 || !want[d.Value] {
			t.Errorf("redelivery %d: %q meta %+v, want one of the 18 returned, delivered twice", i, d.Value, d.Meta)
		}
		delete(want, d.Value)
		if err := d.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range kept {
		if err := d.AckSync(context.Background()); err != nil {
			t.Errorf("AckSync after Run returned = %v, want nil", err)
		}
	}
	rvUntil(t, "everything acked", func() bool {
		info := rvInfo(t, js)
		return info.NumAckPending == 0 && info.NumPending == 0
	})
}

// Promise: while Run runs, nothing waits in the lane (or behind it) past
// AckWait: the Source sends InProgress every AckWait/3.
func TestAttackNothingRedeliveredWhileWaiting(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	rvPublish(t, js, "a", "b", "c", "d")
	src := rvSource(srv.URL(), func(c *SourceConfig) {
		c.Consumer.AckWait = 1500 * time.Millisecond
		c.Consumer.MaxAckPending = 4
	})
	defer src.Close(context.Background())
	r := rvStartRun(t, src, 1) // one in the lane, one in Send, two held
	// Every delivery extended three times: at least AckWait has passed
	// since each was received.
	rvUntil(t, "12 extensions", func() bool { return src.Stats().Extended >= 12 })
	if info := rvInfo(t, js); info.NumRedelivered != 0 {
		t.Errorf("consumer redelivered %d while the Source extended", info.NumRedelivered)
	}
	for i, want := range []string{"a", "b", "c", "d"} {
		d := r.recv()
		if d.Value != want || d.Meta.NumDelivered != 1 {
			t.Errorf("delivery %d: %q delivered %d times, want %q once", i, d.Value, d.Meta.NumDelivered, want)
		}
		if err := d.AckSync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	if st := src.Stats(); st.Received != 4 || st.Redelivered != 0 {
		t.Errorf("Stats = %+v, want Received 4, Redelivered 0", st)
	}
}

// Promise: order is stream order apart from redeliveries, also when the
// lane is much smaller than the window.
func TestAttackOrderUnderBackpressure(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	const n = 200
	var msgs []string
	for i := range n {
		msgs = append(msgs, "m"+strings.Repeat("x", i%7)+string(rune('A'+i%26))+"-"+itoa(i))
	}
	rvPublish(t, js, msgs...)
	src := rvSource(srv.URL(), func(c *SourceConfig) { c.Consumer.MaxAckPending = 64 })
	defer src.Close(context.Background())
	r := rvStartRun(t, src, 3)
	for i := range n {
		d := r.recv()
		if d.Meta.StreamSeq != uint64(i+1) || d.Value != msgs[i] || d.Meta.NumDelivered != 1 {
			t.Fatalf("delivery %d: %q seq %d delivered %d, want %q seq %d once", i, d.Value, d.Meta.StreamSeq, d.Meta.NumDelivered, msgs[i], i+1)
		}
		if err := d.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// Promise: a lost connection ends Run with ErrConnLost; the Source starts
// again on a new connection and nothing unacked is lost; an Ack on the
// lost connection is an error.
func TestAttackConnLostThenRestart(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	rvPublish(t, js, "a", "b", "c")
	dialer := newRVDialer("")
	src := rvSource(srv.URL(), func(c *SourceConfig) {
		c.Consumer.AckWait = time.Second
		c.Options = []nats.Option{nats.SetCustomDialer(dialer)}
	})
	defer src.Close(context.Background())
	r := rvStartRun(t, src, 8)
	d := r.recv()
	dialer.last().Conn.Close() // the network drops the connection
	if err := r.wait(); !errors.Is(err, ErrConnLost) {
		t.Fatalf("Run after the connection dropped = %v, want ErrConnLost", err)
	}
	if err := d.Ack(); err == nil {
		t.Errorf("Ack on a lost connection = nil, want an error")
	}
	r2 := rvStartRun(t, src, 8)
	defer r2.stop()
	got := map[string]bool{}
	for len(got) < 3 {
		d := r2.recv()
		got[d.Value] = true
		if err := d.AckSync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if src.Stats().Runs != 2 {
		t.Errorf("Runs = %d, want 2", src.Stats().Runs)
	}
}

// Promise: Start creates or updates the durable consumer on every start; a
// consumer deleted under a Run ends the Run with an error (its kind is
// attacked in TestAttackConsumerDeletedReportedAsConnLost), and the next
// Start creates it again.
func TestAttackConsumerDeletedAndRecreated(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	st := rvStream(t, js, jetstream.StreamConfig{})
	rvPublish(t, js, "a")
	src := rvSource(srv.URL(), nil)
	defer src.Close(context.Background())
	r := rvStartRun(t, src, 8)
	d := r.recv()
	if err := d.AckSync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteConsumer(context.Background(), "D"); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(); err == nil {
		t.Fatalf("Run after its consumer was deleted = nil, want an error")
	}
	src2 := rvSource(srv.URL(), func(c *SourceConfig) { c.Consumer.AckWait = 42 * time.Second })
	defer src2.Close(context.Background())
	if err := src2.Start(context.Background()); err != nil {
		t.Fatalf("Start = %v", err)
	}
	if info := rvInfo(t, js); info.Config.AckWait != 42*time.Second {
		t.Errorf("consumer AckWait %v after Start, want 42s", info.Config.AckWait)
	}
	src3 := rvSource(srv.URL(), func(c *SourceConfig) { c.Consumer.AckWait = 7 * time.Second })
	defer src3.Close(context.Background())
	if err := src3.Start(context.Background()); err != nil {
		t.Fatalf("Start = %v", err)
	}
	if info := rvInfo(t, js); info.Config.AckWait != 7*time.Second {
		t.Errorf("consumer AckWait %v after a second Start, want 7s (updated)", info.Config.AckWait)
	}
}

// Promise: a Group restarts the Source after a lost connection; after
// Group and Source are done, no goroutine is left.
func TestAttackGroupLifecycleLeavesNothing(t *testing.T) {
	srv, err := embed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	rvStream(t, js, jetstream.StreamConfig{})
	rvPublish(t, js, "a", "b", "c", "d")
	dialer := newRVDialer("")
	src := rvSource(srv.URL(), func(c *SourceConfig) {
		c.Consumer.AckWait = time.Second
		c.Options = []nats.Option{nats.SetCustomDialer(dialer)}
	})
	var g fanin.Group[Delivery[string]]
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.Add(ctx, src, fanin.WithLane(8, 1), fanin.WithRestart(fanin.RestartOnFailure)); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	handled := 0
	runErr := make(chan error, 1)
	go func() {
		runErr <- g.Run(ctx, func(d Delivery[string]) error {
			handled++
			if handled == 2 {
				dialer.last().Conn.Close() // drop the connection once, mid-load
			}
			if d.Ack() == nil {
				seen[d.Value] = true
				if len(seen) == 4 {
					cancel()
				}
			}
			return nil
		})
	}()
	select {
	case err := <-runErr:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Group.Run = %v", err)
		}
	case <-time.After(rvBound):
		cancel()
		t.Fatalf("not all 4 acked within %v; seen %v", rvBound, seen)
	}
	if err := src.Close(context.Background()); err != nil {
		t.Errorf("Close = %v", err)
	}
	nc.Close()
	srv.Stop()
	if err := goleak.Find(); err != nil {
		t.Errorf("goroutines left after Group, Source, client and server ended: %v", err)
	}
}

// Promise (SourceStats.Unsettled): "now: pulled and not settled, across
// open connections". After the Source's only connection was lost, the
// deliveries on it are still counted.
func TestAttackStatsUnsettledCountsLostConnection(t *testing.T) {
	srv := rvServer(t)
	_, js := rvJS(t, srv.URL())
	rvStream(t, js, jetstream.StreamConfig{})
	rvPublish(t, js, "a")
	dialer := newRVDialer("")
	src := rvSource(srv.URL(), func(c *SourceConfig) {
		c.Options = []nats.Option{nats.SetCustomDialer(dialer)}
	})
	defer src.Close(context.Background())
	r := rvStartRun(t, src, 8)
	d := r.recv()
	conn := dialer.last()
	conn.Conn.Close()
	if err := r.wait(); !errors.Is(err, ErrConnLost) {
		t.Fatalf("Run = %v, want ErrConnLost", err)
	}
	n := src.Stats().Unsettled
	d.Ack() // fails; releases the delivery
	if n != 0 {
		t.Errorf("Stats().Unsettled with no connection open = %d, want 0", n)
	}
}

// Promise (Source.Run): "Run returns an error matching ErrConnLost if the
// connection is lost, another error if the consumer fails (it was deleted,
// say)". With nothing left unsettled, a deleted consumer is reported as a
// lost connection.
func TestAttackConsumerDeletedReportedAsConnLost(t *testing.T) {
	for _, c := range []struct {
		name    string
		settled bool
	}{{"all settled", true}, {"one unsettled", false}} {
		t.Run(c.name, func(t *testing.T) {
			srv := rvServer(t)
			_, js := rvJS(t, srv.URL())
			st := rvStream(t, js, jetstream.StreamConfig{})
			rvPublish(t, js, "a")
			src := rvSource(srv.URL(), nil)
			defer src.Close(context.Background())
			r := rvStartRun(t, src, 8)
			d := r.recv()
			if c.settled {
				if err := d.AckSync(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.DeleteConsumer(context.Background(), "D"); err != nil {
				t.Fatal(err)
			}
			err := r.wait()
			if err == nil || errors.Is(err, ErrConnLost) {
				t.Errorf("Run after its consumer was deleted = %v, want a consumer error, not ErrConnLost", err)
			}
		})
	}
}

// Promise (lifecycle): a Run with ctx already ended releases what Start
// made and returns nil; a Run stopped by Close returns ErrClosed; after
// Close, Start and Run return ErrClosed; nothing is left running.
func TestAttackLifecycleErrClosedAndNoLeak(t *testing.T) {
	srv, err := embed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	rvStream(t, js, jetstream.StreamConfig{})
	rvPublish(t, js, "a")

	src := rvSource(srv.URL(), nil)
	if err := src.Start(context.Background()); err != nil {
		t.Fatalf("Start = %v", err)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	ch := fanin.New[Delivery[string]](4)
	out, _ := ch.Start()
	snd, _ := ch.Sender()
	if err := src.Run(ended, snd); err != nil {
		t.Errorf("Run with ctx already ended = %v, want nil", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- src.Run(context.Background(), snd) }()
	d := <-out
	if err := src.Close(context.Background()); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("Run stopped by Close = %v, want ErrClosed", err)
	}
	if err := d.Ack(); !errors.Is(err, ErrSettled) {
		t.Errorf("Ack after Close gave the delivery back = %v, want ErrSettled", err)
	}
	if err := src.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if err := src.Run(context.Background(), snd); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close = %v, want ErrClosed", err)
	}
	if st := src.Stats(); st.Returned != 1 || st.Unsettled != 0 {
		t.Errorf("Stats = %+v, want Returned 1, Unsettled 0", st)
	}
	ch.Shutdown(context.Background())
	nc.Close()
	srv.Stop()
	if err := goleak.Find(); err != nil {
		t.Errorf("goroutines left: %v", err)
	}
}

// Promise: Send returns nil only once the message is stored: it survives
// a restart of the server on the same store.
func TestAttackAcceptedSurvivesServerRestart(t *testing.T) {
	srv, err := embed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(10*time.Millisecond))
	if err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st := rvStream(t, js, jetstream.StreamConfig{})
	pub := NewPublisher(js, "s.in", 0, rvEncode)
	defer pub.Close(context.Background())
	for _, m := range []string{"a", "b"} {
		if err := pub.Send(context.Background(), m); err != nil {
			t.Fatalf("Send(%q) = %v", m, err)
		}
	}
	srv, err = srv.Restart()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), rvBound)
	defer cancel()
	// The retries of this Send span the reconnection.
	if err := pub.Send(ctx, "c"); err != nil {
		t.Fatalf("Send(c) after the restart = %v, want nil", err)
	}
	if n := rvMsgs(t, st); n != 3 {
		t.Errorf("stream holds %d after a restart, want 3", n)
	}
}
