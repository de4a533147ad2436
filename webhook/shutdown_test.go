package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fanin-go/fanin"
)

// serverGoroutines returns the stacks of goroutines that serve HTTP
// connections or run the handler: none may outlive Run.
func serverGoroutines() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "net/http.(*conn).serve") || strings.Contains(g, "webhook.(*Handler)") ||
			strings.Contains(g, "webhook.(*run)") || strings.Contains(g, "webhook.(*exchange)") {
			out = append(out, g)
		}
	}
	return out
}

// stopWithin stops rn and fails the test if Run takes longer than d to
// return, or returns an error, or leaves a handler running, or a goroutine
// of its server that does not end at once.
func stopWithin(t *testing.T, rn *running, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- rn.stop() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(d):
		t.Fatalf("Run has not returned %v after its context ended", d)
	}
	took := time.Since(start)
	checkServerGone(t)
	return took
}

// checkServerGone checks Run's promise about goroutines once it returned:
// no handler runs, and the goroutine of each connection, which net/http
// starts and which has told Run that its connection closed, has only to
// return; so it must be gone soon, on a loaded machine too.
func checkServerGone(t *testing.T) {
	t.Helper()
	for _, g := range serverGoroutines() {
		if strings.Contains(g, "webhook.(*Handler)") || strings.Contains(g, "webhook.(*exchange)") {
			t.Errorf("a handler runs after Run returned:\n%s", g)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for left := serverGoroutines(); len(left) > 0; left = serverGoroutines() {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines of the server outlive Run by 5 s:\n%s", len(left), strings.Join(left, "\n\n"))
			return
		}
		runtime.Gosched()
	}
}

// TestRunStalledBody: a client stalled in the middle of its body must not
// hold Run's shutdown: it is answered 503 closed at once, and no goroutine
// of the server outlives Run. It used to hold the shutdown for
// SendTimeout+5s and outlive it.
func TestRunStalledBody(t *testing.T) {
	rn := serveRun(t, Config{Verifiers: signed}, 4)
	reading := make(chan struct{})
	rn.h.hook = func(step string) {
		if step == "read body" {
			close(reading)
		}
	}
	c := dial(t, strings.TrimPrefix(strings.TrimSuffix(rn.url, "/"), "http://"), "")
	defer c.Close()
	body := msg("alice", "stalls half way", false)
	startPost(t, c, hmacHeader(DefaultSignatureHeader, secret, body), len(body), 5)
	<-reading
	took := stopWithin(t, rn, 2*time.Second)
	t.Logf("Run returned %v after its context ended", took)
	resp, err := readAnswer(c)
	if err != nil {
		t.Fatalf("the stalled client got no answer: %v", err)
	}
	if resp.StatusCode != 503 {
		t.Errorf("stalled client answered %d, want 503", resp.StatusCode)
	}
	if n := rn.c.Len(); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}

// TestRunBlockedSend: a request waiting for room in a full buffer when
// Run's context ends is answered 503 closed at once; its message is not in
// the stream.
func TestRunBlockedSend(t *testing.T) {
	rn := serveRun(t, Config{Verifiers: signed}, 0) // unbuffered, nobody reads
	sending := make(chan struct{})
	rn.h.hook = func(step string) {
		if step == "send" {
			close(sending)
		}
	}
	got := make(chan reply, 1)
	go func() {
		body := msg("alice", "no room", false)
		r, err := doRequest(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
			mustRequest(t, rn.url, body, hmacHeader(DefaultSignatureHeader, secret, body)))
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	<-sending
	stopWithin(t, rn, 2*time.Second)
	check(t, <-got, 503, "closed")
	select {
	case m, ok := <-rn.stream:
		if ok {
			t.Errorf("message %s reached the stream after its sender was answered closed", m.ID)
		}
	default:
		t.Error("stream not closed after Run returned and the channel was shut down")
	}
}

// TestRunSlowlorisAtShutdown: connections still sending their headers are
// closed when Run's context ends, instead of holding it until
// ReadHeaderTimeout.
func TestRunSlowlorisAtShutdown(t *testing.T) {
	rn := serveRun(t, Config{Verifiers: signed, ReadHeaderTimeout: time.Minute}, 4)
	addr := strings.TrimPrefix(strings.TrimSuffix(rn.url, "/"), "http://")
	var dropped sync.WaitGroup
	for range 20 {
		c := dial(t, addr, "")
		defer c.Close()
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: test\r\nX-Slow: ")
		dropped.Go(func() { io.Copy(io.Discard, c) })
	}
	// An idle keep-alive connection too.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	body := msg("alice", "hi", false)
	r, err := doRequest(client, mustRequest(t, rn.url, body, hmacHeader(DefaultSignatureHeader, secret, body)))
	if err != nil {
		t.Fatal(err)
	}
	check(t, r, 202, "accepted")
	took := stopWithin(t, rn, 2*time.Second)
	dropped.Wait()
	t.Logf("Run returned %v after its context ended, with 20 slow clients", took)
}

// TestRunReplyGrace: a caller whose message is in the stream when Run's
// context ends keeps waiting while the consumer drains: it gets the reply
// if one comes within ShutdownGrace, and no_reply after it; Run returns as
// soon as the last waiter is answered.
func TestRunReplyGrace(t *testing.T) {
	for _, tc := range []struct {
		name   string
		grace  time.Duration
		answer bool
		code   int
		status string
	}{
		{"reply while draining", time.Minute, true, 200, "replied"},
		{"no reply within the grace", 100 * time.Millisecond, false, 202, "no_reply"},
		{"no grace", -1, false, 202, "no_reply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rn := serveRun(t, Config{Verifiers: signed, ShutdownGrace: tc.grace}, 4)
			sent, stopping := make(chan struct{}), make(chan struct{})
			rn.h.hook = func(step string) {
				switch step {
				case "sent":
					close(sent)
				case "stopping":
					close(stopping)
				}
			}
			got := make(chan reply, 1)
			go func() {
				body := msg("alice", "question", true)
				r, err := doRequest(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
					mustRequest(t, rn.url, body, hmacHeader(DefaultSignatureHeader, secret, body)))
				if err != nil {
					t.Error(err)
				}
				got <- r
			}()
			<-sent // buffered, not yet read
			stopped := make(chan time.Duration, 1)
			go func() { stopped <- stopWithin(t, rn, time.Minute/2) }()
			<-stopping
			m := <-rn.stream // the consumer drains after the run ended
			if tc.answer && !m.Reply.Resolve("answered while draining") {
				t.Error("Resolve = false: the caller stopped waiting when Run's context ended")
			}
			r := <-got
			check(t, r, tc.code, tc.status)
			if r.answer.MessageID != m.ID {
				t.Errorf("answer names %q, want %q", r.answer.MessageID, m.ID)
			}
			took := <-stopped
			if tc.answer && took >= tc.grace {
				t.Errorf("Run took %v, the whole grace, though the reply came", took)
			}
		})
	}
}

// TestRunRestart: Run may be called again after a new Start, as a Group
// restarts an adapter.
func TestRunRestart(t *testing.T) {
	h := New(Config{Verifiers: signed, Addr: "127.0.0.1:0"})
	if err := h.Run(context.Background(), nil); !errors.Is(err, ErrNotBound) {
		t.Errorf("Run before Start = %v, want ErrNotBound", err)
	}
	if err := New(Config{}).Start(context.Background()); !errors.Is(err, ErrNoAddr) {
		t.Errorf("Start without Addr = %v, want ErrNoAddr", err)
	}
	for i := range 3 {
		if err := h.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		c := fanin.New[Message](4)
		stream, _ := c.Start()
		s, _ := c.Sender()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx, s) }()
		body := msg("alice", fmt.Sprint("run ", i), false)
		url := "http://" + h.Addr().String() + "/"
		r, err := doRequest(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
			mustRequest(t, url, body, hmacHeader(DefaultSignatureHeader, secret, body)))
		if err != nil {
			t.Fatal(err)
		}
		check(t, r, 202, "accepted")
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run %d = %v", i, err)
		}
		c.Shutdown(context.Background())
		if m := <-stream; m.Content != fmt.Sprint("run ", i) {
			t.Errorf("run %d delivered %q", i, m.Content)
		}
	}
}

