package webhook_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fanin-go/fanin/webhook"
)

// These tests hold the table of deliveries to its promises when a copy
// that arrived after an entry expired supersedes it while an earlier copy
// still reads its body, and to them for any DedupWindow New accepts.

var rpT0 = time.Unix(1_900_000_000, 0)

// rpBlockedBody is a request body that gives nothing until release is
// closed.
type rpBlockedBody struct {
	release chan struct{}
	r       io.Reader
}

func (b *rpBlockedBody) Read(p []byte) (int, error) { <-b.release; return b.r.Read(p) }

func rpStd(t testing.TB, id string, ts time.Time, body []byte) *http.Request {
	sig, err := webhook.SignStandard(replaySecret, id, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("webhook-id", id)
	r.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	r.Header.Set("webhook-signature", sig)
	return r
}

func rpDo(h http.Handler, r *http.Request) (code int, status string, replayed bool) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header().Get("Idempotent-Replayed") == "true"
}

func rpNew(t testing.TB, cfg webhook.Config) (*webhook.Handler, *countingSink, *atomic.Int64) {
	sw, err := webhook.StandardWebhooks(replaySecret)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Verifiers == nil {
		cfg.Verifiers = []webhook.Verifier{sw}
	}
	clock := new(atomic.Int64)
	clock.Store(rpT0.UnixNano())
	cfg.Clock = func() time.Time { return time.Unix(0, clock.Load()) }
	h := webhook.New(cfg)
	s := newCountingSink()
	h.Attach(s)
	return h, s, clock
}

// A DedupWindow of centuries (New accepts any) still remembers: "no
// replay reaches the stream, whatever DedupWindow".
func TestHugeDedupWindowStillRemembers(t *testing.T) {
	h, s, clock := rpNew(t, webhook.Config{DedupWindow: time.Duration(math.MaxInt64)})
	body := []byte(`{"sender":"s","content":"x"}`)
	rpDo(h, rpStd(t, "msg_1", rpT0, body))
	clock.Add(int64(time.Second))
	code, ans, replayed := rpDo(h, rpStd(t, "msg_1", rpT0, body)) // exact replay, 1 s later
	if !replayed || s.count() != 1 {
		t.Errorf("replay 1 s later: %d %s replayed=%v; %d messages in the stream", code, ans, replayed, s.count())
	}
}

// The same for a GitHub sender's own redelivery within DedupWindow.
func TestHugeDedupWindowRemembersGitHubRetries(t *testing.T) {
	secret := []byte("gh")
	h, s, clock := rpNew(t, webhook.Config{DedupWindow: time.Duration(math.MaxInt64), Verifiers: []webhook.Verifier{webhook.GitHub(secret)}})
	body := []byte(`{"sender":"s","content":"x"}`)
	req := func() *http.Request {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(webhook.Sign(secret, body)))
		r.Header.Set("X-GitHub-Delivery", "d-1")
		return r
	}
	rpDo(h, req())
	clock.Add(int64(time.Minute))
	code, ans, replayed := rpDo(h, req())
	if !replayed || s.count() != 1 {
		t.Errorf("redelivery 1 min later: %d %s replayed=%v; %d messages in the stream", code, ans, replayed, s.count())
	}
}

// msg_1 is kept until T0+600s. A re-signed retry c
// (timestamp T0+590s) arrives at T0+599s, its body slow; a copy n arrives
// at T0+601s and supersedes the expired entry; c's body completes at
// T0+602s (within ReadTimeout) while n is in the sink; the sink refuses n.
func rpSlowBehindSuperseder(t *testing.T, refuse bool) (h *webhook.Handler, s *countingSink, clock *atomic.Int64, first, cAns string, cCode int, cReplayed bool, tsC time.Time, body []byte) {
	h, s, clock = rpNew(t, webhook.Config{})
	body = []byte(`{"sender":"s","content":"x"}`)
	_, first, _ = rpDo(h, rpStd(t, "msg_1", rpT0, body))
	tsC = rpT0.Add(590 * time.Second)
	clock.Store(rpT0.Add(599 * time.Second).UnixNano())
	bb := &rpBlockedBody{release: make(chan struct{}), r: bytes.NewReader(body)}
	cReq := rpStd(t, "msg_1", tsC, body)
	cReq.Body = io.NopCloser(bb)
	cDone := make(chan struct{})
	go func() { cCode, cAns, cReplayed = rpDo(h, cReq); close(cDone) }()
	synctest.Wait() // c is reading its body

	clock.Store(rpT0.Add(601 * time.Second).UnixNano())
	out := make(chan struct{})
	s.set(func() error {
		<-out
		if refuse {
			return errors.New("sink failed")
		}
		return nil
	})
	nDone := make(chan struct{})
	go func() { rpDo(h, rpStd(t, "msg_1", rpT0.Add(601*time.Second), body)); close(nDone) }()
	synctest.Wait() // n is in the sink

	clock.Store(rpT0.Add(602 * time.Second).UnixNano())
	close(bb.release)
	synctest.Wait() // c waits for n
	close(out)
	<-nDone
	<-cDone
	s.set(nil)
	return
}

// "A repeat that arrived within that time is not sent again: it
// gets the first delivery's answer, same message_id, with the header
// Idempotent-Replayed: true."
func TestSlowCopyGetsTheFirstAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, _, _, first, cAns, cCode, cReplayed, _, _ := rpSlowBehindSuperseder(t, true)
		if cCode != 202 || !cReplayed {
			t.Errorf("first answer %s; copy that arrived before expiry got %d %s replayed=%v", first, cCode, cAns, cReplayed)
		}
	})
}

// "A repeat with a signed ID that is fresh for longer than the
// first copy ... keeps the ID in the table until it is stale too, so that
// a replay of the retry is answered from the table as well" / "no replay
// reaches the stream".
func TestExtensionSurvivesARefusedSuperseder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, s, clock, _, _, _, _, tsC, body := rpSlowBehindSuperseder(t, true)
		clock.Store(rpT0.Add(700 * time.Second).UnixNano()) // c fresh until T0+890s
		code, ans, replayed := rpDo(h, rpStd(t, "msg_1", tsC, body))
		if !replayed || s.count() != 1 {
			t.Errorf("replay of c at T0+700s: %d %s replayed=%v; msg_1 in the stream %d times", code, ans, replayed, s.count())
		}
	})
}

// MaxDeliveries 1 still takes a delivery with an unsigned ID: the half
// for unsigned IDs is at least one.
func TestMaxDeliveriesOneTakesAnUnsignedID(t *testing.T) {
	secret := []byte("gh")
	h, s, _ := rpNew(t, webhook.Config{MaxDeliveries: 1, Verifiers: []webhook.Verifier{webhook.GitHub(secret)}})
	body := []byte(`{"sender":"s","content":"x"}`)
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(webhook.Sign(secret, body)))
	r.Header.Set("X-GitHub-Delivery", "d-1")
	code, ans, _ := rpDo(h, r)
	if code != 202 || s.count() != 1 {
		t.Errorf("first GitHub delivery, empty table, MaxDeliveries 1: %d %s", code, ans)
	}
}
