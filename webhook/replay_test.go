package webhook_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/webhook"
)

// These tests hold the handler to "no replay ever reaches the stream" and
// to "a genuine delivery cannot be refused by someone who cannot sign", as
// an attack from the docs alone once broke them.

// countingSink is a fake fanin.Sink that keeps the Sender contract: Send
// returns nil if and only if the message was placed. gate, if set, runs
// first and may block or fail the Send.
type countingSink struct {
	mu   sync.Mutex
	msgs []webhook.Message
	gate func() error
	done chan struct{}
}

func newCountingSink() *countingSink { return &countingSink{done: make(chan struct{})} }

func (s *countingSink) Send(ctx context.Context, m webhook.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	g := s.gate
	s.mu.Unlock()
	if g != nil {
		if err := g(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}
func (s *countingSink) TrySend(m webhook.Message) error { return s.Send(context.Background(), m) }
func (s *countingSink) Done() <-chan struct{}           { return s.done }
func (s *countingSink) set(g func() error)              { s.mu.Lock(); s.gate = g; s.mu.Unlock() }
func (s *countingSink) count() int                      { s.mu.Lock(); defer s.mu.Unlock(); return len(s.msgs) }

const replaySecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestReplayOfARetryNeverReachesStream: a Standard Webhooks sender's retry,
// re-signed with a later timestamp, is answered from the table; a captured
// copy of that retry, replayed within its own tolerance, is answered from
// the table too, with the default Config.
func TestReplayOfARetryNeverReachesStream(t *testing.T) {
	sw, err := webhook.StandardWebhooks(replaySecret)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	var now atomic.Int64
	now.Store(t0.UnixNano())
	h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{sw}, Clock: func() time.Time { return time.Unix(0, now.Load()) }})
	sink := newCountingSink()
	h.Attach(fanin.Sink[webhook.Message](sink))
	body := `{"type":"invoice.paid","data":{"id":1}}`
	post := func(ts time.Time) (*httptest.ResponseRecorder, string) {
		sig, err := webhook.SignStandard(replaySecret, "msg_1", ts, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("webhook-id", "msg_1")
		r.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		r.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var a struct {
			MessageID string `json:"message_id"`
		}
		json.Unmarshal(w.Body.Bytes(), &a)
		return w, a.MessageID
	}
	_, id1 := post(t0)
	retry := t0.Add(590 * time.Second)
	now.Store(retry.UnixNano())
	if w, id := post(retry); w.Header().Get("Idempotent-Replayed") != "true" || id != id1 {
		t.Fatalf("the retry: %d %s, want the first answer", w.Code, w.Body)
	}
	now.Store(retry.Add(30 * time.Second).UnixNano())
	w, id := post(retry) // a captured copy of the retry, 30 s later
	if n := sink.count(); n != 1 || id != id1 {
		t.Fatalf("replay of the retry: %d %s; %d messages in the stream, want 1 and the first answer", w.Code, strings.TrimSpace(w.Body.String()), n)
	}
}

// TestSlowRepeatSurvivesARefusedLaterCopy: an Idempotency-Key retry that
// arrived within DedupWindow stays a repeat, however slowly its body comes,
// even when a later copy (arrived after the window) was refused meanwhile.
func TestSlowRepeatSurvivesARefusedLaterCopy(t *testing.T) {
	secret := []byte("s3cret")
	var now atomic.Int64
	now.Store(time.Unix(1_700_000_000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	advance := func(d time.Duration) { now.Add(int64(d)) }
	arrived := make(chan struct{}, 4)
	inner := webhook.HMACSHA256("", secret)
	v := webhook.VerifierFunc(func(r *webhook.Request) (webhook.Delivery, error) {
		arrived <- struct{}{} // the request has arrived; its body is read next
		return inner.Verify(r)
	})
	h := webhook.New(webhook.Config{
		Verifiers:   []webhook.Verifier{v},
		Clock:       clock,
		DedupWindow: time.Minute,
		ReadTimeout: 10 * time.Second,
		RateLimit:   []fanin.Band{{Events: 1000, Interval: time.Second, Burst: 1000}},
		RateKey:     webhook.ByHeader("X-Proxy-Client"),
	})
	sink := newCountingSink()
	h.Attach(fanin.Sink[webhook.Message](sink))
	body := `{"sender":"alice","content":"hello"}`
	mk := func(b io.Reader) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", b)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(webhook.DefaultSignatureHeader, "sha256="+hex.EncodeToString(webhook.Sign(secret, []byte(body))))
		r.Header.Set("Idempotency-Key", "key-1")
		return r
	}
	h.ServeHTTP(httptest.NewRecorder(), mk(strings.NewReader(body))) // delivered
	<-arrived

	advance(59 * time.Second) // a retry arrives within the window; its body is slow
	pr, pw := io.Pipe()
	w1 := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { defer close(done); h.ServeHTTP(w1, mk(pr)) }()
	<-arrived

	advance(2 * time.Second) // a copy arrives after the window, and is refused 400
	r2 := mk(strings.NewReader(body))
	r2.Header.Add("X-Proxy-Client", "a")
	r2.Header.Add("X-Proxy-Client", "b")
	w2 := httptest.NewRecorder()
	h.ServeHTTP(w2, r2)
	<-arrived
	if w2.Code != http.StatusBadRequest {
		t.Fatalf("the later copy: %d %s, want 400", w2.Code, w2.Body)
	}

	io.WriteString(pw, body)
	pw.Close()
	<-done
	if n := sink.count(); n != 1 {
		t.Fatalf("the retry: %d %s; %d messages in the stream, want 1", w1.Code, strings.TrimSpace(w1.Body.String()), n)
	}
}

// TestCapturedRequestCannotFillTheTable: the holder of one captured GitHub
// request, who cannot sign, sends it under as many made-up delivery IDs as
// the table holds; a delivery with a signed ID is still accepted, since
// unsigned IDs take at most half of the table.
func TestCapturedRequestCannotFillTheTable(t *testing.T) {
	ghSecret := []byte("gh-secret")
	sw, err := webhook.StandardWebhooks(replaySecret)
	if err != nil {
		t.Fatal(err)
	}
	const maxIDs = 50
	h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{sw, webhook.GitHub(ghSecret)}, Raw: true, MaxDeliveries: maxIDs})
	h.Attach(fanin.Sink[webhook.Message](newCountingSink()))
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(req *http.Request) (int, string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(bytes.TrimSpace(b))
	}
	captured := []byte(`{"action":"opened","number":1}`)
	sig := "sha256=" + hex.EncodeToString(webhook.Sign(ghSecret, captured))
	accepted := 0
	for i := range maxIDs {
		req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(captured))
		req.Header.Set("X-Hub-Signature-256", sig)
		req.Header.Set("X-GitHub-Delivery", fmt.Sprintf("made-up-%d", i))
		if code, _ := post(req); code == http.StatusAccepted {
			accepted++
		}
	}
	if accepted != maxIDs/2 {
		t.Errorf("%d made-up IDs accepted, want %d: half of the table", accepted, maxIDs/2)
	}
	body := []byte(`{"type":"invoice.paid"}`)
	now := time.Now()
	ssig, _ := webhook.SignStandard(replaySecret, "msg_genuine", now, body)
	req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(body))
	req.Header.Set("webhook-id", "msg_genuine")
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", ssig)
	if code, answer := post(req); code != http.StatusAccepted {
		t.Fatalf("a genuine delivery after the flood: %d %s, want 202", code, answer)
	}
}