// TestGroupStalledBody is TestRunStalledBody in a Group: Group.Shutdown
// returns promptly with a client stalled in the middle of its body.
func TestGroupStalledBody(t *testing.T) {
	h := New(Config{Verifiers: signed, Addr: "127.0.0.1:0"})
	reading := make(chan struct{})
	h.hook = func(step string) {
		if step == "read body" {
			close(reading)
		}
	}
	var g fanin.Group[Message]
	if err := g.Add(context.Background(), h, fanin.WithLane(8, 1)); err != nil {
		t.Fatal(err)
	}
	stream, err := g.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for range stream.All() {
		}
	}()
	c := dial(t, h.Addr().String(), "")
	defer c.Close()
	body := msg("alice", "stalls", false)
	startPost(t, c, hmacHeader(DefaultSignatureHeader, secret, body), len(body), 5)
	<-reading
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Group.Shutdown = %v after %v, want nil", err, time.Since(start))
	}
	t.Logf("Group.Shutdown took %v", time.Since(start))
	<-consumed
	checkServerGone(t)
}

// TestShutdownUnderLoad runs the handler as a group adapter with a slow
// consumer and many clients, shuts the group down mid-load, and checks that
// every request got a definite answer and that the consumer received
// exactly the messages whose answers said they were in the stream.
func TestShutdownUnderLoad(t *testing.T) {
	h := New(Config{Verifiers: signed, Addr: "127.0.0.1:0", SendTimeout: 200 * time.Millisecond,
		ResponseTimeout: time.Second, ShutdownGrace: 500 * time.Millisecond})
	var g fanin.Group[Message]
	if err := g.Add(context.Background(), h, fanin.WithLane(8, 1)); err != nil {
		t.Fatal(err)
	}
	stream, err := g.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + h.Addr().String()

	var delivered sync.Map
	var received atomic.Int64
	consumerDone := make(chan struct{})
	go func() {
		defer close(consumerDone)
		for m := range stream.All() {
			delivered.Store(m.ID, true)
			received.Add(1)
			time.Sleep(time.Millisecond) // a slow agent: pacing, not synchronisation
			m.Reply.Resolve("ok")
		}
	}()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var (
		mu       sync.Mutex
		statuses = map[string]int{}
		inStream []string
		clients  sync.WaitGroup
		started  = make(chan struct{})
		once     sync.Once
	)
	for c := range 16 {
		clients.Go(func() {
			for i := range 40 {
				if i == 5 {
					once.Do(func() { close(started) })
				}
				body := msg(fmt.Sprint("client", c), fmt.Sprint(i), i%3 == 0)
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header = hmacHeader(DefaultSignatureHeader, secret, body)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					statuses["connection refused or closed"]++ // definite: nothing was accepted
					mu.Unlock()
					continue
				}
				var a answer
				if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
					t.Errorf("answer is not JSON: %v", err)
				}
				resp.Body.Close()
				mu.Lock()
				statuses[a.Status]++
				switch a.Status {
				case "accepted", "replied", "no_reply", "timeout":
					inStream = append(inStream, a.MessageID)
				case "busy", "closed":
				default:
					t.Errorf("unexpected answer %d %+v", resp.StatusCode, a)
				}
				mu.Unlock()
			}
		})
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown under load = %v, want nil", err)
	}
	clients.Wait()
	<-consumerDone

	t.Logf("answers: %v", statuses)
	if int64(len(inStream)) != received.Load() {
		t.Errorf("%d answers said the message is in the stream, the consumer received %d", len(inStream), received.Load())
	}
	for _, id := range inStream {
		if _, ok := delivered.Load(id); !ok {
			t.Errorf("message %s was answered as in the stream but never delivered", id)
		}
	}
	if statuses["accepted"]+statuses["replied"] == 0 {
		t.Error("nothing was accepted before the shutdown: the test exercised nothing")
	}
	if got := h.pending.Len(); got != 0 {
		t.Errorf("pending = %d after shutdown, want 0", got)
	}
}

