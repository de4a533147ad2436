package faninotel

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/internal/scenario"
	"github.com/fanin-go/fanin/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collect reads every point through a ManualReader, keyed
// name{k=v,...} with the attributes sorted, and checks each instrument's
// kind: a Sum that is monotonic for a Counter, not for an UpDownCounter.
func collect(t *testing.T, r *sdkmetric.ManualReader) (points map[string]float64, units map[string]string) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(t.Context(), &rm); err != nil {
		t.Fatalf("Collect = %v", err)
	}
	points, units = map[string]float64{}, map[string]string{}
	key := func(name string, set attribute.Set) string {
		var kv []string
		for _, a := range set.ToSlice() {
			kv = append(kv, fmt.Sprintf("%s=%s", a.Key, a.Value.String()))
		}
		return name + "{" + strings.Join(kv, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			units[m.Name] = m.Unit
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					points[key(m.Name, p.Attributes)] = float64(p.Value)
				}
				units[m.Name] += fmt.Sprintf(" monotonic=%v", d.IsMonotonic)
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					points[key(m.Name, p.Attributes)] = p.Value
				}
				units[m.Name] += fmt.Sprintf(" monotonic=%v", d.IsMonotonic)
			default:
				t.Errorf("%s: data %T, want a Sum", m.Name, m.Data)
			}
		}
	}
	return points, units
}

// TestObserveGroupAfterScriptedRun checks the instruments after the
// scripted run of package scenario, whose documentation lists what
// happened: every lane and adapter point, the group's, and the limiter's.
func TestObserveGroupAfterScriptedRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, lim := scenario.Start(t)
		r := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
		defer mp.Shutdown(t.Context())
		meter := mp.Meter("test")
		reg, err := ObserveGroup(meter, g)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()
		if _, err := ObserveLimiter(meter, lim, "batch"); err != nil {
			t.Fatal(err)
		}
		got, units := collect(t, r)

		want := map[string]float64{
			"fanin.group.runs{}": 1, "fanin.group.escalations{}": 0, "fanin.group.abandoned{}": 0,
			"fanin.group.events.dropped{}": 0, "fanin.group.adapters{}": 4,
			"fanin.limiter.allowed{fanin.limiter.name=batch}": 1,
			"fanin.limiter.keys{fanin.limiter.name=batch}":    0,
		}
		for _, reason := range []string{"rate_limited", "too_many_keys", "invalid_key"} {
			want["fanin.limiter.refused{fanin.limiter.name=batch,fanin.refusal.reason="+reason+"}"] = 0
		}
		want["fanin.limiter.refused{fanin.limiter.name=batch,fanin.refusal.reason=rate_limited}"] = 1
		type lane struct {
			accepted, full, rateLimited, blocked, length, capacity float64
		}
		lanes := map[string]lane{
			"filler":     {accepted: 2, full: 1, length: 2, capacity: 2},
			"flaky":      {accepted: 3, length: 3, capacity: 4},
			"batch":      {accepted: 1, rateLimited: 1, length: 1, capacity: 256},
			"blocked":    {accepted: 1, blocked: 1, length: 1, capacity: 1},
			"(injected)": {accepted: 1, length: 1, capacity: 256},
			"(removed)":  {accepted: 1, length: 1, capacity: 256},
		}
		for name, l := range lanes {
			a := "{fanin.adapter.name=" + name
			want["fanin.lane.accepted"+a+"}"] = l.accepted
			want["fanin.lane.refused"+a+",fanin.refusal.reason=full}"] = l.full
			want["fanin.lane.refused"+a+",fanin.refusal.reason=closed}"] = 0
			want["fanin.lane.refused"+a+",fanin.refusal.reason=canceled}"] = 0
			want["fanin.lane.refused"+a+",fanin.refusal.reason=rate_limited}"] = l.rateLimited
			want["fanin.lane.waited"+a+"}"] = 0
			want["fanin.lane.wait.duration"+a+"}"] = 0
			want["fanin.lane.blocked"+a+"}"] = l.blocked
			want["fanin.lane.length"+a+"}"] = l.length
			want["fanin.lane.capacity"+a+"}"] = l.capacity
			if strings.HasPrefix(name, "(") {
				continue
			}
			runs, restarts := 1.0, 0.0
			if name == "flaky" {
				runs, restarts = 3, 2
			}
			want["fanin.adapter.runs"+a+"}"] = runs
			want["fanin.adapter.restarts"+a+"}"] = restarts
			want["fanin.adapter.degraded"+a+"}"] = 0
			want["fanin.adapter.keep_trying"+a+"}"] = 0
			if name == "batch" {
				want["fanin.adapter.keep_trying"+a+"}"] = 1
			}
			for _, s := range []string{"idle", "starting", "running", "restarting", "exited", "stopped", "failed", "waiting"} {
				want["fanin.adapter.state"+a+",fanin.adapter.state="+s+"}"] = 0
			}
			want["fanin.adapter.state"+a+",fanin.adapter.state=running}"] = 1
		}
		diff(t, got, want)

		wantUnits := map[string]string{
			"fanin.lane.accepted": "{value} monotonic=true", "fanin.lane.wait.duration": "s monotonic=true",
			"fanin.lane.length": "{value} monotonic=false", "fanin.adapter.restarts": "{restart} monotonic=true",
			"fanin.adapter.state": "{adapter} monotonic=false",
		}
		for name, u := range wantUnits {
			if units[name] != u {
				t.Errorf("%s: unit and kind %q, want %q", name, units[name], u)
			}
		}
	})
}

