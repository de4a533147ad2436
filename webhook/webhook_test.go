package webhook

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fanin-go/fanin"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var secret = []byte("test secret")

// env is a Handler served over real loopback HTTP, attached to a channel.
type env struct {
	t      *testing.T
	h      *Handler
	c      *fanin.Channel[Message]
	stream <-chan Message
	srv    *httptest.Server
	client *http.Client
}

// newEnv serves a handler with cfg; capacity < 0 leaves it unattached.
func newEnv(t *testing.T, cfg Config, capacity int) *env {
	t.Helper()
	e := &env{t: t, h: New(cfg)}
	e.srv = httptest.NewServer(e.h)
	e.client = &http.Client{Transport: &http.Transport{}}
	if capacity >= 0 {
		e.c = fanin.New[Message](capacity)
		e.stream, _ = e.c.Start()
		s, _ := e.c.Sender()
		e.h.Attach(s)
	}
	t.Cleanup(func() {
		if e.c != nil {
			e.c.Shutdown(context.Background())
		}
		e.srv.Close()
		e.client.CloseIdleConnections()
	})
	return e
}

type reply struct {
	code   int
	header http.Header
	answer answer
	keys   []string
}

// post sends body with the given content type, signed with key unless key
// is nil.
func (e *env) post(body []byte, contentType string, key []byte) reply {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if key != nil {
		req.Header.Set(DefaultSignatureHeader, "sha256="+hex.EncodeToString(Sign(key, body)))
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) reply {
	e.t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := reply{code: resp.StatusCode, header: resp.Header}
	var shape map[string]any
	if err := json.Unmarshal(raw, &shape); err != nil {
		e.t.Fatalf("answer %q is not JSON: %v", raw, err)
	}
	for k := range shape {
		r.keys = append(r.keys, k)
	}
	slices.Sort(r.keys)
	json.Unmarshal(raw, &r.answer)
	return r
}

func msg(sender, content string, wait bool) []byte {
	b, _ := json.Marshal(map[string]any{"sender": sender, "content": content, "wait_for_response": wait})
	return b
}

func (e *env) send(sender, content string, wait bool) reply {
	e.t.Helper()
	return e.post(msg(sender, content, wait), "application/json", secret)
}

func check(t *testing.T, r reply, code int, status string) {
	t.Helper()
	if r.code != code || r.answer.Status != status {
		t.Errorf("answer = %d %q (%q), want %d %q", r.code, r.answer.Status, r.answer.Error, code, status)
	}
	if want := []string{"error", "message_id", "response", "status"}; !slices.Equal(r.keys, want) {
		t.Errorf("answer keys = %v, want exactly %v", r.keys, want)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, Config{Secret: secret, MaxBodyBytes: 1024, MaxContentBytes: 64}, 16)
	good := msg("alice", "hi", false)
	for _, tc := range []struct {
		name        string
		body        []byte
		contentType string
		key         []byte
		code        int
		status      string
	}{
		{"wrong content type", good, "text/plain", secret, 415, "unsupported_media_type"},
		{"no content type", good, "", secret, 415, "unsupported_media_type"},
		{"json with charset", good, "application/json; charset=utf-8", secret, 202, "accepted"},
		{"oversized body", bytes.Repeat([]byte("x"), 2000), "application/json", secret, 413, "too_large"},
		{"missing signature", good, "application/json", nil, 401, "unauthorized"},
		{"wrong signature", good, "application/json", []byte("wrong secret"), 401, "unauthorized"},
		{"truncated JSON", good[:len(good)-3], "application/json", secret, 400, "bad_request"},
		{"invalid JSON", []byte(`{"sender": alice}`), "application/json", secret, 400, "bad_request"},
		{"two objects", append(slices.Clone(good), good...), "application/json", secret, 400, "bad_request"},
		{"array", []byte(`[1,2]`), "application/json", secret, 400, "bad_request"},
		{"no sender", []byte(`{"content":"hi"}`), "application/json", secret, 400, "bad_request"},
		{"blank sender", []byte(`{"sender":"  ","content":"hi"}`), "application/json", secret, 400, "bad_request"},
		{"no content", []byte(`{"sender":"alice"}`), "application/json", secret, 400, "bad_request"},
		{"huge sender", msg(strings.Repeat("s", 257), "hi", false), "application/json", secret, 400, "bad_request"},
		{"metadata not strings", []byte(`{"sender":"a","content":"b","metadata":{"n":1}}`), "application/json", secret, 400, "bad_request"},
		{"huge content", msg("alice", strings.Repeat("x", 65), false), "application/json", secret, 413, "too_large"},
		{"multi-byte content at the limit", msg("alice", strings.Repeat("é", 32), false), "application/json", secret, 202, "accepted"},
		{"multi-byte content over the limit", msg("alice", strings.Repeat("é", 33), false), "application/json", secret, 413, "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(tc.body, tc.contentType, tc.key)
			check(t, r, tc.code, tc.status)
			if tc.code == 400 && (r.answer.Error == "" || len(r.answer.Error) > 200) {
				t.Errorf("400 reason %q, want a short non-empty reason", r.answer.Error)
			}
			if tc.code != 202 && r.answer.MessageID != "" {
				t.Errorf("refused request has message_id %q, want none", r.answer.MessageID)
			}
		})
	}
	// Only the two accepted requests are in the stream.
	if got := e.c.Len(); got != 2 {
		t.Errorf("stream holds %d messages, want 2", got)
	}
}

