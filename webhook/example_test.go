package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/webhook"
)

// post sends a signed JSON body and returns the answer's status code and
// fields.
func post(client *http.Client, url string, hdr http.Header, body []byte) (int, map[string]string) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, map[string]string{"error": err.Error()}
	}
	defer resp.Body.Close()
	var a map[string]string
	json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a
}

// The handler mounted on a program's own http.ServeMux, sending into a
// fanin.Channel.
func ExampleHandler() {
	secret := []byte("a shared secret")
	h := webhook.New(webhook.Config{
		Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)},
	})
	var c fanin.Channel[webhook.Message]
	stream, _ := c.Start()
	s, _ := c.Sender()
	h.Attach(s)

	mux := http.NewServeMux()
	mux.Handle("POST /hooks/agent", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{}
	defer client.CloseIdleConnections()

	body := []byte(`{"sender":"alice","content":"hello"}`)
	hdr := http.Header{webhook.DefaultSignatureHeader: {"sha256=" + hex.EncodeToString(webhook.Sign(secret, body))}}
	code, answer := post(client, srv.URL+"/hooks/agent", hdr, body)
	fmt.Println(code, answer["status"])

	m := <-stream
	fmt.Printf("%s says %q\n", m.Sender, m.Content)
	c.Shutdown(context.Background())
	// Output:
	// 202 accepted
	// alice says "hello"
}

// The handler as an adapter of a Group of the program's own message type:
// fanin.Map converts each webhook.Message into an Event, carrying its
// Reply so that the agent answers a caller that waits.
func ExampleHandler_group() {
	type Event struct {
		From, Text string
		Reply      fanin.Reply[string]
	}
	secret := []byte("a shared secret")
	h := webhook.New(webhook.Config{
		Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)},
		Addr:      "127.0.0.1:0", // the Group's Start binds it
	})
	var g fanin.Group[Event]
	g.Add(context.Background(), fanin.Map(h, func(m webhook.Message) Event {
		return Event{From: "webhook:" + m.Sender, Text: m.Content, Reply: m.Reply}
	}))
	stream, err := g.Start(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	agentDone := make(chan struct{})
	go func() { // the agent loop
		defer close(agentDone)
		for e := range stream.All() {
			fmt.Printf("agent: %s asks %q\n", e.From, e.Text)
			e.Reply.Resolve("it is time to ship")
		}
	}()

	client := &http.Client{}
	defer client.CloseIdleConnections()
	body := []byte(`{"sender":"alice","content":"what time is it?","wait_for_response":true}`)
	hdr := http.Header{webhook.DefaultSignatureHeader: {"sha256=" + hex.EncodeToString(webhook.Sign(secret, body))}}
	code, answer := post(client, "http://"+h.Addr().String()+"/", hdr, body)
	fmt.Println(code, answer["status"]+":", answer["response"])

	g.Shutdown(context.Background())
	<-agentDone
	// Output:
	// agent: webhook:alice asks "what time is it?"
	// 200 replied: it is time to ship
}

// Sign computes the signature a sender puts in the header; here GitHub's
// published example, which GitHub sends as X-Hub-Signature-256.
func ExampleSign() {
	sig := webhook.Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	fmt.Printf("X-Hub-Signature-256: sha256=%x\n", sig)
	// Output:
	// X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
}

// Verifying a Standard Webhooks delivery: the specification's published
// test vector, exactly at the edge of the 5-minute tolerance and a second
// past it.
func ExampleStandardWebhooks() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v, err := webhook.StandardWebhooks(secret)
	if err != nil {
		fmt.Println(err)
		return
	}
	body := []byte(`{"test": 2432232314}`)
	sent := time.Unix(1614265330, 0)
	sig, _ := webhook.SignStandard(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", sent, body)
	fmt.Println("webhook-signature:", sig)

	hdr := http.Header{
		"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {sig},
	}
	d, err := v.Verify(webhook.NewRequest(hdr, body, sent.Add(5*time.Minute)))
	fmt.Println("5m later:", d.ID, err)
	_, err = v.Verify(webhook.NewRequest(hdr, body, sent.Add(5*time.Minute+time.Second)))
	fmt.Println("5m1s later:", err)
	// Output:
	// webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=
	// 5m later: msg_p5jXN8AQM9LWM0D4loKWxJek <nil>
	// 5m1s later: webhook: timestamp outside the tolerance
}

