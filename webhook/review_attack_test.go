package webhook

// Attacks on the promises of the package documentation (README.md, doc.go,
// go doc). Each test asserts what the documentation promises; a failing test
// is a broken promise.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fanin-go/fanin"
)

var rvKey = []byte("review-secret")

// rvStream starts a Channel run of the given capacity and returns its
// stream and sender; the run is shut down at cleanup.
func rvStream(t *testing.T, capacity int) (<-chan Message, *fanin.Sender[Message]) {
	t.Helper()
	c := fanin.New[Message](capacity)
	stream, err := c.Start()
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	s, err := c.Sender()
	if err != nil {
		t.Fatalf("Sender() = %v", err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown() = %v", err)
		}
	})
	return stream, s
}

// rvDrain returns the messages buffered in stream without waiting.
func rvDrain(stream <-chan Message) []Message {
	var out []Message
	for {
		select {
		case m := <-stream:
			out = append(out, m)
		default:
			return out
		}
	}
}

// rvHMACRequest builds a POST signed with HMACSHA256 under rvKey.
func rvHMACRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(DefaultSignatureHeader, "sha256="+hex.EncodeToString(Sign(rvKey, []byte(body))))
	return r
}

func rvServe(h *Handler, r *http.Request) (*httptest.ResponseRecorder, answer) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var a answer
	_ = json.Unmarshal(w.Body.Bytes(), &a)
	return w, a
}

// ByRemoteAddr and AddrLimit promise to count IPv6 callers by their /64.
// net/http documents RemoteAddr as having no defined format, and a program
// that mounts the handler behind a middleware that writes the client's IP
// (without a port) into RemoteAddr gets one bucket per IPv6 address: a
// host holding a /64 rotates addresses and is never limited.
func TestAttackReviewAddrLimitIPv6WithoutPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			first  string
			second string
		}{
			{"with port", "[2001:db8::1]:1000", "[2001:db8::2]:1000"},
			{"without port", "2001:db8::1", "2001:db8::2"},
			{"bracketed without port", "[2001:db8::1]", "[2001:db8::2]"},
		} {
			stream, s := rvStream(t, 8)
			h := New(Config{
				Verifiers: []Verifier{HMACSHA256("", rvKey)},
				AddrLimit: []fanin.Band{{Events: 1, Interval: time.Hour, Burst: 1}},
			})
			h.Attach(s)
			r1 := rvHMACRequest(`{"sender":"a","content":"one"}`)
			r1.RemoteAddr = tc.first
			if w, _ := rvServe(h, r1); w.Code != http.StatusAccepted {
				t.Fatalf("%s: first request = %d, want 202", tc.name, w.Code)
			}
			r2 := rvHMACRequest(`{"sender":"a","content":"two"}`)
			r2.RemoteAddr = tc.second
			if w, a := rvServe(h, r2); w.Code != http.StatusTooManyRequests {
				t.Errorf("%s: second address of the same /64 (%s after %s) = %d %s, want 429 rate_limited",
					tc.name, tc.second, tc.first, w.Code, a.Status)
			}
			rvDrain(stream)
		}
	})
}

// The documentation lists the Idempotency-Key header as a delivery ID, and
// a malformed delivery ID is answered 400. An Idempotency-Key whose
// structured-field string is empty ("") is neither refused nor
// remembered: its quotes are stripped to nothing, the request is treated as
// having no key, and every copy enters the stream.
func TestAttackReviewEmptyQuotedIdempotencyKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 8)
		h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}})
		h.Attach(s)
		body := `{"sender":"a","content":"pay once"}`
		var codes []int
		for range 2 {
			r := rvHMACRequest(body)
			r.Header.Set("Idempotency-Key", `""`)
			w, _ := rvServe(h, r)
			codes = append(codes, w.Code)
		}
		got := rvDrain(stream)
		if len(got) > 1 {
			t.Errorf("two copies with Idempotency-Key %q: answers %v, %d messages in the stream, want at most 1 (400 for a malformed key, or the second a repeat)",
				`""`, codes, len(got))
		}
	})
}

