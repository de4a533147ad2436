package natsjsprom

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fanin-go/fanin/natsjs"
)

// The counts of natsjs are tested in natsjs against a server; these fakes
// give every field a distinct value, so that a collector reading the wrong
// field cannot pass.
type sourceStats natsjs.SourceStats

func (s sourceStats) Stats() natsjs.SourceStats { return natsjs.SourceStats(s) }

type publisherStats natsjs.PublisherStats

func (p publisherStats) Stats() natsjs.PublisherStats { return natsjs.PublisherStats(p) }

func TestSourceCollectorExportsEachCount(t *testing.T) {
	src := sourceStats{Runs: 2, Received: 3, Redelivered: 5, HandedOver: 7, Acked: 11, Naked: 13, Termed: 17,
		Poison: 19, Returned: 23, Extended: 29, DialFailures: 31, Unsettled: 37}
	const want = `
# HELP fanin_jetstream_dial_failures_total Dials that failed: no connection, or no consumer bound on it.
# TYPE fanin_jetstream_dial_failures_total counter
fanin_jetstream_dial_failures_total 31
# HELP fanin_jetstream_extended_total InProgress acknowledgements the source sent for deliveries still being handled.
# TYPE fanin_jetstream_extended_total counter
fanin_jetstream_extended_total 29
# HELP fanin_jetstream_handed_over_total Deliveries the source placed in the stream.
# TYPE fanin_jetstream_handed_over_total counter
fanin_jetstream_handed_over_total 7
# HELP fanin_jetstream_received_total Deliveries the source pulled from the server.
# TYPE fanin_jetstream_received_total counter
fanin_jetstream_received_total 3
# HELP fanin_jetstream_redelivered_total Deliveries pulled that the server had delivered before (NumDelivered over 1).
# TYPE fanin_jetstream_redelivered_total counter
fanin_jetstream_redelivered_total 5
# HELP fanin_jetstream_settled_total Deliveries settled, by outcome: ack, nak and term by the program; poison (undecodable, terminated by the source); returned (naked by the source at shutdown).
# TYPE fanin_jetstream_settled_total counter
fanin_jetstream_settled_total{outcome="ack"} 11
fanin_jetstream_settled_total{outcome="nak"} 13
fanin_jetstream_settled_total{outcome="poison"} 19
fanin_jetstream_settled_total{outcome="returned"} 23
fanin_jetstream_settled_total{outcome="term"} 17
# HELP fanin_jetstream_source_runs_total Runs of the source that began serving.
# TYPE fanin_jetstream_source_runs_total counter
fanin_jetstream_source_runs_total 2
# HELP fanin_jetstream_unsettled_messages Deliveries pulled and not yet settled, across open connections.
# TYPE fanin_jetstream_unsettled_messages gauge
fanin_jetstream_unsettled_messages 37
`
	c := NewSourceCollector(src)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	lint(t, c)
}

func TestPublisherCollectorExportsEachCount(t *testing.T) {
	pub := publisherStats{Published: 2, Duplicates: 3, Retries: 5, Failed: 7, Full: 11, InFlight: 13}
	const want = `
# HELP fanin_jetstream_publish_duplicates_total PubAcks that said the stream already held a message with the id.
# TYPE fanin_jetstream_publish_duplicates_total counter
fanin_jetstream_publish_duplicates_total 3
# HELP fanin_jetstream_publish_failures_total Publishes that ended in an error after they were sent; the message may be stored.
# TYPE fanin_jetstream_publish_failures_total counter
fanin_jetstream_publish_failures_total 7
# HELP fanin_jetstream_publish_full_total TrySend calls refused because no in-flight slot was free.
# TYPE fanin_jetstream_publish_full_total counter
fanin_jetstream_publish_full_total 11
# HELP fanin_jetstream_publish_retries_total Publish attempts that failed transiently and were sent again.
# TYPE fanin_jetstream_publish_retries_total counter
fanin_jetstream_publish_retries_total 5
# HELP fanin_jetstream_published_total Messages the stream stored: PubAcks that were not duplicates.
# TYPE fanin_jetstream_published_total counter
fanin_jetstream_published_total 2
# HELP fanin_jetstream_publishes_in_flight Publishes holding an in-flight slot now.
# TYPE fanin_jetstream_publishes_in_flight gauge
fanin_jetstream_publishes_in_flight 13
`
	c := NewPublisherCollector(pub)
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	lint(t, c)
}

func lint(t *testing.T, c prometheus.Collector) {
	t.Helper()
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
