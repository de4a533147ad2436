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