// TestGroupReplyWhileDraining: in a Group run by Group.Run, a caller whose
// message is accepted but not yet answered when the run's context ends
// gets the reply that the consumer gives while it drains.
func TestGroupReplyWhileDraining(t *testing.T) {
	h := New(Config{Verifiers: signed, Addr: "127.0.0.1:0"})
	sent := make(chan struct{})
	h.hook = func(step string) {
		if step == "sent" {
			close(sent)
		}
	}
	type Event struct {
		Text  string
		Reply fanin.Reply[string]
	}
	events := make(chan fanin.AdapterEvent, 16)
	g := fanin.Group[Event]{Events: events}
	if err := g.Add(context.Background(), fanin.Map(h, func(m Message) Event {
		return Event{Text: m.Content, Reply: m.Reply}
	})); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	ran := make(chan error, 1)
	go func() {
		ran <- g.Run(ctx, func(e Event) error {
			<-ended // answer only once the run's context has ended
			e.Reply.Resolve("drained: " + e.Text)
			return nil
		})
	}()
	for e := range events { // started: the address is bound
		if e.Kind == fanin.EventStarted {
			break
		}
	}
	got := make(chan reply, 1)
	go func() {
		body := msg("alice", "question", true)
		r, err := doRequest(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
			mustRequest(t, "http://"+h.Addr().String()+"/", body, hmacHeader(DefaultSignatureHeader, secret, body)))
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	<-sent
	cancel()
	close(ended)
	r := <-got
	check(t, r, 200, "replied")
	if r.answer.Response != "drained: question" {
		t.Errorf("response = %q, want the reply given while draining", r.answer.Response)
	}
	if err := <-ran; err != nil {
		t.Errorf("Group.Run = %v, want nil", err)
	}
}

// TestRepeatRefusedAtShutdown: a repeat of a delivery already in the
// stream, cut off at shutdown in the middle of its body, is answered 503
// closed like any request that put nothing in the stream; retried with the
// same handler, it gets the first answer.
func TestRepeatRefusedAtShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 4)
		h := New(Config{Verifiers: signed})
		raw := string(signedPost(t, msg("alice", "once", false), "k-shut"))
		ln, cancel, done := rvRunPipe(t, h, s)
		first := <-rvPost(ln, raw)
		if first.code != http.StatusAccepted {
			t.Fatalf("first delivery: %d %+v, want 202", first.code, first.a)
		}
		stalled := rvPost(ln, raw[:len(raw)-2])
		synctest.Wait()
		cancel()
		if r := <-stalled; r.code != http.StatusServiceUnavailable || r.a.Status != "closed" {
			t.Errorf("repeat cut off at shutdown: %d %+v, want 503 closed", r.code, r.a)
		}
		<-done
		ln2, cancel2, done2 := rvRunPipe(t, h, s)
		r := <-rvPost(ln2, raw)
		cancel2()
		<-done2
		if r.code != http.StatusAccepted || r.a.MessageID != first.a.MessageID || r.hd.Get("Idempotent-Replayed") != "true" {
			t.Errorf("repeat retried on the next run: %d %+v replayed %q; want the first answer, id %s",
				r.code, r.a, r.hd.Get("Idempotent-Replayed"), first.a.MessageID)
		}
		if got := rvDrain(stream); len(got) != 1 {
			t.Errorf("%d messages in the stream, want 1", len(got))
		}
	})
}

