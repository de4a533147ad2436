package webhook

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/fanin-go/fanin"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var secret = []byte("test secret")

// signed is the verifier of most tests: the sha256=<hex> HMAC of the body
// in DefaultSignatureHeader, under secret.
var signed = []Verifier{HMACSHA256("", secret)}

// clock is a settable clock for the handler's timestamps and its table of
// deliveries, so that tests move time instead of waiting for it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// vectorTime is the time of the Standard Webhooks signing vector; the
// handler's clock starts there.
var vectorTime = time.Unix(1614265330, 0)

// env is a Handler served over real loopback HTTP, attached to a channel.
type env struct {
	t      *testing.T
	h      *Handler
	clk    *clock
	c      *fanin.Channel[Message]
	stream <-chan Message
	srv    *httptest.Server
	client *http.Client
}

// newEnv serves a handler with cfg; capacity < 0 leaves it unattached.
func newEnv(t *testing.T, cfg Config, capacity int) *env {
	t.Helper()
	e := &env{t: t, h: New(cfg), clk: &clock{t: vectorTime}}
	e.h.now = e.clk.Now
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
		e.client.CloseIdleConnections()
		e.srv.Close()
	})
	return e
}

type reply struct {
	code   int
	header http.Header
	closed bool // the server closes the connection after the answer
	answer answer
	keys   []string
}

// post sends body with the given content type and extra headers.
func (e *env) post(body []byte, contentType string, hdr http.Header) reply {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	return e.do(req)
}

