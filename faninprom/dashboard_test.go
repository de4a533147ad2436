package faninprom_test

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/faninprom"
	"github.com/fanin-go/fanin/faninprom/natsjsprom"
	"github.com/fanin-go/fanin/natsjs"
	"github.com/fanin-go/fanin/webhook"
)

type groupStats struct{}

func (groupStats) Stats() fanin.GroupStats { return fanin.GroupStats{} }

type sourceStats struct{}

func (sourceStats) Stats() natsjs.SourceStats { return natsjs.SourceStats{} }

type publisherStats struct{}

func (publisherStats) Stats() natsjs.PublisherStats { return natsjs.PublisherStats{} }

// exported returns the name of every metric the collectors describe.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	h := webhook.New(webhook.Config{})
	collectors := []prometheus.Collector{
		faninprom.NewGroupCollector(groupStats{}),
		faninprom.NewChannelCollector(fanin.New[int](1), "c"),
		faninprom.NewLimiterCollector(fanin.NewLimiter(fanin.Band{Events: 1, Interval: 1, Burst: 1}), "l"),
		faninprom.NewWebhookCollector(h),
		natsjsprom.NewSourceCollector(sourceStats{}),
		natsjsprom.NewPublisherCollector(publisherStats{}),
	}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for _, c := range collectors {
		ch := make(chan *prometheus.Desc, 64)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			m := fqName.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("no name in %s", d)
			}
			names[m[1]] = true
		}
	}
	return names
}

// TestDashboardQueriesNameExportedMetrics reads the Grafana dashboard and
// checks that every query names at least one metric, that every metric it
// names is one the collectors export, and that every exported metric is
// on the dashboard.
func TestDashboardQueriesNameExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile("grafana/fanin-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	names := exported(t)
	used := map[string]bool{}
	metric := regexp.MustCompile(`\bfanin_[a-z_]+\b`)
	queries := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			found := metric.FindAllString(q.Expr, -1)
			if len(found) == 0 {
				t.Errorf("panel %q: query %q names no fanin metric", p.Title, q.Expr)
			}
			for _, n := range found {
				used[n] = true
				if !names[n] {
					t.Errorf("panel %q: query %q names %s, which no collector exports", p.Title, q.Expr, n)
				}
			}
		}
	}
	if queries == 0 {
		t.Fatal("the dashboard has no queries")
	}
	for n := range names {
		if !used[n] {
			t.Errorf("%s is exported but on no panel of the dashboard", n)
		}
	}
	if !names["fanin_lane_length"] || !names["fanin_jetstream_unsettled_messages"] {
		t.Errorf("names read from the descriptions lack fanin_lane_length or fanin_jetstream_unsettled_messages: %v", names)
	}
}
