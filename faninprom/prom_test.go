package faninprom

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/internal/scenario"
	"github.com/fanin-go/fanin/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scenarioCollector is a collector of the scripted group and its limiter
// together, so that one comparison covers both.
type scenarioCollector []prometheus.Collector

func (s scenarioCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range s {
		c.Describe(ch)
	}
}

func (s scenarioCollector) Collect(ch chan<- prometheus.Metric) {
	for _, c := range s {
		c.Collect(ch)
	}
}

// TestGroupCollectorAfterScriptedRun compares every metric after the
// scripted run of package scenario, whose documentation lists what
// happened, with testdata/scenario.txt: a full lane (filler), restarts
// (flaky), a refusal of each kind the script makes, a blocked send, a
// removed adapter and the injection lane.
func TestGroupCollectorAfterScriptedRun(t *testing.T) {
	want, err := os.ReadFile("testdata/scenario.txt")
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		g, lim := scenario.Start(t)
		c := scenarioCollector{NewGroupCollector(g), NewLimiterCollector(lim, "batch")}
		if err := testutil.CollectAndCompare(c, strings.NewReader(string(want))); err != nil {
			t.Error(err)
		}
	})
}

// TestGroupCollectorFoldsAdaptersOverTheLimit checks that adapters beyond
// MaxAdapters share the "(other)" series, summed, and that the lanes still
// add up to the group's totals.
func TestGroupCollectorFoldsAdaptersOverTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := scenario.Start(t)
		// Sorted by name, batch and blocked come first and keep their names;
		// filler (2 accepted) and flaky (3 accepted, 2 restarts) fold.
		const want = `
# HELP fanin_lane_accepted_total Values placed in the stream: sends that returned nil.
# TYPE fanin_lane_accepted_total counter
fanin_lane_accepted_total{adapter="(injected)"} 1
fanin_lane_accepted_total{adapter="(other)"} 5
fanin_lane_accepted_total{adapter="(removed)"} 1
fanin_lane_accepted_total{adapter="batch"} 1
fanin_lane_accepted_total{adapter="blocked"} 1
# HELP fanin_adapter_restarts_total Restarts of the adapter by its restart policy.
# TYPE fanin_adapter_restarts_total counter
fanin_adapter_restarts_total{adapter="(other)"} 2
fanin_adapter_restarts_total{adapter="batch"} 0
fanin_adapter_restarts_total{adapter="blocked"} 0
`
		c := NewGroupCollector(g, MaxAdapters(2))
		if err := testutil.CollectAndCompare(c, strings.NewReader(want), "fanin_lane_accepted_total", "fanin_adapter_restarts_total"); err != nil {
			t.Error(err)
		}
	})
}

// TestCollectorsPassLint runs promlint over every collector of the
// package: names, units and help text.
func TestCollectorsPassLint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, lim := scenario.Start(t)
		h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{webhook.HMACSHA256("", []byte("k"))}})
		ch := fanin.New[int](1)
		for _, c := range []prometheus.Collector{
			NewGroupCollector(g), NewLimiterCollector(lim, "batch"), NewWebhookCollector(h), NewChannelCollector(ch, "ch"),
		} {
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("promlint: %s: %s", p.Metric, p.Text)
			}
		}
	})
}

// TestWebhookCollectorCountsAnswers serves three requests (one accepted,
// one with a bad signature, one unsigned) and compares the webhook's
// metrics with what happened.
func TestWebhookCollectorCountsAnswers(t *testing.T) {
	secret := []byte("k")
	h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)}})
	c := fanin.New[webhook.Message](4)
	if _, err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(t.Context())
	s, _ := c.Sender()
	h.Attach(s)
	post := func(sig []byte) int {
		body := `{"sender":"a","content":"hi"}`
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if sig != nil {
			r.Header.Set(webhook.DefaultSignatureHeader, "sha256="+hexString(webhook.Sign(sig, []byte(body))))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, tc := range []struct {
		sig  []byte
		code int
	}{{secret, 202}, {[]byte("wrong"), 401}, {nil, 401}} {
		if got := post(tc.sig); got != tc.code {
			t.Fatalf("POST = %d, want %d", got, tc.code)
		}
	}
	const want = `
# HELP fanin_webhook_answers_total Answers the webhook wrote, by HTTP status code and the status word of its JSON answer.
# TYPE fanin_webhook_answers_total counter
fanin_webhook_answers_total{code="202",status="accepted"} 1
fanin_webhook_answers_total{code="401",status="unauthorized"} 2
# HELP fanin_webhook_verify_failures_total Requests answered 401 that carried a signature scheme's headers and were refused by it, by scheme.
# TYPE fanin_webhook_verify_failures_total counter
fanin_webhook_verify_failures_total{scheme="hmac-sha256"} 1
# HELP fanin_webhook_dedup_hits_total Requests that repeated a remembered delivery ID and were answered with the first copy's answer.
# TYPE fanin_webhook_dedup_hits_total counter
fanin_webhook_dedup_hits_total 0
# HELP fanin_webhook_unverified_bytes Bytes of request bodies held before verification now.
# TYPE fanin_webhook_unverified_bytes gauge
fanin_webhook_unverified_bytes 0
# HELP fanin_webhook_rate_limit_allowed_total Requests a rate limit of the webhook let through, by limit: caller (after verification) or addr (before).
# TYPE fanin_webhook_rate_limit_allowed_total counter
fanin_webhook_rate_limit_allowed_total{limit="addr"} 0
fanin_webhook_rate_limit_allowed_total{limit="caller"} 0
`
	names := []string{"fanin_webhook_answers_total", "fanin_webhook_verify_failures_total", "fanin_webhook_dedup_hits_total", "fanin_webhook_unverified_bytes", "fanin_webhook_rate_limit_allowed_total"}
	if err := testutil.CollectAndCompare(NewWebhookCollector(h), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if got := c.Len(); got != 1 {
		t.Errorf("stream holds %d, want the 1 accepted message", got)
	}
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

// TestGroupAndChannelShareARegistry registers a group and a channel in one
// registry, each under a label of its own as the package documentation
// says, and gathers both.
func TestGroupAndChannelShareARegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := scenario.Start(t)
		c := fanin.New[int](3)
		if _, err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer c.Shutdown(t.Context())
		if err := c.TrySend(1); err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		prometheus.WrapRegistererWith(prometheus.Labels{"stream": "agent"}, reg).MustRegister(NewGroupCollector(g))
		prometheus.WrapRegistererWith(prometheus.Labels{"stream": "inbox"}, reg).MustRegister(NewChannelCollector(c, "inbox"))
		const want = `
# HELP fanin_lane_length Values buffered in the lane now, not yet received.
# TYPE fanin_lane_length gauge
fanin_lane_length{adapter="(injected)",stream="agent"} 1
fanin_lane_length{adapter="(removed)",stream="agent"} 1
fanin_lane_length{adapter="batch",stream="agent"} 1
fanin_lane_length{adapter="blocked",stream="agent"} 1
fanin_lane_length{adapter="filler",stream="agent"} 2
fanin_lane_length{adapter="flaky",stream="agent"} 3
fanin_lane_length{adapter="inbox",stream="inbox"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "fanin_lane_length"); err != nil {
			t.Error(err)
		}
	})
}