// TestBodyReadWithHardCap streams an oversized body without a
// Content-Length: the handler must stop reading at the cap.
func TestBodyReadWithHardCap(t *testing.T) {
	e := newEnv(t, Config{Secret: secret, MaxBodyBytes: 1024}, 1)
	var served atomic.Int64
	body := io.NopCloser(&countingReader{n: 10 << 20, read: &served})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL, body)
	req.ContentLength = -1 // chunked: the server cannot check a length first
	req.Header.Set("Content-Type", "application/json")
	check(t, e.do(req), 413, "too_large")
	if got := served.Load(); got > 1<<20 {
		t.Errorf("client was made to send %d bytes, want the server to stop near the 1 KiB cap", got)
	}
}

type countingReader struct {
	n    int64
	read *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	r.read.Add(n)
	return int(n), nil
}

func TestTruncateContentOnRuneBoundary(t *testing.T) {
	e := newEnv(t, Config{Secret: secret, MaxContentBytes: 10, TruncateContent: true}, 4)
	check(t, e.send("alice", "aaaaaaaaa€€€", false), 202, "accepted") // 9 bytes + 3-byte runes
	m := <-e.stream
	if m.Content != "aaaaaaaaa" || !utf8.ValidString(m.Content) {
		t.Errorf("truncated content = %q, want %q", m.Content, "aaaaaaaaa")
	}
}

func TestNoSecretRefuses(t *testing.T) {
	e := newEnv(t, Config{}, 4)
	check(t, e.post(msg("alice", "hi", false), "application/json", []byte{}), 503, "unavailable")
	if got := e.c.Len(); got != 0 {
		t.Errorf("stream holds %d messages, want 0", got)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, Config{Secret: secret}, 4)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL, nil)
	r := e.do(req)
	check(t, r, 405, "method_not_allowed")
	if got := r.header.Get("Allow"); got != "POST" {
		t.Errorf("Allow = %q, want POST", got)
	}
}

func TestAcceptedMessageArrives(t *testing.T) {
	e := newEnv(t, Config{Secret: secret}, 4)
	body := []byte(`{"sender":"alice","content":"hello","thread":"t1","metadata":{"lang":"en"}}`)
	r := e.post(body, "application/json", secret)
	check(t, r, 202, "accepted")
	m := <-e.stream
	want := Message{ID: r.answer.MessageID, Sender: "alice", Content: "hello", Thread: "t1", Metadata: map[string]string{"lang": "en"}}
	if m.ID == "" || m.ID != want.ID || m.Sender != want.Sender || m.Content != want.Content ||
		m.Thread != want.Thread || m.Metadata["lang"] != "en" || m.Reply.Wanted() {
		t.Errorf("message = %+v, want %+v", m, want)
	}
	if m.Reply.Resolve("nobody asked") {
		t.Error("Reply to a message that wants none = true, want false")
	}
}

