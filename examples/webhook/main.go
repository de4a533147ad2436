// Command webhook serves a fanin webhook on 127.0.0.1 and answers every
// message with an echo agent. It prints a fresh secret and a curl command
// that sends a signed message and waits for the reply.
//
//	go run ./examples/webhook                 # serve until interrupted
//	go run ./examples/webhook -selftest       # send one signed request itself, then stop
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/webhook"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on (loopback)")
	secretFlag := flag.String("secret", "", "HMAC secret; a random one is made if empty")
	selftest := flag.Bool("selftest", false, "send one signed request, print the answer, and stop")
	flag.Parse()

	secret := *secretFlag
	if secret == "" {
		secret = hex.EncodeToString(randomBytes(16))
	}
	h := webhook.New(webhook.Config{
		Verifiers: []webhook.Verifier{webhook.HMACSHA256("", []byte(secret))},
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
	agentDone := make(chan struct{})
	go func() {
		defer close(agentDone)
		for m := range stream.All() {
			fmt.Printf("agent: %s says %q (message %s)\n", m.Sender, m.Content, m.ID)
			m.Reply.Resolve("echo: " + m.Content)
		}
	}()

	url := "http://" + h.Addr().String() + "/"
	body := `{"sender":"you","content":"hello, agent","wait_for_response":true}`
	sig := "sha256=" + hex.EncodeToString(webhook.Sign([]byte(secret), []byte(body)))
	fmt.Printf("serving on %s\nsecret: %s\ntry:\n", url, secret)
	fmt.Printf("  curl -s -X POST %s -H 'Content-Type: application/json' -H '%s: %s' -d '%s'\n\n",
		url, webhook.DefaultSignatureHeader, sig, body)

	code := 0
	if *selftest {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.DefaultSignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fail(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("selftest: %d %s", resp.StatusCode, bytes.TrimSpace(answer))
		fmt.Println()
		if resp.StatusCode != http.StatusOK {
			code = 1
		}
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
	fmt.Println("shut down cleanly")
	os.Exit(code)
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
