package natsjs_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/natsjs"
	"github.com/fanin-go/fanin/natsjs/internal/embed"
	"github.com/fanin-go/fanin/webhook"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A webhook ingress that answers 202 once JetStream has stored the
// message, and an agent that reads it back through a Source in a Group.
func Example() {
	dir, _ := os.MkdirTemp("", "natsjs-example-")
	defer os.RemoveAll(dir)
	srv, err := embed.Start(dir, 0)
	if err != nil {
		panic(err)
	}
	defer srv.Stop()
	ctx := context.Background()

	// The server: here the package's own embedded one; in a program's
	// tests, natstest.NewServer(t); in production, a nats-server process.

	// The ingress process. The stream keeps every message until it is
	// removed on purpose, and stores a retried publish once.
	nc, _ := nats.Connect(srv.URL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	stream, err := js.CreateOrUpdateStream(ctx, natsjs.SafeStreamConfig("WEBHOOK", "webhook.in"))
	if err != nil {
		panic(err)
	}
	fmt.Println("stream check:", natsjs.CheckStream(stream.CachedInfo().Config))
	pub := natsjs.NewPublisher(js, "webhook.in", 0,
		natsjs.EncodeJSON(func(m webhook.Message) string { return cmp.Or(m.DeliveryID, m.ID) }))
	defer pub.Close(ctx)
	secret := []byte("s3cret")
	h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)}})
	h.Attach(pub)
	ingress := httptest.NewServer(h)
	defer ingress.Close()

	body := []byte(`{"sender": "alice", "content": "hello"}`)
	req, _ := http.NewRequest(http.MethodPost, ingress.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.DefaultSignatureHeader, "sha256="+hex.EncodeToString(webhook.Sign(secret, body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("ingress answered", resp.StatusCode)

	// The agent process.
	src := natsjs.NewSource(natsjs.SourceConfig{
		URL:      srv.URL(),
		Stream:   "WEBHOOK",
		Consumer: jetstream.ConsumerConfig{Durable: "agent"},
	}, natsjs.DecodeJSON[webhook.Message])
	defer src.Close(ctx)
	var g fanin.Group[natsjs.Delivery[webhook.Message]]
	g.Add(ctx, src)
	deliveries, _ := g.Start(ctx)
	d, _ := deliveries.Recv(ctx)
	fmt.Printf("agent: %s says %q (delivery %d of stream message %d)\n",
		d.Value.Sender, d.Value.Content, d.Meta.NumDelivered, d.Meta.StreamSeq)
	fmt.Println("ack:", d.AckSync(ctx))
	g.Shutdown(ctx)

	// Output:
	// stream check: <nil>
	// ingress answered 202
	// agent: alice says "hello" (delivery 1 of stream message 1)
	// ack: <nil>
}
