package natsjs

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/webhook"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var secret = []byte("test secret")

// encodeWebhook publishes a webhook message as JSON under the id the
// handler gave it, and refuses one that waits for a reply.
var encodeWebhook = EncodeJSON(func(m webhook.Message) string { return m.ID })

// post sends a signed webhook request and returns the status and answer.
func post(t *testing.T, url string, body map[string]any) (int, map[string]string) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.DefaultSignatureHeader, "sha256="+hex.EncodeToString(webhook.Sign(secret, b)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var answer map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("answer: %v", err)
	}
	return resp.StatusCode, answer
}

// TestWebhookIngressAcceptsOnlyDurable runs a webhook handler attached to
// a Publisher: 202 means the stream holds the message under the id the
// caller was given; with the server down the caller gets 503, never 202.
func TestWebhookIngressAcceptsOnlyDurable(t *testing.T) {
	f := newFixture(t)
	pub := NewPublisher(f.js, "events.webhook", 0, encodeWebhook)
	defer pub.Close(context.Background())
	h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)}, SendTimeout: 300 * time.Millisecond})
	h.Attach(pub)
	srv := httptest.NewServer(h)
	defer srv.Close()

	code, answer := post(t, srv.URL, map[string]any{"sender": "alice", "content": "hello", "thread": "t1"})
	if code != http.StatusAccepted || answer["status"] != "accepted" {
		t.Fatalf("POST = %d %v, want 202 accepted", code, answer)
	}
	id := answer["message_id"]
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	stream, err := f.js.Stream(ctx, streamName)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := stream.GetLastMsgForSubject(ctx, "events.webhook")
	if err != nil {
		t.Fatalf("the accepted message is not in the stream: %v", err)
	}
	if got := stored.Header.Get(jetstream.MsgIDHeader); got != id {
		t.Errorf("stored Nats-Msg-Id = %q, want the message_id answered, %q", got, id)
	}

	src := NewSource(f.config(nil), DecodeJSON[webhook.Message])
	defer src.Close(context.Background())
	ch := fanin.New[Delivery[webhook.Message]](1)
	c, err := ch.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Shutdown(context.Background())
	sender, err := ch.Sender()
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- src.Run(runCtx, sender) }()
	select {
	case d := <-c:
		if d.Meta.ID != id || d.Value.ID != id || d.Value.Sender != "alice" || d.Value.Content != "hello" || d.Value.Thread != "t1" {
			t.Errorf("delivered %+v with Meta.ID %q, want alice's hello in t1 under %q", d.Value, d.Meta.ID, id)
		}
		if err := d.AckSync(ctx); err != nil {
			t.Errorf("AckSync = %v, want nil", err)
		}
	case <-time.After(wait):
		t.Fatalf("no delivery within %v", wait)
	}
	stop()
	if err := <-runErr; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}

	// A caller that waits for a reply is refused: it would wait in vain.
	if code, answer := post(t, srv.URL, map[string]any{"sender": "bob", "content": "?", "wait_for_response": true}); code != http.StatusUnprocessableEntity || answer["status"] != "refused" {
		t.Errorf("POST waiting for a reply = %d %v, want 422 refused: a refusal that a retry would not cure", code, answer)
	}

	f.down()
	eventually(t, "client reconnecting", func() bool { return f.nc.Status() == nats.RECONNECTING })
	if code, answer := post(t, srv.URL, map[string]any{"sender": "carol", "content": "lost?"}); code != http.StatusServiceUnavailable || answer["status"] != "busy" {
		t.Errorf("POST with the server down = %d %v, want 503 busy", code, answer)
	}
	f.up()
}

// event is a program's own message type that embeds the webhook message,
// as a program that adds fields of its own with fanin.MapSink writes it.
type event struct {
	webhook.Message
	Kind string
}