// The Standard Webhooks specification's test vector, sent as a sender
// sends it, through ServeHTTP with the default configuration: Config.Clock
// sets the handler's clock to the vector's timestamp, as a test of one's
// own would. The payload reaches the stream as an event, with its
// delivery ID, its signed timestamp and its body as it came; a replay is
// answered from the table of deliveries, and nothing more enters the
// stream.
func ExampleHandler_ServeHTTP() {
	sw, err := webhook.StandardWebhooks("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		fmt.Println(err)
		return
	}
	h := webhook.New(webhook.Config{
		Verifiers: []webhook.Verifier{sw},
		Clock:     func() time.Time { return time.Unix(1614265330, 0) },
	})
	c := fanin.New[webhook.Message](4)
	stream, _ := c.Start()
	s, _ := c.Sender()
	h.Attach(s)

	deliver := func() {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"test": 2432232314}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
		r.Header.Set("webhook-timestamp", "1614265330")
		r.Header.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var a map[string]string
		json.Unmarshal(w.Body.Bytes(), &a)
		fmt.Println(w.Code, a["status"], "replayed:", w.Header().Get("Idempotent-Replayed") == "true")
	}
	deliver()
	deliver()
	c.Shutdown(context.Background())
	for m := range stream {
		fmt.Println(m.DeliveryID, m.Timestamp.UTC().Format(time.RFC3339), string(m.Body))
	}
	// Output:
	// 202 accepted replayed: false
	// 202 accepted replayed: true
	// msg_p5jXN8AQM9LWM0D4loKWxJek 2021-02-25T15:02:10Z {"test": 2432232314}
}

// A scheme of one's own in a few lines: Slack's, which signs
// "v0:<timestamp>:<body>" with HMAC-SHA256 and sends "v0=<hex>" in
// X-Slack-Signature. The request is Slack's published example.
func ExampleVerifierFunc() {
	slack := func(signingSecret []byte) webhook.Verifier {
		return webhook.VerifierFunc(func(r *webhook.Request) (webhook.Delivery, error) {
			ts, sig := r.Header.Get("X-Slack-Request-Timestamp"), r.Header.Get("X-Slack-Signature")
			if ts == "" && sig == "" {
				return webhook.Delivery{}, webhook.ErrNoSignature
			}
			sec, err := strconv.ParseInt(ts, 10, 64)
			if err != nil {
				return webhook.Delivery{}, webhook.ErrBadSignature
			}
			if age := r.Now.Sub(time.Unix(sec, 0)); age > 5*time.Minute || age < -5*time.Minute {
				return webhook.Delivery{}, webhook.ErrStale // checked before the body is read
			}
			body, err := r.Body()
			if err != nil {
				return webhook.Delivery{}, err
			}
			mac := hmac.New(sha256.New, signingSecret)
			fmt.Fprintf(mac, "v0:%s:%s", ts, body)
			if !hmac.Equal([]byte(sig), []byte("v0="+hex.EncodeToString(mac.Sum(nil)))) {
				return webhook.Delivery{}, webhook.ErrBadSignature
			}
			return webhook.Delivery{}, nil
		})
	}
	v := slack([]byte("8f742231b10e8888abcd99yyyzzz85a5"))

	body := []byte(strings.Join([]string{"token=xyzz0WbapA4vBCDEFasx0q6G", "team_id=T1DC2JH3J",
		"team_domain=testteamnow", "channel_id=G8PSS9T3V", "channel_name=foobar", "user_id=U2CERLKJA",
		"user_name=roadrunner", "command=%2Fwebhook-collect", "text=",
		"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN",
		"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"}, "&"))
	hdr := http.Header{
		"X-Slack-Request-Timestamp": {"1531420618"},
		"X-Slack-Signature":         {"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
	}
	_, err := v.Verify(webhook.NewRequest(hdr, body, time.Unix(1531420618, 0).Add(time.Minute)))
	fmt.Println("a minute later:", err)
	_, err = v.Verify(webhook.NewRequest(hdr, body, time.Unix(1531420618, 0).Add(time.Hour)))
	fmt.Println("an hour later:", err)
	_, err = v.Verify(webhook.NewRequest(hdr, append(body, '!'), time.Unix(1531420618, 0)))
	fmt.Println("body changed:", err)

	// Used alongside the package's schemes, in raw mode for Slack's forms:
	_ = webhook.New(webhook.Config{Verifiers: []webhook.Verifier{v}, Raw: true})
	// Output:
	// a minute later: <nil>
	// an hour later: webhook: timestamp outside the tolerance
	// body changed: webhook: invalid signature
}