func TestLifecycleStatuses(t *testing.T) {
	e := newEnv(t, Config{Secret: secret}, -1)
	check(t, e.send("alice", "hi", false), 503, "not_started")

	c := fanin.New[Message](4)
	c.Start()
	s, _ := c.Sender()
	e.h.Attach(s)
	check(t, e.send("alice", "hi", false), 202, "accepted")
	c.Shutdown(context.Background())
	check(t, e.send("alice", "hi", false), 503, "closed")
	check(t, e.send("alice", "hi", true), 503, "closed")
	if got := e.h.pending.Len(); got != 0 {
		t.Errorf("pending = %d after refused waits, want 0", got)
	}
}

func TestFullBufferAnswersBusy(t *testing.T) {
	e := newEnv(t, Config{Secret: secret, SendTimeout: 20 * time.Millisecond}, 1)
	check(t, e.send("alice", "fills the buffer", false), 202, "accepted")
	r := e.send("alice", "no room", false)
	check(t, r, 503, "busy")
	if r.header.Get("Retry-After") == "" {
		t.Error("busy answer has no Retry-After")
	}
	if got := e.c.Len(); got != 1 {
		t.Errorf("stream holds %d, want 1: a busy answer must not deliver", got)
	}
}

func TestRateLimitPerCaller(t *testing.T) {
	e := newEnv(t, Config{Secret: secret, RateLimit: []fanin.Band{{Events: 1, Interval: time.Minute, Burst: 2}}}, 16)
	check(t, e.send("alice", "1", false), 202, "accepted")
	check(t, e.send("alice", "2", false), 202, "accepted")
	r := e.send("alice", "3", false)
	check(t, r, 429, "rate_limited")
	if got := r.header.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After = %q, want 60 (one token a minute)", got)
	}
	check(t, e.send("bob", "1", false), 202, "accepted")
	// Unsigned requests never reach the limiter.
	for range 10 {
		check(t, e.post(msg("bob", "forged", false), "application/json", nil), 401, "unauthorized")
	}
	check(t, e.send("bob", "2", false), 202, "accepted")
}

// agent answers every message that wants a reply, until stream closes.
func agent(stream <-chan Message, answer func(Message) string) {
	for m := range stream {
		if m.Reply.Wanted() {
			m.Reply.Resolve(answer(m))
		}
	}
}

func TestWaitForResponse(t *testing.T) {
	e := newEnv(t, Config{Secret: secret}, 4)
	go agent(e.stream, func(m Message) string { return "you said " + m.Content })
	r := e.send("alice", "hi", true)
	check(t, r, 200, "replied")
	if r.answer.Response != "you said hi" || r.answer.MessageID == "" {
		t.Errorf("answer = %+v, want the reply and a message_id", r.answer)
	}
	if got := e.h.pending.Len(); got != 0 {
		t.Errorf("pending = %d, want 0", got)
	}
}

func TestWaitForResponseTimeout(t *testing.T) {
	e := newEnv(t, Config{Secret: secret, ResponseTimeout: 30 * time.Millisecond}, 4)
	r := e.send("alice", "nobody answers", true)
	check(t, r, 504, "timeout")
	m := <-e.stream
	if m.ID != r.answer.MessageID {
		t.Errorf("timed-out message %q is not the one in the stream, %q", r.answer.MessageID, m.ID)
	}
	if m.Reply.Resolve("too late") {
		t.Error("Reply after the timeout = true, want false")
	}
	if got := e.h.pending.Len(); got != 0 {
		t.Errorf("pending = %d, want 0", got)
	}
}

func TestTooManyPending(t *testing.T) {
	e := newEnv(t, Config{Secret: secret, MaxPending: 1}, 4)
	first := make(chan reply, 1)
	go func() { first <- e.send("alice", "waits", true) }()
	m := <-e.stream // the first request is now waiting for its reply
	r := e.send("bob", "also waits", true)
	check(t, r, 429, "too_many_pending")
	if e.c.Len() != 0 {
		t.Error("a request refused as too_many_pending was delivered")
	}
	m.Reply.Resolve("done")
	check(t, <-first, 200, "replied")
}