// The Standard Webhooks verifier must refuse malformed signature headers.
// An entry whose base64 is not canonical (the unused bits of its last
// character set) is not what any sender writes, and the specification's
// libraries compare the encoded text; this verifier accepts it.
func TestAttackReviewStandardNonCanonicalBase64(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = int64(1614265330)
		body   = `{"test": 2432232314}`
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	v, err := StandardWebhooks(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(ts, 0)
	hd := func(sig string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
		h.Set("webhook-signature", sig)
		return h
	}
	if _, err := v.Verify(NewRequest(hd(want), []byte(body), now)); err != nil {
		t.Fatalf("specification vector: Verify = %v, want nil", err)
	}
	// "E" is 000100: its last two bits are the padding bits; "F" is 000101.
	odd := strings.TrimSuffix(want, "E=") + "F="
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(odd, "v1,"))
	if base64.StdEncoding.EncodeToString(raw) == strings.TrimPrefix(odd, "v1,") {
		t.Fatal("test setup: the altered entry is canonical")
	}
	if _, err := v.Verify(NewRequest(hd(odd), []byte(body), now)); err == nil {
		t.Errorf("Verify(non-canonical base64 %q) = nil, want ErrBadSignature (malformed header)", odd)
	}
}

// rvRun starts h with Run on a loopback address and returns its address
// and a function that ends Run and waits for it.
func rvRun(t *testing.T, h *Handler, s fanin.Sink[Message]) (string, func()) {
	t.Helper()
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	addr := h.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, s) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run() = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return addr, stop
}

// rvRoundTrip writes a raw request on a new connection and reads one
// response.
func rvRoundTrip(t *testing.T, addr, raw string) (*http.Response, []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("Dial = %v", err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("write = %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("ReadResponse = %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

func rvRawPost(body string, extra string) string {
	return "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
		DefaultSignatureHeader + ": sha256=" + hex.EncodeToString(Sign(rvKey, []byte(body))) + "\r\n" +
		extra +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
}

// Under Run, headers are promised to be read up to MaxHeaderBytes (16 KiB
// by default), larger ones answered 431. net/http reads 4 KiB beyond
// MaxHeaderBytes, so a request with 19 KiB of headers is served.
func TestAttackReviewMaxHeaderBytes(t *testing.T) {
	stream, s := rvStream(t, 8)
	h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}, Addr: "127.0.0.1:0"})
	addr, stop := rvRun(t, h, s)
	body := `{"sender":"a","content":"big headers"}`
	pad := "X-Pad: " + strings.Repeat("a", 19<<10) + "\r\n"
	resp, b := rvRoundTrip(t, addr, rvRawPost(body, pad))
	stop()
	got := rvDrain(stream)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("request with %d bytes of headers, MaxHeaderBytes %d: %s %s, %d messages in the stream; want 431",
			len(pad), DefaultMaxHeaderBytes, resp.Status, bytes.TrimSpace(b), len(got))
	}
}

// "Every answer the handler writes has one JSON shape"; under Run, the
// documentation lists the answers net/http gives itself, in plain text,
// before the handler runs. Each listed case gets exactly that answer, with
// Connection: close and nothing in the stream, and requests that do reach
// the handler, however odd, get the JSON shape.
func TestAttackReviewEveryAnswerJSON(t *testing.T) {
	stream, s := rvStream(t, 8)
	h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}, Addr: "127.0.0.1:0"})
	addr, _ := rvRun(t, h, s)
	body := `{"sender":"a","content":"x"}`
	good := rvRawPost(body, "")
	for _, tc := range []struct {
		name string
		raw  string
		code int // 0: the handler's JSON answer
	}{
		{"Expect other than 100-continue", rvRawPost(body, "Expect: 200-ok\r\n"), 417},
		{"Transfer-Encoding gzip", rvRawPost(body, "Transfer-Encoding: gzip\r\n"), 501},
		{"HTTP/2.0 request line", strings.Replace(good, "HTTP/1.1", "HTTP/2.0", 1), 505},
		{"no Host", strings.Replace(good, "Host: x\r\n", "", 1), 400},
		{"two Hosts", rvRawPost(body, "Host: y\r\n"), 400},
		{"malformed Host", strings.Replace(good, "Host: x", "Host: a b", 1), 400},
		{"two Content-Lengths", rvRawPost(body, "Content-Length: 5\r\n"), 400},
		{"malformed header name", rvRawPost(body, "Bad Name: x\r\n"), 400},
		{"control byte in a header", rvRawPost(body, "X-Ctl: a\x01b\r\n"), 400},
		{"malformed request line", strings.Replace(good, "POST / HTTP/1.1", "POST /", 1), 400},
		{"GET", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 0},
		{"folded header", rvRawPost(body, " folded\r\n"), 0},
		{"HTTP/1.0", strings.Replace(good, "HTTP/1.1", "HTTP/1.0", 1), 0},
	} {
		resp, b := rvRoundTrip(t, addr, tc.raw)
		var a answer
		isJSON := json.Unmarshal(b, &a) == nil && a.Status != ""
		switch {
		case tc.code == 0 && !isJSON:
			t.Errorf("%s: %s, body %q; want the package's JSON answer", tc.name, resp.Status, bytes.TrimSpace(b))
		case tc.code != 0 && (resp.StatusCode != tc.code || isJSON || !resp.Close):
			t.Errorf("%s: %s, body %q, close %v; want net/http's own %d, as documented, and the connection closed",
				tc.name, resp.Status, bytes.TrimSpace(b), resp.Close, tc.code)
		}
	}
	// Only the HTTP/1.0 request is signed and well-formed; the folded line
	// joins the signature header and spoils it.
	if got := rvDrain(stream); len(got) != 1 {
		t.Errorf("%d messages in the stream, want 1", len(got))
	}
}