// do sends req and parses the answer, which must be the JSON shape.
func (e *env) do(req *http.Request) reply {
	e.t.Helper()
	r, err := doRequest(e.client, req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return r
}

func doRequest(client *http.Client, req *http.Request) (reply, error) {
	resp, err := client.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{code: resp.StatusCode, header: resp.Header, closed: resp.Close}
	var shape map[string]any
	if err := json.Unmarshal(raw, &shape); err != nil {
		r.answer.Error = "answer is not JSON: " + string(raw)
		return r, nil
	}
	for k := range shape {
		r.keys = append(r.keys, k)
	}
	slices.Sort(r.keys)
	json.Unmarshal(raw, &r.answer)
	return r, nil
}

// hmacHeader returns the header that signs body with key for HMACSHA256.
func hmacHeader(name string, key, body []byte) http.Header {
	return http.Header{http.CanonicalHeaderKey(name): {"sha256=" + hex.EncodeToString(Sign(key, body))}}
}

func msg(sender, content string, wait bool) []byte {
	b, _ := json.Marshal(map[string]any{"sender": sender, "content": content, "wait_for_response": wait})
	return b
}

// send posts a JSON message signed with secret.
func (e *env) send(sender, content string, wait bool) reply {
	e.t.Helper()
	body := msg(sender, content, wait)
	return e.post(body, "application/json", hmacHeader(DefaultSignatureHeader, secret, body))
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

// internalWords are signs of Go internals in a text meant for callers.
var internalWords = []string{"Go ", "struct", "json:", "webhook.", "unmarshal", "[]", "map["}

func checkWords(t *testing.T, text string) {
	t.Helper()
	for _, w := range internalWords {
		if strings.Contains(text, w) {
			t.Errorf("error %q shows Go internals (%q)", text, w)
		}
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, MaxBodyBytes: 1024, MaxContentBytes: 64}, 16)
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
		{"empty body", []byte{}, "application/json", secret, 400, "bad_request"},
		{"truncated JSON", good[:len(good)-3], "application/json", secret, 400, "bad_request"},
		{"invalid JSON", []byte(`{"sender": alice}`), "application/json", secret, 400, "bad_request"},
		{"two objects", append(slices.Clone(good), good...), "application/json", secret, 400, "bad_request"},
		{"array", []byte(`[1,2]`), "application/json", secret, 400, "bad_request"},
		{"string", []byte(`"hello"`), "application/json", secret, 400, "bad_request"},
		{"no sender", []byte(`{"content":"hi"}`), "application/json", secret, 400, "bad_request"},
		{"blank sender", []byte(`{"sender":"  ","content":"hi"}`), "application/json", secret, 400, "bad_request"},
		{"sender a number", []byte(`{"sender":1,"content":"hi"}`), "application/json", secret, 400, "bad_request"},
		{"no content", []byte(`{"sender":"alice"}`), "application/json", secret, 400, "bad_request"},
		{"huge sender", msg(strings.Repeat("s", 257), "hi", false), "application/json", secret, 400, "bad_request"},
		{"metadata not strings", []byte(`{"sender":"a","content":"b","metadata":{"n":1}}`), "application/json", secret, 400, "bad_request"},
		{"metadata a list", []byte(`{"sender":"a","content":"b","metadata":["x"]}`), "application/json", secret, 400, "bad_request"},
		{"wait not a boolean", []byte(`{"sender":"a","content":"b","wait_for_response":"yes"}`), "application/json", secret, 400, "bad_request"},
		{"huge content", msg("alice", strings.Repeat("x", 65), false), "application/json", secret, 413, "too_large"},
		{"multi-byte content at the limit", msg("alice", strings.Repeat("é", 32), false), "application/json", secret, 202, "accepted"},
		{"multi-byte content over the limit", msg("alice", strings.Repeat("é", 33), false), "application/json", secret, 413, "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr http.Header
			if tc.key != nil {
				hdr = hmacHeader(DefaultSignatureHeader, tc.key, tc.body)
			}
			r := e.post(tc.body, tc.contentType, hdr)
			check(t, r, tc.code, tc.status)
			if tc.code == 400 && (r.answer.Error == "" || len(r.answer.Error) > 200) {
				t.Errorf("400 reason %q, want a short non-empty reason", r.answer.Error)
			}
			checkWords(t, r.answer.Error)
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

// TestBadInputWords checks the exact reasons given for malformed JSON:
// the package's own words, never the decoder's, which name Go types.
func TestBadInputWords(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	for _, tc := range []struct{ body, want string }{
		{`{"sender":"a","content":"b","metadata":{"n":1}}`, `"metadata" must be an object whose values are strings`},
		{`{"sender":1,"content":"b"}`, `"sender" must be a string`},
		{`{"sender":"a","content":"b","wait_for_response":1}`, `"wait_for_response" must be true or false`},
		{`[1]`, `the body must be a JSON object`},
		{`{"sender": alice}`, `invalid JSON at byte 12`},
		{`{"sender":"a"`, `invalid JSON: the body ends too early`},
		{`{"sender":"a","content":"b"} x`, `invalid JSON: data after the object`},
	} {
		body := []byte(tc.body)
		r := e.post(body, "application/json", hmacHeader(DefaultSignatureHeader, secret, body))
		if r.code != 400 || r.answer.Error != tc.want {
			t.Errorf("POST %s = %d %q, want 400 %q", tc.body, r.code, r.answer.Error, tc.want)
		}
	}
}

// TestBodyReadWithHardCap streams an oversized body without a
// Content-Length: the handler must stop reading at the cap. What the
// handler reads is counted where it reads it: the client's own count
// includes what the kernel buffers, which depends on the machine's load.
func TestBodyReadWithHardCap(t *testing.T) {
	h := New(Config{Verifiers: signed, MaxBodyBytes: 1024})
	var taken atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = countingBody{r.Body, &taken}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var served atomic.Int64
	body := io.NopCloser(&countingReader{n: 10 << 20, read: &served})
	req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
	req.ContentLength = -1 // chunked: the server cannot check a length first
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(DefaultSignatureHeader, "sha256="+strings.Repeat("0", 64))
	r, err := doRequest(client, req)
	if err != nil {
		t.Fatal(err)
	}
	check(t, r, 413, "too_large")
	if got := taken.Load(); got > 1024+1 {
		t.Errorf("the handler read %d bytes of the body, want at most the 1 KiB cap and the byte that shows it is over", got)
	}
}

// countingBody counts the bytes read from a request body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
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
	e := newEnv(t, Config{Verifiers: signed, MaxContentBytes: 10, TruncateContent: true}, 4)
	check(t, e.send("alice", "aaaaaaaaa€€€", false), 202, "accepted") // 9 bytes + 3-byte runes
	m := <-e.stream
	if m.Content != "aaaaaaaaa" || !utf8.ValidString(m.Content) {
		t.Errorf("truncated content = %q, want %q", m.Content, "aaaaaaaaa")
	}
}

// TestTruncateNeverEmpty: content whose first character is longer than
// MaxContentBytes cannot be cut to anything, and content is required; it
// used to be delivered empty with 202.
func TestTruncateNeverEmpty(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, MaxContentBytes: 2, TruncateContent: true}, 4)
	r := e.send("alice", "€uro", false)
	check(t, r, 413, "too_large")
	if got := e.c.Len(); got != 0 {
		t.Errorf("stream holds %d messages, want 0: nothing may be delivered empty", got)
	}
	check(t, e.send("alice", "eu€", false), 202, "accepted") // "eu" fits
	if m := <-e.stream; m.Content != "eu" {
		t.Errorf("content = %q, want %q", m.Content, "eu")
	}
}