// TestSignedMalformedIDIsBadRequest: a correctly signed Standard Webhooks
// request whose webhook-id is empty, blank or too long is refused 400 like
// any malformed delivery ID, not 401: its signature holds.
func TestSignedMalformedIDIsBadRequest(t *testing.T) {
	sw, err := webhook.StandardWebhooks(replaySecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{sw}, Clock: func() time.Time { return now }})
	h.Attach(fanin.Sink[webhook.Message](newCountingSink()))
	body := `{"type":"x"}`
	for _, id := range []string{"", " ", strings.Repeat("a", 257)} {
		sig, _ := webhook.SignStandard(replaySecret, id, now, []byte(body))
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header["Webhook-Id"] = []string{id}
		r.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		r.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Errorf("signed webhook-id of %d bytes: %d %s, want 400", len(id), w.Code, strings.TrimSpace(w.Body.String()))
		}
	}
}

// blockingSink is a Sink whose Send waits until its ctx ends.
type blockingSink struct{ done chan struct{} }

func (s blockingSink) Send(ctx context.Context, _ webhook.Message) error {
	<-ctx.Done()
	return ctx.Err()
}
func (s blockingSink) TrySend(webhook.Message) error { return fanin.ErrFull }
func (s blockingSink) Done() <-chan struct{}         { return s.done }

// TestCopyOfALeftCallerIsNotTold499: a copy that waited for its first,
// whose own caller left before its message was placed, is not told that
// its client left: it is told to retry, as a new delivery.
func TestCopyOfALeftCallerIsNotTold499(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		secret := []byte("k")
		h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)}, SendTimeout: time.Hour})
		h.Attach(fanin.Sink[webhook.Message](blockingSink{make(chan struct{})}))
		body := `{"sender":"a","content":"x"}`
		post := func(ctx context.Context) *httptest.ResponseRecorder {
			r := httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set(webhook.DefaultSignatureHeader, "sha256="+hex.EncodeToString(webhook.Sign(secret, []byte(body))))
			r.Header.Set("Idempotency-Key", "k")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		ctx1, cancel1 := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var w1, w2 *httptest.ResponseRecorder
		wg.Go(func() { w1 = post(ctx1) })
		synctest.Wait() // the first waits for room
		wg.Go(func() { w2 = post(context.Background()) })
		synctest.Wait() // the copy waits for the first
		cancel1()
		wg.Wait()
		if w1.Code != 499 {
			t.Errorf("the first: %d %s, want 499", w1.Code, w1.Body)
		}
		if w2.Code != http.StatusServiceUnavailable || w2.Header().Get("Retry-After") == "" {
			t.Errorf("the copy: %d %s (Retry-After %q), want 503 busy with Retry-After", w2.Code, strings.TrimSpace(w2.Body.String()), w2.Header().Get("Retry-After"))
		}
	})
}
