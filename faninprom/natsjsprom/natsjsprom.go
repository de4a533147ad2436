// Package natsjsprom exports the counters of package natsjs as Prometheus
// metrics: a collector for a [natsjs.Source] and one for a
// [natsjs.Publisher], each reading the Stats snapshot when it is scraped.
// It is a package of its own so that a program that does not use
// JetStream builds nothing of it.
//
//	reg.MustRegister(natsjsprom.NewSourceCollector(src), natsjsprom.NewPublisherCollector(pub))
//
// The names begin fanin_jetstream_:
//
//	fanin_jetstream_received_total                 deliveries pulled from the server
//	fanin_jetstream_redelivered_total              of those, deliveries the server had delivered before
//	fanin_jetstream_handed_over_total              deliveries placed in the stream
//	fanin_jetstream_settled_total{outcome}         ack, nak, term (by the program), poison (undecodable, terminated), returned (naked at shutdown)
//	fanin_jetstream_extended_total                 InProgress sent for deliveries still being handled
//	fanin_jetstream_dial_failures_total            dials that found no server or no consumer
//	fanin_jetstream_source_runs_total              runs that began serving
//	fanin_jetstream_unsettled_messages             pulled and not yet settled, now
//	fanin_jetstream_published_total                messages the stream stored
//	fanin_jetstream_publish_duplicates_total       PubAcks that said the stream held the id already
//	fanin_jetstream_publish_retries_total          attempts sent again after a transient failure
//	fanin_jetstream_publish_failures_total         publishes that ended in an error
//	fanin_jetstream_publish_full_total             TrySend calls refused: no in-flight slot
//	fanin_jetstream_publishes_in_flight            publishes waiting for their PubAck, now
//
// Two sources (or publishers) in one registry export the same names:
// register each under a label of its own with
// prometheus.WrapRegistererWith.
package natsjsprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fanin-go/fanin/natsjs"
)

// SourceStatser is what [NewSourceCollector] reads: a *natsjs.Source of
// any type.
type SourceStatser interface{ Stats() natsjs.SourceStats }

// PublisherStatser is what [NewPublisherCollector] reads: a
// *natsjs.Publisher of any type.
type PublisherStatser interface{ Stats() natsjs.PublisherStats }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// A SourceCollector exports a [natsjs.Source]'s Stats. It is safe for
// simultaneous use.
type SourceCollector struct {
	s                                       SourceStatser
	received, redelivered, handed, settled  *prometheus.Desc
	extended, dialFailures, runs, unsettled *prometheus.Desc
}

// NewSourceCollector returns a collector of s's Stats. It panics if s is
// nil.
func NewSourceCollector(s SourceStatser) *SourceCollector {
	if s == nil {
		panic("natsjsprom: NewSourceCollector called with a nil source")
	}
	return &SourceCollector{
		s:            s,
		received:     desc("fanin_jetstream_received_total", "Deliveries the source pulled from the server."),
		redelivered:  desc("fanin_jetstream_redelivered_total", "Deliveries pulled that the server had delivered before (NumDelivered over 1)."),
		handed:       desc("fanin_jetstream_handed_over_total", "Deliveries the source placed in the stream."),
		settled:      desc("fanin_jetstream_settled_total", "Deliveries settled, by outcome: ack, nak and term by the program; poison (undecodable, terminated by the source); returned (naked by the source at shutdown).", "outcome"),
		extended:     desc("fanin_jetstream_extended_total", "InProgress acknowledgements the source sent for deliveries still being handled."),
		dialFailures: desc("fanin_jetstream_dial_failures_total", "Dials that failed: no connection, or no consumer bound on it."),
		runs:         desc("fanin_jetstream_source_runs_total", "Runs of the source that began serving."),
		unsettled:    desc("fanin_jetstream_unsettled_messages", "Deliveries pulled and not yet settled, across open connections."),
	}
}

// Describe sends the descriptions of every metric of c.
func (c *SourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.received, c.redelivered, c.handed, c.settled, c.extended, c.dialFailures, c.runs, c.unsettled} {
		ch <- d
	}
}

// Collect takes one snapshot of the source and sends its metrics.
func (c *SourceCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	count := func(d *prometheus.Desc, v uint64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	count(c.received, st.Received)
	count(c.redelivered, st.Redelivered)
	count(c.handed, st.HandedOver)
	count(c.settled, st.Acked, "ack")
	count(c.settled, st.Naked, "nak")
	count(c.settled, st.Termed, "term")
	count(c.settled, st.Poison, "poison")
	count(c.settled, st.Returned, "returned")
	count(c.extended, st.Extended)
	count(c.dialFailures, st.DialFailures)
	count(c.runs, st.Runs)
	ch <- prometheus.MustNewConstMetric(c.unsettled, prometheus.GaugeValue, float64(st.Unsettled))
}

// A PublisherCollector exports a [natsjs.Publisher]'s Stats. It is safe
// for simultaneous use.
type PublisherCollector struct {
	p                                            PublisherStatser
	published, duplicates, retries, failed, full *prometheus.Desc
	inFlight                                     *prometheus.Desc
}

// NewPublisherCollector returns a collector of p's Stats. It panics if p
// is nil.
func NewPublisherCollector(p PublisherStatser) *PublisherCollector {
	if p == nil {
		panic("natsjsprom: NewPublisherCollector called with a nil publisher")
	}
	return &PublisherCollector{
		p:          p,
		published:  desc("fanin_jetstream_published_total", "Messages the stream stored: PubAcks that were not duplicates."),
		duplicates: desc("fanin_jetstream_publish_duplicates_total", "PubAcks that said the stream already held a message with the id."),
		retries:    desc("fanin_jetstream_publish_retries_total", "Publish attempts that failed transiently and were sent again."),
		failed:     desc("fanin_jetstream_publish_failures_total", "Publishes that ended in an error after they were sent; the message may be stored."),
		full:       desc("fanin_jetstream_publish_full_total", "TrySend calls refused because no in-flight slot was free."),
		inFlight:   desc("fanin_jetstream_publishes_in_flight", "Publishes holding an in-flight slot now."),
	}
}

// Describe sends the descriptions of every metric of c.
func (c *PublisherCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.published, c.duplicates, c.retries, c.failed, c.full, c.inFlight} {
		ch <- d
	}
}

// Collect takes one snapshot of the publisher and sends its metrics.
func (c *PublisherCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	for _, m := range []struct {
		d *prometheus.Desc
		v uint64
	}{{c.published, st.Published}, {c.duplicates, st.Duplicates}, {c.retries, st.Retries}, {c.failed, st.Failed}, {c.full, st.Full}} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.v))
	}
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(st.InFlight))
}
