package webhook

import (
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
)

// TestStatsCountWhatHappened sends a scripted mix of requests and checks
// each count of Stats against it.
func TestStatsCountWhatHappened(t *testing.T) {
	var seen int64 = -1 // UnverifiedBytes while the custom verifier ran
	var h *Handler
	custom := VerifierFunc(func(r *Request) (Delivery, error) {
		if r.Header.Get("X-Custom") == "" {
			return Delivery{}, ErrNoSignature
		}
		if _, err := r.Body(); err != nil {
			return Delivery{}, err
		}
		seen = h.Stats().UnverifiedBytes
		return Delivery{}, ErrBadSignature
	})
	cfg := Config{
		Verifiers: []Verifier{HMACSHA256("", secret), GitHub([]byte("other")), custom},
		RateLimit: []fanin.Band{{Events: 1, Interval: time.Minute, Burst: 2}},
		AddrLimit: []fanin.Band{{Events: 1000, Interval: time.Second, Burst: 1000}},
	}
	e := newEnv(t, cfg, 16)
	h = e.h

	check(t, e.send("alice", "1", false), 202, "accepted")
	check(t, e.send("alice", "2", false), 202, "accepted")
	check(t, e.send("alice", "3", false), 429, "rate_limited")
	// A bad HMAC signature, and a GitHub one under the wrong secret.
	body := msg("mallory", "forged", false)
	check(t, e.post(body, "application/json", hmacHeader(DefaultSignatureHeader, []byte("wrong"), body)), 401, "unauthorized")
	check(t, e.post(body, "application/json", hmacHeader("X-Hub-Signature-256", secret, body)), 401, "unauthorized")
	// No scheme's headers at all: counted only as an answer.
	check(t, e.post(body, "application/json", nil), 401, "unauthorized")
	// The custom scheme refuses after reading the body.
	check(t, e.post(body, "application/json", http.Header{"X-Custom": {"1"}}), 401, "unauthorized")
	// A delivery and its repeat: one message, one dedup hit.
	body = msg("bob", "once", false)
	hdr := hmacHeader(DefaultSignatureHeader, secret, body)
	hdr.Set("Idempotency-Key", "delivery-1")
	check(t, e.post(body, "application/json", hdr), 202, "accepted")
	check(t, e.post(body, "application/json", hdr), 202, "accepted")

	st := h.Stats()
	wantAnswers := map[Answer]uint64{{202, "accepted"}: 4, {429, "rate_limited"}: 1, {401, "unauthorized"}: 4}
	if !maps.Equal(st.Answers, wantAnswers) {
		t.Errorf("Answers = %v, want %v", st.Answers, wantAnswers)
	}
	wantFailures := map[string]uint64{"hmac-sha256": 1, "github": 1, "custom": 1}
	if !maps.Equal(st.VerifyFailures, wantFailures) {
		t.Errorf("VerifyFailures = %v, want %v", st.VerifyFailures, wantFailures)
	}
	if st.DedupHits != 1 {
		t.Errorf("DedupHits = %d, want 1", st.DedupHits)
	}
	if want := int64(len(msg("mallory", "forged", false))); seen != want {
		t.Errorf("UnverifiedBytes during verification = %d, want the body's %d bytes", seen, want)
	}
	if st.UnverifiedBytes != 0 || st.Verifying != 0 || st.Waiting != 0 {
		t.Errorf("gauges after every answer = %d bytes, %d verifying, %d waiting; want 0", st.UnverifiedBytes, st.Verifying, st.Waiting)
	}
	// The caller limit saw the signed messages that were not repeats:
	// alice's three and bob's first; the address limit saw every request.
	if want := (fanin.LimiterStats{Allowed: 3, RateLimited: 1, Keys: 2}); st.RateLimit != want {
		t.Errorf("RateLimit = %+v, want %+v", st.RateLimit, want)
	}
	if want := (fanin.LimiterStats{Allowed: 9, Keys: 1}); st.AddrLimit != want {
		t.Errorf("AddrLimit = %+v, want %+v", st.AddrLimit, want)
	}
	if got := e.c.Len(); got != 3 {
		t.Errorf("stream holds %d, want 3", got)
	}
}
