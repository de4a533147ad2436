package natsjs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
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

// Every test runs against a real NATS server embedded in the test process;
// goleak then proves that the server, the clients and the Sources each
// leave no goroutine behind once shut down.
//
// Run with serverDirEnv set, the test binary is instead a server process
// of its own (see serverProcess), which the crash tests kill.
func TestMain(m *testing.M) {
	if dir := os.Getenv(serverDirEnv); dir != "" {
		serveForParent(dir, os.Getenv(serverPortEnv))
	}
	goleak.VerifyTestMain(m)
}

const (
	streamName = "EVENTS"
	subject    = "events.in"
	durable    = "agent"
	// wait bounds every wait for something the server does promptly;
	// it is far above what any of them takes on loopback.
	wait = 10 * time.Second
)

// fixture is an embedded server with one stream, and a connection for the
// test's own publishing and inspection.
type fixture struct {
	t   testing.TB
	srv *embed.Server
	nc  *nats.Conn
	js  jetstream.JetStream
	pub *Publisher[string]
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	srv, err := embed.Start(t.TempDir(), 0)
	if err != nil {
		t.Fatalf("embed.Start: %v", err)
	}
	f := &fixture{t: t, srv: srv}
	t.Cleanup(func() { f.srv.Stop() })
	// The test's connection rides out server restarts by itself.
	f.nc, err = nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		// The tests stop the server under this connection on purpose;
		// the default handler would print each failed write.
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(f.nc.Close)
	f.js, err = jetstream.New(f.nc)
	if err != nil {
		t.Fatalf("jetstream.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err = f.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     streamName,
		Subjects: []string{"events.>"},
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		t.Fatalf("CreateStream: %v", err)
	}
	f.pub = NewPublisher(f.js, subject, 0, encodeString)
	t.Cleanup(func() { f.pub.Close(context.Background()) })
	return f
}

// encodeString publishes "id|payload" strings: the part before the bar is
// the message id.
func encodeString(s string) (string, []byte, error) {
	id, _, ok := strings.Cut(s, "|")
	if !ok {
		return "", nil, errors.New("no id")
	}
	return id, []byte(s), nil
}

// decodeString refuses payloads that start with "poison".
func decodeString(b []byte) (string, error) {
	if strings.HasPrefix(string(b), "poison") {
		return "", errors.New("poisoned payload")
	}
	return string(b), nil
}

// publish publishes n messages "<prefix>-<i>|payload" and returns their ids.
func (f *fixture) publish(prefix string, n int) []string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%03d", prefix, i)
		if err := f.pub.Send(ctx, ids[i]+"|payload"); err != nil {
			f.t.Fatalf("Send(%s) = %v, want nil", ids[i], err)
		}
	}
	return ids
}

// restart stops the server and starts it again on the same store and port.
func (f *fixture) restart() {
	f.t.Helper()
	srv, err := f.srv.Restart()
	if err != nil {
		f.t.Fatalf("Restart: %v", err)
	}
	f.srv = srv
}

// config returns a SourceConfig for the fixture's stream; change tweaks it.
func (f *fixture) config(change func(*SourceConfig)) SourceConfig {
	cfg := SourceConfig{
		URL:    f.srv.URL(),
		Stream: streamName,
		Consumer: jetstream.ConsumerConfig{
			Durable:       durable,
			AckWait:       30 * time.Second,
			MaxAckPending: 32,
		},
	}
	if change != nil {
		change(&cfg)
	}
	return cfg
}

// source returns a Source that the test closes when it ends.
func (f *fixture) source(change func(*SourceConfig)) *Source[string] {
	src := NewSource(f.config(change), decodeString)
	f.t.Cleanup(func() {
		if err := src.Close(context.Background()); err != nil {
			f.t.Errorf("Close = %v, want nil", err)
		}
	})
	return src
}