// TestEncodeJSONRefusesAMessageThatWantsAReply attaches a Publisher with a
// plain EncodeJSON to a webhook handler, directly and through
// fanin.MapSink into message types that hold the webhook message (and so
// its reply handle) embedded or behind an interface: a caller that waits
// for the agent's reply is refused at once with 422 refused and the
// reason, and nothing is stored, instead of its reply handle being stored
// as {} and the caller waiting in vain.
func TestEncodeJSONRefusesAMessageThatWantsAReply(t *testing.T) {
	f := newFixture(t)
	id := func(m webhook.Message) string { return m.ID }
	for _, c := range []struct {
		name   string
		attach func(h *webhook.Handler) func(context.Context) error
	}{
		{"webhook.Message", func(h *webhook.Handler) func(context.Context) error {
			pub := NewPublisher(f.js, "events.webhook", 0, EncodeJSON(id))
			h.Attach(pub)
			return pub.Close
		}},
		{"embedded webhook.Message", func(h *webhook.Handler) func(context.Context) error {
			pub := NewPublisher(f.js, "events.webhook", 0, EncodeJSON(func(e event) string { return e.ID }))
			h.Attach(fanin.MapSink(pub, func(m webhook.Message) event { return event{Message: m, Kind: "k"} }))
			return pub.Close
		}},
		{"embedded *webhook.Message", func(h *webhook.Handler) func(context.Context) error {
			type ptrEvent struct{ *webhook.Message }
			pub := NewPublisher(f.js, "events.webhook", 0, EncodeJSON(func(e ptrEvent) string { return e.ID }))
			h.Attach(fanin.MapSink(pub, func(m webhook.Message) ptrEvent { return ptrEvent{&m} }))
			return pub.Close
		}},
		{"webhook.Message in an any", func(h *webhook.Handler) func(context.Context) error {
			pub := NewPublisher(f.js, "events.webhook", 0, EncodeJSON(func(any) string { return "id" }))
			h.Attach(fanin.MapSink(pub, func(m webhook.Message) any { return m }))
			return pub.Close
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := webhook.New(webhook.Config{
				Verifiers:       []webhook.Verifier{webhook.HMACSHA256("", secret)},
				ResponseTimeout: 3 * time.Second,
			})
			closePub := c.attach(h)
			defer closePub(context.Background())
			srv := httptest.NewServer(h)
			defer srv.Close()

			began := time.Now()
			code, answer := post(t, srv.URL, map[string]any{"sender": "bob", "content": "?", "wait_for_response": true})
			if code != http.StatusUnprocessableEntity || answer["status"] != "refused" || !strings.Contains(answer["error"], ErrReplyWanted.Error()) {
				t.Errorf("POST waiting for a reply = %d %v, want 422 refused saying %q", code, answer, ErrReplyWanted)
			}
			if took := time.Since(began); took >= 3*time.Second {
				t.Errorf("POST waiting for a reply answered after %v, want at once", took)
			}
			if n := f.streamMsgs(); n != 0 {
				t.Errorf("stream holds %d messages, want 0", n)
			}
		})
	}
	var m webhook.Message
	m.ID = "m1"
	if _, _, err := EncodeJSON(id)(m); err != nil {
		t.Errorf("EncodeJSON of a message that wants no reply = %v, want nil", err)
	}
}

// TestTooLargeMessageIsRefused posts a webhook message that the handler
// accepts (its body and content limits raised to 4 MiB) but that exceeds the server's
// max_payload of 1 MiB once published: the Publisher refuses it at once
// with an error that matches both fanin.ErrRefused and nats.ErrMaxPayload,
// the handler answers 422 refused, as a retry would fail alike, and
// nothing is stored.
func TestTooLargeMessageIsRefused(t *testing.T) {
	f := newFixture(t)
	pub := NewPublisher(f.js, "events.webhook", 0, EncodeJSON(func(m webhook.Message) string { return m.ID }))
	defer pub.Close(context.Background())
	h := webhook.New(webhook.Config{
		Verifiers:       []webhook.Verifier{webhook.HMACSHA256("", secret)},
		MaxBodyBytes:    4 << 20,
		MaxContentBytes: 4 << 20,
	})
	h.Attach(pub)
	srv := httptest.NewServer(h)
	defer srv.Close()

	big := strings.Repeat("x", 3<<19) // 1.5 MiB
	code, answer := post(t, srv.URL, map[string]any{"sender": "bob", "content": big})
	if code != http.StatusUnprocessableEntity || answer["status"] != "refused" || !strings.Contains(answer["error"], nats.ErrMaxPayload.Error()) {
		t.Errorf("POST of 1.5 MiB = %d %v, want 422 refused saying %q", code, answer, nats.ErrMaxPayload)
	}
	if n := f.streamMsgs(); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
	err := pub.Send(context.Background(), webhook.Message{ID: "big", Content: big})
	if !errors.Is(err, fanin.ErrRefused) || !errors.Is(err, nats.ErrMaxPayload) {
		t.Errorf("Send of 1.5 MiB = %v, want an error matching fanin.ErrRefused and nats.ErrMaxPayload", err)
	}
	if code, answer := post(t, srv.URL, map[string]any{"sender": "bob", "content": "small"}); code != http.StatusAccepted {
		t.Errorf("POST of a small message after = %d %v, want 202", code, answer)
	}
}
