package natsjs

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestStartContextBoundsOnlyTheDial checks that the ctx given to Start
// bounds the dial and nothing after it: the connection Start made keeps
// serving after that ctx has ended, and reconnects after a server restart
// (reconnection turned on by Options), which dials again through the same
// dialer. The URL names the host, so the Source's dialer resolves it.
func TestStartContextBoundsOnlyTheDial(t *testing.T) {
	f := newFixture(t)
	f.publish("m", 1)
	_, port, err := net.SplitHostPort(strings.TrimPrefix(f.srv.URL(), "nats://"))
	if err != nil {
		t.Fatal(err)
	}
	var disconnects atomic.Int32
	src := f.source(func(cfg *SourceConfig) {
		cfg.URL = "nats://localhost:" + port
		cfg.Options = []nats.Option{nats.MaxReconnects(-1), nats.ReconnectWait(20 * time.Millisecond),
			nats.DisconnectErrHandler(func(*nats.Conn, error) { disconnects.Add(1) })}
	})
	ctx, cancel := context.WithCancel(context.Background())
	if err := src.Start(ctx); err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
	cancel()
	c := newChannel(t, 4)
	errc := make(chan error, 1)
	runCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() { errc <- src.Run(runCtx, c.sender) }()
	r := &run{t: t, ch: c.ch, stream: c.stream, cancel: stop, errc: errc}

	if err := r.recv().AckSync(context.Background()); err != nil {
		t.Fatalf("AckSync after Start's ctx ended = %v, want nil", err)
	}
	if n := disconnects.Load(); n != 0 {
		t.Errorf("connection lost %d times after Start's ctx ended, want 0", n)
	}
	f.restart()
	f.publish("n", 1)
	d := r.recv()
	if d.Meta.ID != "n-000" {
		t.Errorf("delivery after the restart = %s, want n-000", d.Meta.ID)
	}
	if err := d.AckSync(context.Background()); err != nil {
		t.Fatalf("AckSync after the reconnection = %v, want nil", err)
	}
	if err := r.stop(); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// TestStartWaitingForTheServerEndsWithCtxOrClose: a Start after the first
// waits for a server that is down, and returns ctx.Err() once its ctx
// ends, or ErrClosed once the Source is closed, while it waits.
func TestStartWaitingForTheServerEndsWithCtxOrClose(t *testing.T) {
	f := newFixture(t)
	f.down()
	src := f.source(nil)
	if err := src.Start(context.Background()); err == nil {
		t.Fatalf("first Start with the server down = nil, want its error at once")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := src.Start(ctx); err != context.DeadlineExceeded {
		t.Errorf("second Start with the server down = %v, want the ctx's DeadlineExceeded", err)
	}
	if n := src.Stats().DialFailures; n < 2 {
		t.Errorf("DialFailures = %d, want at least 2 (it redialed while waiting)", n)
	}
	errc := make(chan error, 1)
	go func() { errc <- src.Start(context.Background()) }()
	failed := src.Stats().DialFailures
	eventually(t, "a redial", func() bool { return src.Stats().DialFailures > failed })
	if err := src.Close(context.Background()); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	select {
	case err := <-errc:
		if err != ErrClosed {
			t.Errorf("waiting Start after Close = %v, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatalf("waiting Start did not return within %v of Close", wait)
	}
	f.up()
}