// signedPost returns the bytes of a POST of body signed with secret, with
// the given Idempotency-Key, closing its connection after the answer.
func signedPost(t *testing.T, body []byte, key string) []byte {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST / HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\nIdempotency-Key: %s\r\n", len(body), key)
	hmacHeader(DefaultSignatureHeader, secret, body).Write(&b)
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// TestGroupBindErrorEndsRun: a handler whose address is in use, added
// WithFailFast, ends Group.Run with the bind error at once, as
// http.ListenAndServe would; added without it, the group restarts it, and
// once its restart intensity is spent Run returns the same error.
func TestGroupBindErrorEndsRun(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name string
		opts []fanin.Option
	}{
		{"WithFailFast", []fanin.Option{fanin.WithFailFast()}},
		{"escalation", []fanin.Option{fanin.WithBackoff(10*time.Millisecond, 10*time.Millisecond, 0), fanin.WithIntensity(3, time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(Config{Verifiers: signed, Addr: taken.Addr().String()})
			var g fanin.Group[Message]
			if err := g.Add(context.Background(), h, tc.opts...); err != nil {
				t.Fatalf("Add = %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err := g.Run(ctx, func(Message) error { return nil })
			elapsed := time.Since(start)
			var ae *fanin.AdapterError
			if !errors.As(err, &ae) || ae.Name != h.Name() || !errors.Is(err, syscall.EADDRINUSE) {
				t.Fatalf("Run = %v, want an *AdapterError for %s wrapping EADDRINUSE", err, h.Name())
			}
			if ctx.Err() != nil || elapsed > time.Second {
				t.Errorf("Run returned after %v, want within a second", elapsed)
			}
		})
	}
}