// rvStatus reads one answer from c and returns its status code, or -1 if
// the connection ended without one.
func rvStatus(c net.Conn) int {
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

// pipeListener serves net.Pipe connections, so that a server runs inside a
// synctest bubble with a fake clock.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn, 16), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error { l.once.Do(func() { close(l.done) }); return nil }

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }

// dial returns the client end of a new connection.
func (l *pipeListener) dial() net.Conn {
	client, server := net.Pipe()
	l.conns <- server
	return client
}

// Run returns at once after its context ends when no caller waits for a
// reply, except that an answer its client does not read (a full socket
// buffer; net.Pipe has none) is given writeTime (1 s) from the end of the
// context, or from its start if later, and then given up. Without that, a
// handler blocked in the flush of its answer held Run for ShutdownGrace
// and one more second. net/http adds its own half second for a connection
// whose large body was left unread.
func TestAttackReviewRunWaitsForNonReadingClient(t *testing.T) {
	raw := rvRawPost(`{"sender":"a","content":"stalled"}`, "")
	for _, tc := range []struct {
		name    string
		request string // written whole by a goroutine of the client
		reads   int    // the status the client reads; 0: it does not read
		want    time.Duration
	}{
		// The handler is blocked writing its 405 when the context ends.
		{"answer blocked before the end", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, writeTime},
		// The body stalls; the end cuts it off, and the 503 closed is
		// written after the end.
		{"answer begun after the end", raw[:len(raw)-3], 0, writeTime},
		{"client that reads", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 405, 0},
		// Refused on its headers, 1 MB of body unread: net/http keeps the
		// connection half a second after the answer.
		{"large body left unread", "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n", 401, 500 * time.Millisecond},
	} {
		synctest.Test(t, func(t *testing.T) {
			_, s := rvStream(t, 8)
			h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}})
			ln, cancel, done := rvRunPipe(t, h, s)
			c := ln.dial()
			defer c.Close()
			go func() { _, _ = io.WriteString(c, tc.request) }()
			answered := make(chan int, 1)
			if tc.reads != 0 {
				go func() { answered <- rvStatus(c) }()
			}
			synctest.Wait() // the handler is blocked writing, or reading the body
			start := time.Now()
			cancel()
			<-done
			if took := time.Since(start); took != tc.want {
				t.Errorf("%s: Run returned %v after its context ended, with no reply awaited; want %v", tc.name, took, tc.want)
			}
			if tc.reads != 0 {
				if code := <-answered; code != tc.reads {
					t.Errorf("%s: answer %d, want %d", tc.name, code, tc.reads)
				}
			}
		})
	}
}

