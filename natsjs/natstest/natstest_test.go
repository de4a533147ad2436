package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/natsjs"
	"github.com/fanin-go/fanin/natsjs/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServerKeepsItsStoreAcrossRestart publishes through a Publisher to a
// natstest server, restarts the server, and reads the message back
// through a Source: the store, the port and the stream survive.
func TestServerKeepsItsStoreAcrossRestart(t *testing.T) {
	srv := natstest.NewServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, natsjs.SafeStreamConfig("S", "s.in")); err != nil {
		t.Fatalf("CreateStream = %v", err)
	}
	pub := natsjs.NewPublisher(js, "s.in", 0, natsjs.EncodeJSON(func(s string) string { return s }))
	defer pub.Close(ctx)
	if err := pub.Send(ctx, "hello"); err != nil {
		t.Fatalf("Send = %v, want nil", err)
	}

	url := srv.URL()
	srv.Restart()
	if srv.URL() != url {
		t.Errorf("URL after Restart = %s, want %s", srv.URL(), url)
	}

	src := natsjs.NewSource(natsjs.SourceConfig{URL: srv.URL(), Stream: "S",
		Consumer: jetstream.ConsumerConfig{Durable: "agent"}}, natsjs.DecodeJSON[string])
	defer src.Close(context.Background())
	if err := src.Start(ctx); err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
	ch := fanin.New[natsjs.Delivery[string]](1)
	stream, err := ch.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Shutdown(context.Background())
	sender, err := ch.Sender()
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- src.Run(runCtx, sender) }()
	select {
	case d := <-stream:
		if d.Value != "hello" || d.Meta.ID != "hello" {
			t.Errorf("delivered %q with id %q, want hello", d.Value, d.Meta.ID)
		}
		if err := d.AckSync(ctx); err != nil {
			t.Errorf("AckSync = %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("no delivery after the restart")
	}
	stop()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}