// TestObserveGroupFoldsAdaptersOverTheLimit checks that adapters beyond
// MaxAdapters are reported together as "(other)".
func TestObserveGroupFoldsAdaptersOverTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, _ := scenario.Start(t)
		r := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
		defer mp.Shutdown(t.Context())
		if _, err := ObserveGroup(mp.Meter("test"), g, MaxAdapters(2)); err != nil {
			t.Fatal(err)
		}
		got, _ := collect(t, r)
		// batch and blocked keep their names; filler and flaky fold.
		for k, v := range map[string]float64{
			"fanin.lane.accepted{fanin.adapter.name=(other)}":                             5,
			"fanin.adapter.restarts{fanin.adapter.name=(other)}":                          2,
			"fanin.adapter.runs{fanin.adapter.name=(other)}":                              4,
			"fanin.adapter.state{fanin.adapter.name=(other),fanin.adapter.state=running}": 2,
			"fanin.lane.accepted{fanin.adapter.name=batch}":                               1,
		} {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		if _, ok := got["fanin.lane.accepted{fanin.adapter.name=filler}"]; ok {
			t.Error("filler has a point of its own beyond MaxAdapters(2)")
		}
	})
}

// TestObserveWebhookCountsAnswers serves three requests (one accepted, one
// with a bad signature, one unsigned) and checks the points.
func TestObserveWebhookCountsAnswers(t *testing.T) {
	secret := []byte("k")
	h := webhook.New(webhook.Config{Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)}})
	c := fanin.New[webhook.Message](4)
	if _, err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(t.Context())
	s, _ := c.Sender()
	h.Attach(s)
	body := `{"sender":"a","content":"hi"}`
	for _, key := range [][]byte{secret, []byte("wrong"), nil} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if key != nil {
			r.Header.Set(webhook.DefaultSignatureHeader, fmt.Sprintf("sha256=%x", webhook.Sign(key, []byte(body))))
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer mp.Shutdown(t.Context())
	if _, err := ObserveWebhook(mp.Meter("test"), h); err != nil {
		t.Fatal(err)
	}
	got, units := collect(t, r)
	want := map[string]float64{
		"fanin.webhook.answers{fanin.webhook.status=accepted,http.response.status_code=202}":     1,
		"fanin.webhook.answers{fanin.webhook.status=unauthorized,http.response.status_code=401}": 2,
		"fanin.webhook.verify.failures{fanin.webhook.scheme=hmac-sha256}":                        1,
		"fanin.webhook.dedup.hits{}":      0,
		"fanin.webhook.verifying{}":       0,
		"fanin.webhook.unverified.size{}": 0,
		"fanin.webhook.waiting{}":         0,
	}
	for _, l := range []string{"caller", "addr"} {
		want["fanin.webhook.rate_limit.allowed{fanin.webhook.limit="+l+"}"] = 0
		want["fanin.webhook.rate_limit.refused{fanin.refusal.reason=rate_limited,fanin.webhook.limit="+l+"}"] = 0
		want["fanin.webhook.rate_limit.refused{fanin.refusal.reason=too_many_keys,fanin.webhook.limit="+l+"}"] = 0
	}
	diff(t, got, want)
	if u := units["fanin.webhook.unverified.size"]; u != "By monotonic=false" {
		t.Errorf("fanin.webhook.unverified.size: unit and kind %q, want By, not monotonic", u)
	}
}

func diff(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok || g != want[k] {
			t.Errorf("%s = %v (reported %v), want %v", k, g, ok, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected point %s = %v", k, got[k])
		}
	}
}