// ReadTimeout bounds the body also when the handler is mounted in a server
// of one's own, through http.ResponseController, which reaches the
// connection through wrappers that have an Unwrap method. Behind a
// middleware whose wrapper has none, the handler cannot set the deadline,
// as documented: the body is bounded by the server's own ReadTimeout,
// whose expiry is answered 408 alike.
func TestAttackReviewReadTimeoutBehindMiddleware(t *testing.T) {
	for _, tc := range []struct {
		name        string
		wrap        func(http.ResponseWriter) http.ResponseWriter
		serverLimit time.Duration // the server's own ReadTimeout
		want        time.Duration // when the 408 comes
	}{
		{"net/http's writer", func(w http.ResponseWriter) http.ResponseWriter { return w }, 0, time.Second},
		{"a wrapper with Unwrap", func(w http.ResponseWriter) http.ResponseWriter { return unwrapper{w} }, 0, time.Second},
		{"a wrapper without Unwrap", func(w http.ResponseWriter) http.ResponseWriter { return struct{ http.ResponseWriter }{w} }, 3 * time.Second, 3 * time.Second},
	} {
		synctest.Test(t, func(t *testing.T) {
			_, s := rvStream(t, 8)
			h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}, ReadTimeout: time.Second})
			h.Attach(s)
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(tc.wrap(w), r) // a logging middleware, say
			})
			srv := &http.Server{Handler: handler, ReadTimeout: tc.serverLimit}
			ln := newPipeListener()
			served := make(chan struct{})
			go func() { defer close(served); _ = srv.Serve(ln) }()
			c := ln.dial()
			raw := rvRawPost(`{"sender":"a","content":"stalled"}`, "")
			start := time.Now()
			answered := make(chan int, 1)
			go func() {
				// Everything but the last byte of the body.
				_, _ = io.WriteString(c, raw[:len(raw)-1])
				answered <- rvStatus(c)
			}()
			code := <-answered
			took := time.Since(start)
			c.Close()
			srv.Close()
			<-served
			if code != http.StatusRequestTimeout || took != tc.want {
				t.Errorf("mounted behind %s, body stalled: answer %d after %v, want 408 after %v", tc.name, code, took, tc.want)
			}
		})
	}
}

// unwrapper is a middleware's wrapper that http.ResponseController can see
// through.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// --- Attacks that the package withstood; kept as regression tests. ---

// rvStandardRequest builds a Standard Webhooks request signed with secret.
func rvStandardRequest(t *testing.T, secret, id string, ts int64, body string) *http.Request {
	t.Helper()
	sig, err := SignStandard(secret, id, time.Unix(ts, 0), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("webhook-id", id)
	r.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("webhook-signature", "v1,AAAA v1a,xyz "+sig) // junk entries around the good one
	return r
}

const rvSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// The tolerance is exactly 300 s both ways in whole seconds; a Standard
// Webhooks delivery accepted at the edge is remembered until it is stale,
// even with a DedupWindow far shorter than the tolerance.
func TestAttackReviewStandardToleranceAndReplay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const T = int64(1_700_000_000)
		for _, tc := range []struct {
			skew int64
			code int
		}{{-300, 202}, {300, 202}, {-301, 401}, {301, 401}} {
			stream, s := rvStream(t, 8)
			sw, err := StandardWebhooks("whsec_b2xk", rvSecret) // rotation: the second secret signs
			if err != nil {
				t.Fatal(err)
			}
			h := New(Config{Verifiers: []Verifier{sw}, Raw: true, DedupWindow: time.Nanosecond})
			now := time.Unix(T, 0)
			h.now = func() time.Time { return now }
			h.Attach(s)
			ts := T + tc.skew
			w, a := rvServe(h, rvStandardRequest(t, rvSecret, "msg_1", ts, `{"type":"t"}`))
			if w.Code != tc.code {
				t.Fatalf("skew %d s: %d %s %q, want %d", tc.skew, w.Code, a.Status, a.Error, tc.code)
			}
			if tc.code != 202 {
				continue
			}
			// Replays at every instant until the timestamp is stale.
			for _, later := range []time.Duration{time.Second / 2, time.Duration(ts+300-T)*time.Second + 999*time.Millisecond} {
				if later < 0 {
					continue
				}
				now = time.Unix(T, 0).Add(later)
				w2, a2 := rvServe(h, rvStandardRequest(t, rvSecret, "msg_1", ts, `{"type":"t"}`))
				if w2.Code != 202 || a2.MessageID != a.MessageID || w2.Header().Get("Idempotent-Replayed") != "true" {
					t.Errorf("skew %d, replay %v later: %d %s id %q replayed %q; want the first answer, id %q",
						tc.skew, later, w2.Code, a2.Status, a2.MessageID, w2.Header().Get("Idempotent-Replayed"), a.MessageID)
				}
			}
			now = time.Unix(ts+301, 0)
			if w3, a3 := rvServe(h, rvStandardRequest(t, rvSecret, "msg_1", ts, `{"type":"t"}`)); w3.Code != 401 {
				t.Errorf("skew %d, replay once stale: %d %s, want 401", tc.skew, w3.Code, a3.Status)
			}
			if got := rvDrain(stream); len(got) != 1 || got[0].Event != "t" || got[0].DeliveryID != "msg_1" {
				t.Errorf("skew %d: stream %+v, want one message of event t, delivery msg_1", tc.skew, got)
			}
		}
	})
}