// consumerInfo returns the durable consumer's state on the server.
func (f *fixture) consumerInfo() *jetstream.ConsumerInfo {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := f.js.Consumer(ctx, streamName, durable)
	if err != nil {
		f.t.Fatalf("Consumer: %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		f.t.Fatalf("Info: %v", err)
	}
	return info
}

// run is one Run of a Source into a fanin.Channel.
type run struct {
	t      *testing.T
	ch     *fanin.Channel[Delivery[string]]
	stream <-chan Delivery[string]
	cancel context.CancelFunc
	errc   chan error
}

// channel is a started fanin.Channel of deliveries.
type channel struct {
	ch     *fanin.Channel[Delivery[string]]
	stream <-chan Delivery[string]
	sender *fanin.Sender[Delivery[string]]
}

// newChannel starts a Channel of the given capacity, shut down when the
// test ends.
func newChannel(t *testing.T, capacity int) channel {
	t.Helper()
	c := channel{ch: fanin.New[Delivery[string]](capacity)}
	var err error
	if c.stream, err = c.ch.Start(); err != nil {
		t.Fatalf("Channel.Start: %v", err)
	}
	if c.sender, err = c.ch.Sender(); err != nil {
		t.Fatalf("Channel.Sender: %v", err)
	}
	t.Cleanup(func() { c.ch.Shutdown(context.Background()) })
	return c
}

// startRun starts src and runs it into a new Channel of the given
// capacity.
func startRun(t *testing.T, src *Source[string], capacity int) *run {
	t.Helper()
	c := newChannel(t, capacity)
	r := &run{t: t, ch: c.ch, stream: c.stream, errc: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	t.Cleanup(cancel)
	if err := src.Start(ctx); err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
	go func() { r.errc <- src.Run(ctx, c.sender) }()
	return r
}

// stop cancels Run, waits for it and shuts the Channel down; what is left
// in the buffer stays readable from r.stream.
func (r *run) stop() error {
	r.t.Helper()
	r.cancel()
	err := r.wait()
	r.ch.Shutdown(context.Background())
	return err
}

// wait waits for Run to return.
func (r *run) wait() error {
	r.t.Helper()
	select {
	case err := <-r.errc:
		return err
	case <-time.After(wait):
		r.t.Fatalf("Run did not return within %v", wait)
		return nil
	}
}

// recvWait bounds the wait for one delivery. The server sends at once, but
// a test that reads many deliveries in a row on a loaded machine (other
// test binaries, the race detector) can see one take seconds; a stall
// that this does not cover is a bug, and recv says whether Run ended.
const recvWait = 30 * time.Second

// recv receives one delivery, failing the test after recvWait, with Run's
// error if it has returned.
func (r *run) recv() Delivery[string] {
	r.t.Helper()
	t := time.NewTimer(recvWait)
	defer t.Stop()
	select {
	case d, ok := <-r.stream:
		if !ok {
			r.t.Fatalf("stream closed, want a delivery")
		}
		return d
	case <-t.C:
		select {
		case err := <-r.errc:
			r.t.Fatalf("no delivery within %v; Run returned %v", recvWait, err)
		default:
			r.t.Fatalf("no delivery within %v; Run is still running", recvWait)
		}
		return Delivery[string]{}
	}
}

// eventually polls cond until it holds, failing the test after wait. It
// waits for the server or a Source to reach a state, never to prove that
// something is blocked.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(wait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not within %v", what, wait)
		}
	}
}

// idOf returns the id part of a payload.
func idOf(d Delivery[string]) string {
	id, _, _ := strings.Cut(d.Value, "|")
	return id
}

// cutter dials TCP connections for a nats client and can cut them all, as
// a crash or a network failure would (no goodbye reaches the server), or
// freeze them, as a server that stops answering would.
type cutter struct {
	mu    sync.Mutex
	conns []*frozenConn
}

func (c *cutter) Dial(network, address string) (net.Conn, error) {
	conn, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	fc := &frozenConn{Conn: conn, closed: make(chan struct{})}
	c.mu.Lock()
	c.conns = append(c.conns, fc)
	c.mu.Unlock()
	return fc, nil
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cutter) freeze() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.frozen.Store(true)
	}
}

// A frozenConn, once frozen, swallows what the client writes and delivers
// nothing more to it, until the client closes it.
type frozenConn struct {
	net.Conn
	frozen    atomic.Bool
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *frozenConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.frozen.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *frozenConn) Write(b []byte) (int, error) {
	if c.frozen.Load() {
		return len(b), nil
	}
	return c.Conn.Write(b)
}

func (c *frozenConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
