package natsjsotel

import (
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/fanin-go/fanin/natsjs"
)

// The counts of natsjs are tested in natsjs against a server; these fakes
// give every field a distinct value, so that an instrument reading the
// wrong field cannot pass.
type sourceStats natsjs.SourceStats

func (s sourceStats) Stats() natsjs.SourceStats { return natsjs.SourceStats(s) }

type publisherStats natsjs.PublisherStats

func (p publisherStats) Stats() natsjs.PublisherStats { return natsjs.PublisherStats(p) }

// points collects through a ManualReader: name, or name/outcome, to value.
func points(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				k := m.Name
				if v, ok := p.Attributes.Value(OutcomeKey); ok {
					k += "/" + v.AsString()
				}
				got[k] = p.Value
			}
		}
	}
	return got
}

func check(t *testing.T, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d points, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}

func TestObserveSourceReportsEachCount(t *testing.T) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer mp.Shutdown(t.Context())
	src := sourceStats{Runs: 2, Received: 3, Redelivered: 5, HandedOver: 7, Acked: 11, Naked: 13, Termed: 17,
		Poison: 19, Returned: 23, Extended: 29, DialFailures: 31, Unsettled: 37}
	if _, err := ObserveSource(mp.Meter("test"), src); err != nil {
		t.Fatal(err)
	}
	check(t, points(t, r), map[string]int64{
		"fanin.jetstream.source.runs": 2, "fanin.jetstream.received": 3, "fanin.jetstream.redelivered": 5,
		"fanin.jetstream.handed_over": 7, "fanin.jetstream.settled/ack": 11, "fanin.jetstream.settled/nak": 13,
		"fanin.jetstream.settled/term": 17, "fanin.jetstream.settled/poison": 19, "fanin.jetstream.settled/returned": 23,
		"fanin.jetstream.extended": 29, "fanin.jetstream.dial.failures": 31, "fanin.jetstream.unsettled": 37,
	})
}

func TestObservePublisherReportsEachCount(t *testing.T) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer mp.Shutdown(t.Context())
	pub := publisherStats{Published: 2, Duplicates: 3, Retries: 5, Failed: 7, Full: 11, InFlight: 13}
	if _, err := ObservePublisher(mp.Meter("test"), pub); err != nil {
		t.Fatal(err)
	}
	check(t, points(t, r), map[string]int64{
		"fanin.jetstream.published": 2, "fanin.jetstream.publish.duplicates": 3, "fanin.jetstream.publish.retries": 5,
		"fanin.jetstream.publish.failures": 7, "fanin.jetstream.publish.full": 11, "fanin.jetstream.publish.in_flight": 13,
	})
}
