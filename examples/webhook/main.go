// Command webhook serves a fanin webhook on 127.0.0.1 and answers every
// message with an echo agent. It accepts two signature schemes at once:
// a sha256=<hex> HMAC of the body, and Standard Webhooks, whose signed ID
// and timestamp let the handler answer a replayed delivery from its table
// of recent deliveries and refuse one that is stale.
//
// It prints fresh secrets and curl commands for both schemes.
//
//	go run ./examples/webhook                 # serve until interrupted
//	go run ./examples/webhook -selftest       # send the requests itself, check the answers, and stop
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/webhook"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on (loopback)")
	secretFlag := flag.String("secret", "", "HMAC secret; a random one is made if empty")
	selftest := flag.Bool("selftest", false, "send the example requests, check the answers, and stop")
	flag.Parse()

	secret := *secretFlag
	if secret == "" {
		secret = hex.EncodeToString(randomBytes(16))
	}
	standardSecret := "whsec_" + base64.StdEncoding.EncodeToString(randomBytes(24))
	standard, err := webhook.StandardWebhooks(standardSecret)
	if err != nil {
		fail(err)
	}
	h := webhook.New(webhook.Config{
		Verifiers: []webhook.Verifier{webhook.HMACSHA256("", []byte(secret)), standard},
		Addr:      *addr,
		RateLimit: []fanin.Band{{Events: 60, Interval: time.Minute, Burst: 10}},
	})

	var g fanin.Group[webhook.Message]
	if err := g.Add(context.Background(), h); err != nil {
		fail(err)
	}
	stream, err := g.Start(context.Background())
	if err != nil {
		fail(err)
	}
	for _, st := range g.Stats().Adapters {
		if st.State != fanin.Running {
			fail(fmt.Errorf("%s is %v: %v", st.Name, st.State, st.Err))
		}
	}

	// The agent: echo each message, replying where the caller waits.
	var handled atomic.Int64
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		for m := range stream.All() {
			handled.Add(1)
			fmt.Printf("agent: %s says %q (message %s)\n", m.Sender, m.Content, m.ID)
			m.Reply.Resolve("echo: " + m.Content)
		}
	}()

	url := "http://" + h.Addr().String() + "/"
	hmacBody := []byte(`{"sender":"you","content":"hello, agent","wait_for_response":true}`)
	hmacHeader := http.Header{webhook.DefaultSignatureHeader: {"sha256=" + hex.EncodeToString(webhook.Sign([]byte(secret), hmacBody))}}
	standardBody := []byte(`{"sender":"billing","content":"invoice.paid"}`)
	delivery := "msg_" + rand.Text()
	now := time.Now()
	fresh := standardHeader(standardSecret, delivery, now, standardBody)

	fmt.Printf("serving on %s\nHMAC secret: %s\nStandard Webhooks secret: %s\n\ntry:\n", url, secret, standardSecret)
	fmt.Println(curl(url, hmacHeader, hmacBody))
	fmt.Println(curl(url, fresh, standardBody) + "   # valid for 5 minutes; run it twice")
	fmt.Println()

	code := 0
	if *selftest {
		code = selfTest(url, hmacHeader, hmacBody, standardSecret, delivery, now, standardBody)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		<-ctx.Done()
		stop()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		fail(err)
	}
	<-agentDone
	// The agent has drained everything accepted: the HMAC request and the
	// first Standard Webhooks delivery, and no replay.
	if n := handled.Load(); *selftest && n != 2 {
		fmt.Printf("selftest: the agent handled %d messages, want 2\n", n)
		code = 1
	}
	fmt.Println("shut down cleanly")
	os.Exit(code)
}

// selfTest sends the example requests and checks each answer: the HMAC
// request gets the agent's reply; a Standard Webhooks delivery is
// accepted; the same delivery sent again gets the first answer and is not
// delivered again; and the same delivery signed 6 minutes ago, as a
// replay captured earlier would be, is refused as stale.
func selfTest(url string, hmacHeader http.Header, hmacBody []byte, secret, delivery string, now time.Time, body []byte) int {
	ok := true
	expect := func(what string, code int, a answer, replayed bool, wantCode int, wantStatus string) {
		fmt.Printf("selftest: %s: %d %s", what, code, a.Status)
		if a.Error != "" {
			fmt.Printf(" (%s)", a.Error)
		}
		if replayed {
			fmt.Print(", Idempotent-Replayed")
		}
		fmt.Println()
		if code != wantCode || a.Status != wantStatus {
			fmt.Printf("selftest: want %d %s\n", wantCode, wantStatus)
			ok = false
		}
	}

	code, a, _ := send(url, hmacHeader, hmacBody)
	expect("HMAC request waiting for the reply", code, a, false, 200, "replied")
	if a.Response != "echo: hello, agent" {
		fmt.Printf("selftest: reply %q, want the echo\n", a.Response)
		ok = false
	}

	fresh := standardHeader(secret, delivery, now, body)
	code, first, replayed := send(url, fresh, body)
	expect("Standard Webhooks delivery "+delivery, code, first, replayed, 202, "accepted")
	code, again, replayed := send(url, fresh, body)
	expect("the same delivery replayed", code, again, replayed, 202, "accepted")
	if !replayed || again.MessageID != first.MessageID {
		fmt.Printf("selftest: replay answered message %q, want the first answer, %q, marked replayed\n", again.MessageID, first.MessageID)
		ok = false
	}
	stale := standardHeader(secret, delivery, now.Add(-6*time.Minute), body)
	code, a, _ = send(url, stale, body)
	expect("the delivery replayed with a timestamp 6 minutes old", code, a, false, 401, "unauthorized")

	if !ok {
		return 1
	}
	return 0
}

// answer is the webhook's JSON answer.
type answer struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Response  string `json:"response"`
	Error     string `json:"error"`
}

func send(url string, hdr http.Header, body []byte) (int, answer, bool) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header = hdr.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		fail(fmt.Errorf("answer %q is not JSON: %v", raw, err))
	}
	return resp.StatusCode, a, resp.Header.Get("Idempotent-Replayed") == "true"
}

func standardHeader(secret, id string, at time.Time, body []byte) http.Header {
	sig, err := webhook.SignStandard(secret, id, at, body)
	if err != nil {
		fail(err)
	}
	return http.Header{
		"Webhook-Id":        {id},
		"Webhook-Timestamp": {strconv.FormatInt(at.Unix(), 10)},
		"Webhook-Signature": {sig},
	}
}

func curl(url string, hdr http.Header, body []byte) string {
	s := "  curl -s -X POST " + url + " -H 'Content-Type: application/json'"
	for _, k := range []string{webhook.DefaultSignatureHeader, "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
		if v := hdr.Get(k); v != "" {
			s += fmt.Sprintf(" -H '%s: %s'", k, v)
		}
	}
	return s + " -d '" + string(body) + "'"
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "webhook:", err)
	os.Exit(1)
}