func TestShutdownWhileWaitingForReply(t *testing.T) {
	e := newEnv(t, Config{Secret: secret}, 4)
	waiting := make(chan reply, 1)
	go func() { waiting <- e.send("alice", "waits", true) }()
	m := <-e.stream
	e.c.Shutdown(context.Background())
	r := <-waiting
	check(t, r, 202, "no_reply")
	if r.answer.MessageID != m.ID {
		t.Errorf("no_reply answer names %q, want the delivered message %q", r.answer.MessageID, m.ID)
	}
	if got := e.h.pending.Len(); got != 0 {
		t.Errorf("pending = %d, want 0", got)
	}
}

// TestFloodDoesNotLockOutCallers floods the handler with unsigned requests
// while two real callers send at their allowed rate: every signed request
// gets through.
func TestFloodDoesNotLockOutCallers(t *testing.T) {
	e := newEnv(t, Config{Secret: secret, RateLimit: []fanin.Band{{Events: 100, Interval: time.Second, Burst: 20}}}, 64)
	go agent(e.stream, func(Message) string { return "" })
	stop := make(chan struct{})
	var flood sync.WaitGroup
	var unauthorized atomic.Int64
	for range 8 {
		flood.Go(func() {
			for i := range 300 { // bounded in count, and stops early when told
				select {
				case <-stop:
					return
				default:
				}
				r := e.post(msg("alice", fmt.Sprint("forged ", i), false), "application/json", nil)
				if r.code == 401 {
					unauthorized.Add(1)
				}
			}
		})
	}
	var callers sync.WaitGroup
	for _, who := range []string{"alice", "bob"} {
		callers.Go(func() {
			for i := range 20 {
				check(t, e.send(who, fmt.Sprint(i), false), 202, "accepted")
			}
		})
	}
	callers.Wait()
	close(stop)
	flood.Wait()
	if unauthorized.Load() == 0 {
		t.Error("no forged request was refused: the flood did not run")
	}
}

// TestShutdownUnderLoad runs the handler as a group adapter with a slow
// consumer and many clients, shuts the group down mid-load, and checks that
// every request got a definite answer and that the consumer received
// exactly the messages whose answers said they were in the stream.
func TestShutdownUnderLoad(t *testing.T) {
	h := New(Config{Secret: secret, Addr: "127.0.0.1:0", SendTimeout: 200 * time.Millisecond, ResponseTimeout: time.Second})
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
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(DefaultSignatureHeader, "sha256="+hex.EncodeToString(Sign(secret, body)))
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					statuses["connection refused"]++ // the listener is closed: also definite
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

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "hel"},
		{"héllo", 2, "h"}, // é is 2 bytes: cutting at 2 would split it
		{"héllo", 3, "hé"},
		{"€", 2, ""},
		{"a€b", 4, "a€"},
		{"", 0, ""},
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// FuzzDecode checks the request decoder on arbitrary bodies: it never
// panics, accepts only objects with a sender and content, and truncation of
// what it accepts never yields invalid UTF-8 from valid input.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"sender":"a","content":"b"}`))
	f.Add([]byte(`{"sender":"a","content":"héllo €","thread":"t","metadata":{"k":"v"},"wait_for_response":true}`))
	f.Add([]byte(`{"sender":"a","content":"b"} {}`))
	f.Add([]byte(`{"sender":`))
	f.Add([]byte(`null`))
	f.Add([]byte("{\"sender\":\"a\",\"content\":\"\xff\xfe\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decode(body)
		if err != nil {
			if req.Sender != "" || req.Content != "" {
				t.Errorf("decode returned %+v with error %v, want the zero request", req, err)
			}
			return
		}
		if strings.TrimSpace(req.Sender) == "" || len(req.Sender) > maxSenderBytes || req.Content == "" {
			t.Errorf("decode accepted %+v: want a sender of 1 to %d bytes and content", req, maxSenderBytes)
		}
		if !json.Valid(body) {
			t.Errorf("decode accepted invalid JSON %q", body)
		}
		for n := range min(len(req.Content), 40) + 1 {
			cut := truncate(req.Content, n)
			if len(cut) > n || !strings.HasPrefix(req.Content, cut) {
				t.Fatalf("truncate(%q, %d) = %q", req.Content, n, cut)
			}
			if utf8.ValidString(req.Content) && !utf8.ValidString(cut) {
				t.Fatalf("truncate(%q, %d) = %q is not valid UTF-8", req.Content, n, cut)
			}
		}
	})
}