func TestNoVerifierRefuses(t *testing.T) {
	e := newEnv(t, Config{}, 4)
	check(t, e.send("alice", "hi", false), 503, "unavailable")
	if got := e.c.Len(); got != 0 {
		t.Errorf("stream holds %d messages, want 0", got)
	}
}

func TestNewPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"negative limit":     func() { New(Config{MaxBodyBytes: -1}) },
		"nil verifier":       func() { New(Config{Verifiers: []Verifier{nil}}) },
		"no HMAC secret":     func() { HMACSHA256("") },
		"empty HMAC secret":  func() { HMACSHA256("", []byte{}) },
		"empty GitHub":       func() { GitHub(secret, nil) },
		"empty header name":  func() { ByHeader("") },
		"empty field path":   func() { ByField("") },
		"field path a..b":    func() { ByField("a..b") },
		"field path leading": func() { ByField(".a") },
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.HasPrefix(s, "webhook: ") {
					t.Errorf("%s: panic %v, want a panic naming the package", name, r)
				}
			}()
			f()
		}()
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL, nil)
	r := e.do(req)
	check(t, r, 405, "method_not_allowed")
	if got := r.header.Get("Allow"); got != "POST" {
		t.Errorf("Allow = %q, want POST", got)
	}
}

func TestAcceptedMessageArrives(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, Headers: []string{"user-agent", "X-Absent"}}, 4)
	body := []byte(`{"sender":"alice","content":"hello","thread":"t1","metadata":{"lang":"en"}}`)
	hdr := hmacHeader(DefaultSignatureHeader, secret, body)
	hdr.Set("User-Agent", "tester/1")
	r := e.post(body, "application/json", hdr)
	check(t, r, 202, "accepted")
	m := <-e.stream
	want := Message{ID: r.answer.MessageID, Sender: "alice", Content: "hello", Thread: "t1", Metadata: map[string]string{"lang": "en"}}
	if m.ID == "" || m.ID != want.ID || m.Sender != want.Sender || m.Content != want.Content ||
		m.Thread != want.Thread || m.Metadata["lang"] != "en" || m.Reply.Wanted() || m.Body != nil {
		t.Errorf("message = %+v, want %+v", m, want)
	}
	if got := m.Header; len(got) != 1 || got.Get("User-Agent") != "tester/1" {
		t.Errorf("Header = %v, want only User-Agent: tester/1", got)
	}
	if m.Reply.Resolve("nobody asked") {
		t.Error("Reply to a message that wants none = true, want false")
	}
}