// 50 concurrent copies of a delivery that waits for a reply: one message,
// one message_id, every copy answered with the reply.
func TestAttackReviewConcurrentCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 1)
		h := New(Config{Verifiers: []Verifier{GitHub(rvKey)}})
		h.Attach(s)
		body := `{"sender":"a","content":"x","wait_for_response":true}`
		type res struct {
			code     int
			a        answer
			replayed bool
		}
		results := make(chan res, 50)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(Sign(rvKey, []byte(body))))
				r.Header.Set("X-GitHub-Delivery", "d-1")
				w, a := rvServe(h, r)
				results <- res{w.Code, a, w.Header().Get("Idempotent-Replayed") == "true"}
			})
		}
		synctest.Wait()
		m := <-stream
		m.Reply.Resolve("pong")
		wg.Wait()
		close(results)
		n := 0
		for r := range results {
			if r.code != 200 || r.a.Response != "pong" || r.a.MessageID != m.ID {
				t.Errorf("copy: %d %+v, want 200 replied pong, id %s", r.code, r.a, m.ID)
			}
			if !r.replayed {
				n++
			}
		}
		if extra := rvDrain(stream); len(extra) != 0 || n != 1 {
			t.Errorf("%d more messages in the stream, %d answers not marked replayed; want 0 and 1", len(extra), n)
		}
	})
}

// rvRunPipe runs h under Run on a pipe listener inside a synctest bubble.
func rvRunPipe(t *testing.T, h *Handler, s fanin.Sink[Message]) (*pipeListener, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	ln := newPipeListener()
	h.srv.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := h.Run(ctx, s); err != nil {
			t.Errorf("Run() = %v", err)
		}
	}()
	return ln, cancel, done
}

// rvPost writes raw on a new pipe connection and returns a channel that
// receives the status code and answer (code -1 if the connection ended
// without one).
func rvPost(ln *pipeListener, raw string) <-chan res2 {
	out := make(chan res2, 1)
	c := ln.dial()
	go func() {
		defer c.Close()
		go func() { _, _ = io.WriteString(c, raw) }()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			out <- res2{code: -1}
			return
		}
		var a answer
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &a)
		out <- res2{resp.StatusCode, a, resp.Header}
	}()
	return out
}

type res2 struct {
	code int
	a    answer
	hd   http.Header
}

// Copies of a delivery racing shutdown: the first is blocked on a full
// buffer, copies wait for it; shutdown refuses them all, nothing enters the
// stream, and a retry on the next run is a new delivery.
func TestAttackReviewCopiesRacingShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := fanin.New[Message](1)
		stream, _ := c.Start()
		s, _ := c.Sender()
		if err := s.Send(context.Background(), Message{ID: "filler"}); err != nil {
			t.Fatal(err)
		}
		h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}})
		ln, cancel, done := rvRunPipe(t, h, s)
		body := `{"sender":"a","content":"x"}`
		raw := rvRawPost(body, "Idempotency-Key: k1\r\n")
		var outs []<-chan res2
		for range 5 {
			outs = append(outs, rvPost(ln, raw))
			synctest.Wait()
		}
		cancel()
		<-done
		for i, o := range outs {
			if r := <-o; r.code != 503 || r.a.Status != "closed" {
				t.Errorf("copy %d at shutdown: %d %+v, want 503 closed", i, r.code, r.a)
			}
		}
		if m := <-stream; m.ID != "filler" {
			t.Fatalf("first message %q, want the filler", m.ID)
		}
		if extra := rvDrain(stream); len(extra) != 0 {
			t.Errorf("messages refused at shutdown are in the stream: %+v", extra)
		}
		// The next run takes the retry as a new delivery.
		ln2, cancel2, done2 := rvRunPipe(t, h, s)
		r := <-rvPost(ln2, raw)
		cancel2()
		<-done2
		if r.code != 202 || r.hd.Get("Idempotent-Replayed") != "" {
			t.Errorf("retry after the refused shutdown: %d %+v replayed %q, want a fresh 202", r.code, r.a, r.hd.Get("Idempotent-Replayed"))
		}
		if got := rvDrain(stream); len(got) != 1 {
			t.Errorf("%d messages after the retry, want 1", len(got))
		}
		_ = c.Shutdown(context.Background())
	})
}

