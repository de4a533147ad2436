// Package natsjsotel reports the counters of package natsjs through the
// OpenTelemetry metric API: a callback for a [natsjs.Source] and one for a
// [natsjs.Publisher], each reading the Stats snapshot when the SDK
// collects. It is a package of its own so that a program that does not use
// JetStream builds nothing of it.
//
//	reg, err := natsjsotel.ObserveSource(meter, src)
//
// The instruments, all Counters but the last of each:
//
//	fanin.jetstream.received        {message}  deliveries pulled from the server
//	fanin.jetstream.redelivered     {message}  of those, deliveries the server had delivered before
//	fanin.jetstream.handed_over     {message}  deliveries placed in the stream
//	fanin.jetstream.settled         {message}  by fanin.jetstream.outcome: ack, nak, term, poison, returned
//	fanin.jetstream.extended        {message}  InProgress sent for deliveries still being handled
//	fanin.jetstream.dial.failures   {dial}     dials that found no server or no consumer
//	fanin.jetstream.source.runs     {run}      runs that began serving
//	fanin.jetstream.unsettled       {message}  UpDownCounter: pulled and not yet settled, now
//
//	fanin.jetstream.published            {message}  messages the stream stored
//	fanin.jetstream.publish.duplicates   {message}  PubAcks that said the stream held the id already
//	fanin.jetstream.publish.retries      {attempt}  attempts sent again after a transient failure
//	fanin.jetstream.publish.failures     {message}  publishes that ended in an error
//	fanin.jetstream.publish.full         {message}  TrySend calls refused: no in-flight slot
//	fanin.jetstream.publish.in_flight    {message}  UpDownCounter: publishes waiting for their PubAck, now
package natsjsotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fanin-go/fanin/natsjs"
)

// SourceStatser is what [ObserveSource] reads: a *natsjs.Source of any
// type.
type SourceStatser interface{ Stats() natsjs.SourceStats }

// PublisherStatser is what [ObservePublisher] reads: a *natsjs.Publisher
// of any type.
type PublisherStatser interface{ Stats() natsjs.PublisherStats }

// OutcomeKey is the attribute of fanin.jetstream.settled.
const OutcomeKey = attribute.Key("fanin.jetstream.outcome")

// ObserveSource reports s's Stats until the returned Registration is
// unregistered. It returns the meter's error if an instrument cannot be
// made. It panics if s is nil.
func ObserveSource(meter metric.Meter, s SourceStatser) (metric.Registration, error) {
	if s == nil {
		panic("natsjsotel: ObserveSource called with a nil source")
	}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	received := counter("fanin.jetstream.received", "{message}", "Deliveries the source pulled from the server.")
	redelivered := counter("fanin.jetstream.redelivered", "{message}", "Deliveries pulled that the server had delivered before.")
	handed := counter("fanin.jetstream.handed_over", "{message}", "Deliveries the source placed in the stream.")
	settled := counter("fanin.jetstream.settled", "{message}", "Deliveries settled, by fanin.jetstream.outcome: ack, nak and term by the program; poison (undecodable, terminated by the source); returned (naked by the source at shutdown).")
	extended := counter("fanin.jetstream.extended", "{message}", "InProgress acknowledgements the source sent for deliveries still being handled.")
	dialFailures := counter("fanin.jetstream.dial.failures", "{dial}", "Dials that failed: no connection, or no consumer bound on it.")
	runs := counter("fanin.jetstream.source.runs", "{run}", "Runs of the source that began serving.")
	unsettled, err := meter.Int64ObservableUpDownCounter("fanin.jetstream.unsettled", metric.WithUnit("{message}"), metric.WithDescription("Deliveries pulled and not yet settled, across open connections."))
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := s.Stats()
		o.ObserveInt64(received, int64(st.Received))
		o.ObserveInt64(redelivered, int64(st.Redelivered))
		o.ObserveInt64(handed, int64(st.HandedOver))
		for _, x := range []struct {
			outcome string
			n       uint64
		}{{"ack", st.Acked}, {"nak", st.Naked}, {"term", st.Termed}, {"poison", st.Poison}, {"returned", st.Returned}} {
			o.ObserveInt64(settled, int64(x.n), metric.WithAttributes(OutcomeKey.String(x.outcome)))
		}
		o.ObserveInt64(extended, int64(st.Extended))
		o.ObserveInt64(dialFailures, int64(st.DialFailures))
		o.ObserveInt64(runs, int64(st.Runs))
		o.ObserveInt64(unsettled, int64(st.Unsettled))
		return nil
	}, received, redelivered, handed, settled, extended, dialFailures, runs, unsettled)
}

// ObservePublisher reports p's Stats until the returned Registration is
// unregistered. It returns the meter's error if an instrument cannot be
// made. It panics if p is nil.
func ObservePublisher(meter metric.Meter, p PublisherStatser) (metric.Registration, error) {
	if p == nil {
		panic("natsjsotel: ObservePublisher called with a nil publisher")
	}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	published := counter("fanin.jetstream.published", "{message}", "Messages the stream stored: PubAcks that were not duplicates.")
	duplicates := counter("fanin.jetstream.publish.duplicates", "{message}", "PubAcks that said the stream already held a message with the id.")
	retries := counter("fanin.jetstream.publish.retries", "{attempt}", "Publish attempts that failed transiently and were sent again.")
	failures := counter("fanin.jetstream.publish.failures", "{message}", "Publishes that ended in an error after they were sent; the message may be stored.")
	full := counter("fanin.jetstream.publish.full", "{message}", "TrySend calls refused because no in-flight slot was free.")
	inFlight, err := meter.Int64ObservableUpDownCounter("fanin.jetstream.publish.in_flight", metric.WithUnit("{message}"), metric.WithDescription("Publishes holding an in-flight slot now."))
	errs = append(errs, err)
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := p.Stats()
		o.ObserveInt64(published, int64(st.Published))
		o.ObserveInt64(duplicates, int64(st.Duplicates))
		o.ObserveInt64(retries, int64(st.Retries))
		o.ObserveInt64(failures, int64(st.Failed))
		o.ObserveInt64(full, int64(st.Full))
		o.ObserveInt64(inFlight, int64(st.InFlight))
		return nil
	}, published, duplicates, retries, failures, full, inFlight)
}