func TestLifecycleStatuses(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, -1)
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
	e := newEnv(t, Config{Verifiers: signed, SendTimeout: 20 * time.Millisecond}, 1)
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
	e := newEnv(t, Config{Verifiers: signed, RateLimit: []fanin.Band{{Events: 1, Interval: time.Minute, Burst: 2}}}, 16)
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

// TestRateKeys counts by each kind of key: two requests share a budget of
// one exactly when their keys are equal.
func TestRateKeys(t *testing.T) {
	band := []fanin.Band{{Events: 1, Interval: time.Hour, Burst: 1}}
	long := strings.Repeat("k", 1000)
	for _, tc := range []struct {
		name       string
		key        RateKey
		raw        bool
		first, two []byte
		h1, h2     string // X-Caller of each request
		shared     bool
	}{
		{"default JSON: sender", RateKey{}, false, msg("a", "1", false), msg("a", "2", false), "", "", true},
		{"default JSON: other sender", RateKey{}, false, msg("a", "1", false), msg("b", "2", false), "", "", false},
		{"default raw: address", RateKey{}, true, []byte(`{"x":1}`), []byte(`{"x":2}`), "", "", true},
		{"remote address", ByRemoteAddr(), false, msg("a", "1", false), msg("b", "2", false), "", "", true},
		{"header equal", ByHeader("x-caller"), false, msg("a", "1", false), msg("b", "2", false), "p", "p", true},
		{"header differs", ByHeader("X-Caller"), false, msg("a", "1", false), msg("a", "2", false), "p", "q", false},
		{"long header values differ", ByHeader("X-Caller"), false, msg("a", "1", false), msg("a", "2", false), long + "1", long + "2", false},
		{"field sender", ByField("sender"), false, msg("a", "1", false), msg("a", "2", false), "", "", true},
		{"nested field equal", ByField("repo.name"), true, []byte(`{"repo":{"name":"x"},"n":1}`), []byte(`{"n":2,"repo":{"name":"x"}}`), "", "", true},
		{"nested field differs", ByField("repo.name"), true, []byte(`{"repo":{"name":"x"}}`), []byte(`{"repo":{"name":"y"}}`), "", "", false},
		{"number field", ByField("id"), true, []byte(`{"id": 7}`), []byte(`{"id":7 ,"z":0}`), "", "", true},
		{"missing field shares the empty key", ByField("id"), true, []byte(`{"a":1}`), []byte(`not json`), "", "", true},
		// The exact member, not the sender as the message shape decodes it
		// (case-insensitively, the last of several: "b" here).
		{"field sender is the exact member", ByField("sender"), false,
			[]byte(`{"sender":"a","content":"1","SENDER":"b"}`), msg("a", "2", false), "", "", true},
		{"field name in another case is another field", ByField("id"), true, []byte(`{"ID":1}`), []byte(`{"id":1}`), "", "", false},
		{"field named twice counts under the empty key", ByField("id"), true, []byte(`{"id":1,"id":2}`), []byte(`{"a":1}`), "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Verifiers: signed, Raw: tc.raw, RateLimit: band, RateKey: tc.key}, 4)
			post := func(body []byte, caller string) reply {
				hdr := hmacHeader(DefaultSignatureHeader, secret, body)
				if caller != "" {
					hdr.Set("X-Caller", caller)
				}
				return e.post(body, "application/json", hdr)
			}
			check(t, post(tc.first, tc.h1), 202, "accepted")
			r := post(tc.two, tc.h2)
			if tc.shared {
				check(t, r, 429, "rate_limited")
			} else {
				check(t, r, 202, "accepted")
			}
		})
	}
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
	e := newEnv(t, Config{Verifiers: signed}, 4)
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

// TestWaitLongerThanReadTimeout: the deadline that bounds reading the body
// must not end the request while it waits for a reply.
func TestWaitLongerThanReadTimeout(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, ReadTimeout: 50 * time.Millisecond}, 4)
	got := make(chan reply, 1)
	go func() { got <- e.send("alice", "slow agent", true) }()
	m := <-e.stream
	// Outlast the read deadline by far, then answer. The wait is what the
	// test is about; nothing synchronises on it.
	time.Sleep(300 * time.Millisecond)
	if !m.Reply.Resolve("late but fine") {
		t.Error("Resolve = false: the caller stopped waiting at the read deadline")
	}
	r := <-got
	check(t, r, 200, "replied")
}