// MaxVerifying: a signed request over the cap is answered 503 busy at
// once, with Retry-After and Connection: close; a stalled body is cut at
// shutdown with 503 closed; a caller whose message is in the stream is
// answered no_reply after ShutdownGrace, and Run returns then.
func TestAttackReviewBusyAndShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 8)
		h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}, MaxVerifying: 1, ShutdownGrace: 2 * time.Second})
		ln, cancel, done := rvRunPipe(t, h, s)
		waiter := rvPost(ln, rvRawPost(`{"sender":"w","content":"x","wait_for_response":true}`, ""))
		synctest.Wait()
		if m := <-stream; m.Sender != "w" {
			t.Fatalf("message %+v, want the waiter's", m)
		}
		raw := rvRawPost(`{"sender":"a","content":"stalled"}`, "")
		stalled := rvPost(ln, raw[:len(raw)-3]) // the body cut short
		synctest.Wait()
		busy := <-rvPost(ln, rvRawPost(`{"sender":"b","content":"x"}`, ""))
		if busy.code != 503 || busy.a.Status != "busy" || busy.hd.Get("Retry-After") != "1" {
			t.Errorf("over MaxVerifying: %d %+v Retry-After %q, want 503 busy, 1", busy.code, busy.a, busy.hd.Get("Retry-After"))
		}
		start := time.Now()
		cancel()
		if r := <-stalled; r.code != 503 || r.a.Status != "closed" || time.Since(start) != 0 {
			t.Errorf("stalled body at shutdown: %d %+v after %v, want 503 closed at once", r.code, r.a, time.Since(start))
		}
		if r := <-waiter; r.code != 202 || r.a.Status != "no_reply" || time.Since(start) != 2*time.Second {
			t.Errorf("waiting caller: %d %+v after %v, want 202 no_reply after the 2 s grace", r.code, r.a, time.Since(start))
		}
		<-done
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("Run returned %v after ctx ended, want 2s", took)
		}
	})
}

// MaxConns: a connection over the cap is closed at once.
func TestAttackReviewMaxConns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, s := rvStream(t, 8)
		h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}, MaxConns: 1})
		ln, cancel, done := rvRunPipe(t, h, s)
		a := ln.dial()
		synctest.Wait()
		b := ln.dial()
		synctest.Wait()
		_, err := b.Read(make([]byte, 1))
		if err == nil {
			t.Errorf("second connection over MaxConns 1: read succeeded, want it closed")
		}
		b.Close()
		a.Close()
		cancel()
		<-done
	})
}

// Raw mode, rate keys, truncation.
func TestAttackReviewRawAndKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 16)
		h := New(Config{
			Verifiers: []Verifier{GitHub(rvKey)}, Raw: true, Headers: []string{"user-agent", "x-missing"},
			RateLimit: []fanin.Band{{Events: 1, Interval: time.Hour, Burst: 1}}, RateKey: ByField("repository.full_name"),
		})
		h.Attach(s)
		post := func(body, ctype string) (*httptest.ResponseRecorder, answer) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			r.Header.Set("Content-Type", ctype)
			r.Header.Set("User-Agent", "GitHub-Hookshot/1")
			r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(Sign(rvKey, []byte(body))))
			r.Header.Set("X-GitHub-Event", "push")
			return rvServe(h, r)
		}
		body := "{\"repository\":{\"full_name\":\"o/r\"},\"x\":\"\xff\"}"
		if w, a := post(body, "application/x-www-form-urlencoded; charset=\xff"); w.Code != 202 {
			t.Fatalf("raw GitHub: %d %+v", w.Code, a)
		}
		m := <-stream
		if string(m.Body) != body || m.Event != "push" || m.Header.Get("User-Agent") != "GitHub-Hookshot/1" || len(m.Header) != 1 {
			t.Errorf("raw message %+v, want the body as sent, event push, User-Agent only", m)
		}
		if w, a := post(`{"repository":{"full_name":"o/r"},"n":2}`, "text/plain"); w.Code != 429 {
			t.Errorf("same repository again: %d %+v, want 429", w.Code, a)
		}
		if w, a := post(`{"repository":{"full_name":"o/other"}}`, "text/plain"); w.Code != 202 {
			t.Errorf("another repository: %d %+v, want 202", w.Code, a)
		}
		if w, a := post("", "text/plain"); w.Code != 400 {
			t.Errorf("empty raw body: %d %+v, want 400", w.Code, a)
		}
		rvDrain(stream)

		h2 := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}, MaxContentBytes: 3, TruncateContent: true})
		h2.Attach(s)
		for _, tc := range []struct{ content, want string }{{"a€", "a"}, {"€x", "€"}, {"😀", ""}} {
			w, a := rvServe(h2, rvHMACRequest(`{"sender":"a","content":"`+tc.content+`"}`))
			got := rvDrain(stream)
			switch {
			case tc.want == "" && (w.Code != 413 || len(got) != 0):
				t.Errorf("content %q: %d %+v, %d messages; want 413 and none", tc.content, w.Code, a, len(got))
			case tc.want != "" && (w.Code != 202 || len(got) != 1 || got[0].Content != tc.want):
				t.Errorf("content %q: %d %+v, %+v; want 202 with %q", tc.content, w.Code, a, got, tc.want)
			}
		}
	})
}