func TestWaitForResponseTimeout(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, ResponseTimeout: 30 * time.Millisecond}, 4)
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
	e := newEnv(t, Config{Verifiers: signed, MaxPending: 1}, 4)
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

// TestReplyAfterRunEnds: a caller whose message is buffered when the run
// is shut down keeps waiting while the consumer drains, and gets the
// reply. It used to be answered 202 no_reply at once.
func TestReplyAfterRunEnds(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	sent := make(chan struct{})
	e.h.hook = func(step string) {
		if step == "sent" {
			close(sent)
		}
	}
	waiting := make(chan reply, 1)
	go func() { waiting <- e.send("alice", "waits", true) }()
	// The message is buffered and nobody has read it: end the run now.
	<-sent
	e.c.Shutdown(context.Background())
	m := <-e.stream // the consumer drains what was accepted
	if !m.Reply.Resolve("answered while draining") {
		t.Fatal("Resolve = false: the caller stopped waiting when the run ended")
	}
	r := <-waiting
	check(t, r, 200, "replied")
	if r.answer.Response != "answered while draining" || r.answer.MessageID != m.ID {
		t.Errorf("answer = %+v, want the reply to %s", r.answer, m.ID)
	}
}

// TestStillWaitingAfterRunEnds proves, with synctest, that a caller whose
// message is buffered is still waiting, unanswered, after the run is shut
// down, and gets the reply the consumer then gives. The handler is driven
// without a network so that synctest.Wait can see it blocked; the old
// handler answered 202 no_reply at once.
func TestStillWaitingAfterRunEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{Verifiers: signed})
		c := fanin.New[Message](4)
		stream, _ := c.Start()
		s, _ := c.Sender()
		h.Attach(s)
		body := msg("alice", "waits", true)
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header = hmacHeader(DefaultSignatureHeader, secret, body)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		answered := make(chan struct{})
		go func() {
			defer close(answered)
			h.ServeHTTP(w, req)
		}()
		synctest.Wait() // the message is buffered, the caller waits
		c.Shutdown(context.Background())
		synctest.Wait()
		select {
		case <-answered:
			t.Fatalf("answered %d %s when the run ended, want the caller still waiting", w.Code, w.Body)
		default:
		}
		m := <-stream
		if !m.Reply.Resolve("answered while draining") {
			t.Fatal("Resolve = false after the run ended")
		}
		<-answered
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"replied"`) {
			t.Errorf("answer %d %s, want 200 replied", w.Code, w.Body)
		}
	})
}

// TestNoReplyAfterRunEnds: when no reply comes after the run ended, the
// caller is told so at ResponseTimeout, with the message's ID.
func TestNoReplyAfterRunEnds(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, ResponseTimeout: 50 * time.Millisecond}, 4)
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
	e := newEnv(t, Config{Verifiers: signed, RateLimit: []fanin.Band{{Events: 100, Interval: time.Second, Burst: 20}}}, 64)
	go agent(e.stream, func(Message) string { return "" })
	stop := make(chan struct{})
	var flood sync.WaitGroup
	var unauthorized atomic.Int64
	for range 8 {
		flood.Go(func() {
			for range 300 { // bounded in count, and stops early when told
				select {
				case <-stop:
					return
				default:
				}
				r := e.post(msg("alice", "forged", false), "application/json", nil)
				if r.code == 401 {
					unauthorized.Add(1)
				}
			}
		})
	}
	var callers sync.WaitGroup
	for _, who := range []string{"alice", "bob"} {
		callers.Go(func() {
			for range 20 {
				check(t, e.send(who, "hi", false), 202, "accepted")
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

func TestAddrKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:5000", "127.0.0.1"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"}, // as a middleware may write it
		{"[2001:db8:1:2:ffff::1]", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"10.0.0.1", "10.0.0.1"},
		{"::ffff:10.0.0.1", "10.0.0.1"},
		{"not an address", "not an address"},
		{"[]", "[]"},
	} {
		if got := addrKey(tc.in); got != tc.want {
			t.Errorf("addrKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRepeatedContentTypeRefused: a request with two Content-Type lines
// is refused 415 whichever comes first; the first used to win, so that
// the answer depended on the order.
func TestRepeatedContentTypeRefused(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	body := msg("alice", "hi", false)
	for _, order := range [][]string{{"application/json", "text/plain"}, {"text/plain", "application/json"}} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewReader(body))
		req.Header = hmacHeader(DefaultSignatureHeader, secret, body)
		req.Header["Content-Type"] = order
		r := e.do(req)
		check(t, r, 415, "unsupported_media_type")
		if r.answer.Error != "Content-Type sent more than once" {
			t.Errorf("Content-Type %q: reason %q, want %q", order, r.answer.Error, "Content-Type sent more than once")
		}
	}
	if n := e.c.Len(); n != 0 {
		t.Errorf("stream holds %d messages, want 0", n)
	}
}

// TestRepeatedIdempotencyKeyRefused: Idempotency-Key sent twice, or
// malformed, is refused 400 whatever the scheme; with a scheme that has
// delivery IDs of its own it used to be accepted.
func TestRepeatedIdempotencyKeyRefused(t *testing.T) {
	gh := []byte("github secret")
	body := msg("alice", "hi", false)
	for _, tc := range []struct {
		name string
		v    Verifier
		hdr  http.Header
	}{
		{"HMAC", HMACSHA256("", secret), hmacHeader(DefaultSignatureHeader, secret, body)},
		{"GitHub", GitHub(gh), func() http.Header {
			h := hmacHeader("X-Hub-Signature-256", gh, body)
			h.Set("X-GitHub-Delivery", "d-1")
			return h
		}()},
		{"Standard Webhooks", mustStandard(t, vectorSecret), standardHeader(t, vectorSecret, "msg_1", vectorTime.Unix(), body)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Verifiers: []Verifier{tc.v}}, 4)
			for _, bad := range []struct {
				values []string
				reason string
			}{
				{[]string{"a", "b"}, "Idempotency-Key sent more than once"},
				{[]string{`""`}, badDeliveryID},
			} {
				hdr := tc.hdr.Clone()
				hdr["Idempotency-Key"] = bad.values
				r := e.post(body, "application/json", hdr)
				check(t, r, 400, "bad_request")
				if r.answer.Error != bad.reason {
					t.Errorf("Idempotency-Key %q: reason %q, want %q", bad.values, r.answer.Error, bad.reason)
				}
			}
			if n := e.c.Len(); n != 0 {
				t.Errorf("stream holds %d messages, want 0", n)
			}
		})
	}
}

// TestClosedBeforeTooManyPending: a caller that would wait for a reply
// from a run that was shut down is answered 503 closed, even when
// MaxPending callers still wait; it used to get 429 too_many_pending, with
// Retry-After, for a run that will never take it.
func TestClosedBeforeTooManyPending(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed, MaxPending: 1, ResponseTimeout: 5 * time.Second}, 4)
	first := make(chan reply, 1)
	go func() { first <- e.send("alice", "waits", true) }()
	m := <-e.stream
	if err := e.c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.send("bob", "too late", true)
	check(t, r, 503, "closed")
	if ra := r.header.Get("Retry-After"); ra != "" {
		t.Errorf("closed answered with Retry-After %q", ra)
	}
	m.Reply.Resolve("pong")
	check(t, <-first, 200, "replied")
}

// errSink refuses every message with an error of its own, as a sink that
// encodes messages can.
type errSink struct{ fanin.Sink[Message] }

func (errSink) Send(context.Context, Message) error { return errors.New("encode failed") }

// TestSendErrorNotBusy: a send that fails for a reason other than a full
// buffer is answered 500 send_failed without Retry-After; it used to be
// answered 503 busy "the stream is full", with Retry-After 1, which
// invites endless retries of a message that will fail alike.
func TestSendErrorNotBusy(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	s, _ := e.c.Sender()
	e.h.Attach(errSink{s})
	for _, wait := range []bool{false, true} {
		r := e.send("alice", "hi", wait)
		check(t, r, 500, "send_failed")
		if ra := r.header.Get("Retry-After"); ra != "" {
			t.Errorf("wait %v: Retry-After %q on an error a retry repeats", wait, ra)
		}
	}
}

// refusingSink refuses every message for good, as a sink does whose
// encoding cannot carry it (natsjs's Publisher for a caller that waits for
// a reply).
type refusingSink struct{ fanin.Sink[Message] }

func (refusingSink) Send(context.Context, Message) error {
	return fmt.Errorf("encode: the reply cannot cross: %w", fanin.ErrRefused)
}

// TestSinkRefusalIs422: a send that the sink refuses with an error matching
// fanin.ErrRefused is answered 422 refused, with the sink's reason and
// without Retry-After: the request, not the service, is at fault. It used
// to be answered 500 send_failed, which reads as the service's failure.
func TestSinkRefusalIs422(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	s, _ := e.c.Sender()
	e.h.Attach(refusingSink{s})
	for _, wait := range []bool{false, true} {
		r := e.send("alice", "hi", wait)
		check(t, r, http.StatusUnprocessableEntity, "refused")
		if !strings.Contains(r.answer.Error, "the reply cannot cross") {
			t.Errorf("wait %v: error %q, want the sink's reason", wait, r.answer.Error)
		}
		if ra := r.header.Get("Retry-After"); ra != "" {
			t.Errorf("wait %v: Retry-After %q on a refusal a retry repeats", wait, ra)
		}
	}
}

// TestStandardPayloadByDefault: a Standard Webhooks sender's own payload,
// {"type", "timestamp", "data"}, posted to a handler with the default
// configuration reaches the stream as an event: type, delivery ID, signed
// timestamp and the payload as it came. It used to be refused 400
// "sender" is required.
func TestStandardPayloadByDefault(t *testing.T) {
	e := newEnv(t, Config{Verifiers: []Verifier{mustStandard(t, vectorSecret)}}, 4)
	body := []byte(`{"type":"invoice.paid","timestamp":"2021-02-25T15:02:10Z","data":{"id":"in_1"}}`)
	ts := vectorTime.Unix() - 10
	r := e.post(body, "application/json", standardHeader(t, vectorSecret, "msg_1", ts, body))
	if r.code != 202 {
		t.Fatalf("answer = %d %+v, want 202 accepted", r.code, r.answer)
	}
	m := <-e.stream
	if m.Event != "invoice.paid" || m.DeliveryID != "msg_1" || !m.Timestamp.Equal(time.Unix(ts, 0)) ||
		!bytes.Equal(m.Body, body) || m.ID != r.answer.MessageID {
		t.Errorf("message = %+v, want the event with its type, ID, timestamp and body", m)
	}
}

// TestOtherShapeHintsAtRaw: a body that is not the message shape, under
// a scheme that is not Standard Webhooks, is refused 400 with a reason
// that says how a handler takes bodies of any shape.
func TestOtherShapeHintsAtRaw(t *testing.T) {
	e := newEnv(t, Config{Verifiers: signed}, 4)
	body := []byte(`{"action":"opened"}`)
	r := e.post(body, "application/json", hmacHeader(DefaultSignatureHeader, secret, body))
	check(t, r, 400, "bad_request")
	if !strings.Contains(r.answer.Error, "Config.Raw") {
		t.Errorf("reason %q does not mention Config.Raw", r.answer.Error)
	}
	checkWords(t, r.answer.Error)
}