// "A repeat ... gets the first delivery's answer", and "replied" means
// "the reply is in response". A reply larger than the 1 MiB the table keeps
// cannot be given to a repeat; the documented answer is then 202
// reply_not_kept with the first message_id, marked replayed, never
// "replied" with an empty response.
func TestAttackReviewRepeatOfLargeReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 8)
		h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}})
		h.Attach(s)
		body := `{"sender":"a","content":"x","wait_for_response":true}`
		req := func() *http.Request {
			r := rvHMACRequest(body)
			r.Header.Set("Idempotency-Key", "big-1")
			return r
		}
		first := make(chan answer, 1)
		go func() { _, a := rvServe(h, req()); first <- a }()
		m := <-stream
		reply := strings.Repeat("r", 1<<20+1)
		m.Reply.Resolve(reply)
		a1 := <-first
		w2, a2 := rvServe(h, req())
		if a1.Response != reply {
			t.Fatalf("first answer: %d bytes of reply, want %d", len(a1.Response), len(reply))
		}
		want := answer{MessageID: a1.MessageID, Status: "reply_not_kept", Error: "the reply is not kept for repeated deliveries"}
		if w2.Code != http.StatusAccepted || a2 != want || w2.Header().Get("Idempotent-Replayed") != "true" {
			t.Errorf("repeat: %d status %s, %d bytes of response, error %q, replayed %q; want 202 %+v, replayed",
				w2.Code, a2.Status, len(a2.Response), a2.Error, w2.Header().Get("Idempotent-Replayed"), want)
		}
		if extra := rvDrain(stream); len(extra) != 0 {
			t.Errorf("%d more messages in the stream, want none", len(extra))
		}
	})
}

// "The delivery's Event is the "type" field of a JSON body." It is taken
// case-insensitively, so a body whose "type" says one thing gets the Event
// of its "TYPE" field.
func TestAttackReviewStandardEventField(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"type":"invoice.paid"}`, "invoice.paid"},
		{`{"type":"invoice.paid","TYPE":"account.deleted"}`, "invoice.paid"},
		{`{"Type":"account.deleted"}`, ""},
	} {
		if got := eventType([]byte(tc.body)); got != tc.want {
			t.Errorf("Event of %s = %q, want %q (its \"type\" field)", tc.body, got, tc.want)
		}
	}
}

// Under Run, a caller whose message is in the stream gets the reply that
// the consumer gives during ShutdownGrace.
func TestAttackReviewReplyDuringGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stream, s := rvStream(t, 8)
		h := New(Config{Verifiers: []Verifier{HMACSHA256("", rvKey)}})
		ln, cancel, done := rvRunPipe(t, h, s)
		waiter := rvPost(ln, rvRawPost(`{"sender":"w","content":"x","wait_for_response":true}`, ""))
		m := <-stream
		cancel()
		time.Sleep(4 * time.Second) // fake time, within the 5 s grace
		m.Reply.Resolve("late")
		if r := <-waiter; r.code != 200 || r.a.Response != "late" || r.a.MessageID != m.ID {
			t.Errorf("reply 4 s into the grace: %d %+v, want 200 replied late", r.code, r.a)
		}
		<-done
	})
}
