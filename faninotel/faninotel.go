// Package faninotel reports the counters of fanin through the
// OpenTelemetry metric API: observable instruments for a [fanin.Group], a
// [fanin.Channel], a limiter and a webhook [webhook.Handler]; package
// natsjsotel does the same for package natsjs. One callback per value reads
// its Stats snapshot when the SDK collects, so a send pays nothing for
// being measured.
//
// Three lines report a group through a MeterProvider the program has:
//
//	meter := mp.Meter("github.com/fanin-go/fanin")
//	reg, err := faninotel.ObserveGroup(meter, g)
//	defer reg.Unregister()
//
// # Names
//
// The names follow the style of OpenTelemetry's semantic conventions:
// dot-separated, the thing counted as a UCUM annotation in the unit
// ({value}, {send}), seconds as "s", bytes as "By", no _total suffix, and
// a counter of the moment as an UpDownCounter. Attributes are namespaced
// (fanin.adapter.name, fanin.refusal.reason), except those the conventions
// define (http.response.status_code).
//
//	fanin.lane.accepted        Counter {value}       values placed in the stream
//	fanin.lane.refused         Counter {send}        by fanin.refusal.reason: full, closed, canceled, rate_limited
//	fanin.lane.waited          Counter {send}        sends that found the lane full and waited
//	fanin.lane.wait.duration   Counter s             time those sends waited
//	fanin.lane.blocked         UpDownCounter {send}  sends waiting for room now
//	fanin.lane.length          UpDownCounter {value} values buffered now
//	fanin.lane.capacity        UpDownCounter {value} room of the lane
//	fanin.adapter.runs         Counter {run}         calls of the adapter's Run
//	fanin.adapter.restarts     Counter {restart}     restarts by its policy
//	fanin.adapter.state        UpDownCounter {adapter} adapters in each fanin.adapter.state
//	fanin.adapter.degraded     UpDownCounter {adapter} adapters kept trying over their intensity
//	fanin.adapter.keep_trying  UpDownCounter {adapter} adapters added WithKeepTrying
//	fanin.group.runs, fanin.group.escalations, fanin.group.abandoned,
//	fanin.group.events.dropped (Counters) and fanin.group.adapters (UpDownCounter)
//
// Lane and adapter instruments carry fanin.adapter.name, bounded as
// package faninprom bounds its adapter label: the first
// [DefaultMaxAdapters] names (see [MaxAdapters]) keep their own, the rest
// (and one whose own name is one of the three below) are reported
// together as "(other)"; "(injected)" is the lane of
// Group.Sender and "(removed)" what removed adapters counted. A Channel
// reports the lane instruments under the name given; a limiter
// fanin.limiter.allowed, fanin.limiter.refused and fanin.limiter.keys with
// fanin.limiter.name; a webhook the instruments listed at [ObserveWebhook].
package faninotel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/internal/lanes"
	"github.com/fanin-go/fanin/webhook"
)

// DefaultMaxAdapters is how many adapters of a group are reported under
// their own name unless [MaxAdapters] says otherwise.
const DefaultMaxAdapters = lanes.DefaultMaxAdapters

// An Option configures [ObserveGroup].
type Option func(*options)

type options struct{ maxAdapters int }

// MaxAdapters sets how many adapters are reported under their own name, at
// most; n <= 0 means [DefaultMaxAdapters].
func MaxAdapters(n int) Option { return func(o *options) { o.maxAdapters = n } }

// Attribute keys of the instruments.
const (
	AdapterKey = attribute.Key("fanin.adapter.name")
	StateKey   = attribute.Key("fanin.adapter.state")
	ReasonKey  = attribute.Key("fanin.refusal.reason")
	LimiterKey = attribute.Key("fanin.limiter.name")
)

// instruments builds observable instruments on a meter, remembering the
// first error and every instrument for RegisterCallback.
type instruments struct {
	m   metric.Meter
	all []metric.Observable
	err error
}

func (b *instruments) counter(name, unit, desc string) metric.Int64ObservableCounter {
	c, err := b.m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.add(c, err)
	return c
}

func (b *instruments) fcounter(name, unit, desc string) metric.Float64ObservableCounter {
	c, err := b.m.Float64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.add(c, err)
	return c
}

func (b *instruments) updown(name, unit, desc string) metric.Int64ObservableUpDownCounter {
	c, err := b.m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.add(c, err)
	return c
}

func (b *instruments) add(o metric.Observable, err error) {
	if b.err == nil {
		b.err = err
	}
	b.all = append(b.all, o)
}

func (b *instruments) register(f metric.Callback) (metric.Registration, error) {
	if b.err != nil {
		return nil, b.err
	}
	return b.m.RegisterCallback(f, b.all...)
}

// laneInstruments report a lane's Stats.
type laneInstruments struct {
	accepted, refused, waited metric.Int64ObservableCounter
	waitTime                  metric.Float64ObservableCounter
	blocked, length, capacity metric.Int64ObservableUpDownCounter
}

func newLaneInstruments(b *instruments) laneInstruments {
	return laneInstruments{
		accepted: b.counter("fanin.lane.accepted", "{value}", "Values placed in the stream: sends that returned nil."),
		refused:  b.counter("fanin.lane.refused", "{send}", "Sends refused, by fanin.refusal.reason: full, closed, canceled, rate_limited."),
		waited:   b.counter("fanin.lane.waited", "{send}", "Sends that found the lane full and waited, whatever the outcome."),
		waitTime: b.fcounter("fanin.lane.wait.duration", "s", "Time that sends which found the lane full spent waiting."),
		blocked:  b.updown("fanin.lane.blocked", "{send}", "Sends waiting for room in the lane now."),
		length:   b.updown("fanin.lane.length", "{value}", "Values buffered in the lane now, not yet received."),
		capacity: b.updown("fanin.lane.capacity", "{value}", "Buffer size of the lane."),
	}
}

var reasons = [...]attribute.KeyValue{
	ReasonKey.String("full"), ReasonKey.String("closed"), ReasonKey.String("canceled"), ReasonKey.String("rate_limited"),
}

func (l *laneInstruments) observe(o metric.Observer, st fanin.Stats, name attribute.KeyValue) {
	at := metric.WithAttributes(name)
	o.ObserveInt64(l.accepted, int64(st.Accepted), at)
	for i, n := range [...]uint64{st.Full, st.Closed, st.Canceled, st.RateLimited} {
		o.ObserveInt64(l.refused, int64(n), metric.WithAttributes(name, reasons[i]))
	}
	o.ObserveInt64(l.waited, int64(st.Waited), at)
	o.ObserveFloat64(l.waitTime, st.WaitTime.Seconds(), at)
	o.ObserveInt64(l.blocked, int64(st.Blocked), at)
	o.ObserveInt64(l.length, int64(st.Len), at)
	o.ObserveInt64(l.capacity, int64(st.Capacity), at)
}

// GroupStatser is what [ObserveGroup] reads: a *fanin.Group of any type.
type GroupStatser interface{ Stats() fanin.GroupStats }

// ObserveGroup reports g's Stats through instruments of meter, read by one
// callback per collection, until the returned Registration is
// unregistered. It returns the meter's error if an instrument cannot be
// made. It panics if g is nil.
func ObserveGroup(meter metric.Meter, g GroupStatser, opts ...Option) (metric.Registration, error) {
	if g == nil {
		panic("faninotel: ObserveGroup called with a nil group")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	folder := lanes.NewFolder(o.maxAdapters)
	b := &instruments{m: meter}
	lane := newLaneInstruments(b)
	runs := b.counter("fanin.adapter.runs", "{run}", "Calls of the adapter's Run, across runs of the group, restarts and replacements.")
	restarts := b.counter("fanin.adapter.restarts", "{restart}", "Restarts of the adapter by its restart policy.")
	state := b.updown("fanin.adapter.state", "{adapter}", "Adapters in each fanin.adapter.state.")
	degraded := b.updown("fanin.adapter.degraded", "{adapter}", "Adapters kept trying over their restart intensity and not running since.")
	keepTrying := b.updown("fanin.adapter.keep_trying", "{adapter}", "Adapters added WithKeepTrying: over their restart intensity they are restarted at the maximum backoff instead of ending the group's run.")
	groupRuns := b.counter("fanin.group.runs", "{run}", "Runs of the group begun.")
	escalations := b.counter("fanin.group.escalations", "{escalation}", "Runs of the group ended by an adapter's failure.")
	abandoned := b.counter("fanin.group.abandoned", "{value}", "Values accepted and never handled: handed to Group.Abandon, or counted only.")
	dropped := b.counter("fanin.group.events.dropped", "{event}", "Lifecycle events that did not fit in Group.Events.")
	adapters := b.updown("fanin.group.adapters", "{adapter}", "Adapters in the group now.")
	return b.register(func(_ context.Context, o metric.Observer) error {
		gs := g.Stats()
		for _, r := range folder.Rows(gs) {
			name := AdapterKey.String(r.Name)
			lane.observe(o, r.Stats, name)
			if !r.Adapter {
				continue
			}
			at := metric.WithAttributes(name)
			o.ObserveInt64(runs, int64(r.Runs), at)
			o.ObserveInt64(restarts, int64(r.Restarts), at)
			for _, s := range lanes.States {
				o.ObserveInt64(state, int64(r.States[s]), metric.WithAttributes(name, StateKey.String(s.String())))
			}
			o.ObserveInt64(degraded, int64(r.Degraded), at)
			o.ObserveInt64(keepTrying, int64(r.KeepTrying), at)
		}
		o.ObserveInt64(groupRuns, int64(gs.Runs))
		o.ObserveInt64(escalations, int64(gs.Escalations))
		o.ObserveInt64(abandoned, int64(gs.Abandoned))
		o.ObserveInt64(dropped, int64(gs.EventsDropped))
		o.ObserveInt64(adapters, int64(len(gs.Adapters)))
		return nil
	})
}

// ChannelStatser is what [ObserveChannel] reads: a *fanin.Channel of any
// type.
type ChannelStatser interface{ Stats() fanin.Stats }

// ObserveChannel reports c's Stats through the lane instruments, with
// fanin.adapter.name set to name. It panics if c is nil.
func ObserveChannel(meter metric.Meter, c ChannelStatser, name string) (metric.Registration, error) {
	if c == nil {
		panic("faninotel: ObserveChannel called with a nil channel")
	}
	b := &instruments{m: meter}
	lane := newLaneInstruments(b)
	kv := AdapterKey.String(name)
	return b.register(func(_ context.Context, o metric.Observer) error {
		lane.observe(o, c.Stats(), kv)
		return nil
	})
}

// LimiterStatser is what [ObserveLimiter] reads: a *fanin.Limiter or a
// *fanin.KeyedLimiter of any key type.
type LimiterStatser interface{ Stats() fanin.LimiterStats }

// ObserveLimiter reports l's Stats with fanin.limiter.name set to name:
// fanin.limiter.allowed, fanin.limiter.refused (by fanin.refusal.reason:
// rate_limited, too_many_keys, invalid_key) and fanin.limiter.keys. It
// panics if l is nil.
func ObserveLimiter(meter metric.Meter, l LimiterStatser, name string) (metric.Registration, error) {
	if l == nil {
		panic("faninotel: ObserveLimiter called with a nil limiter")
	}
	b := &instruments{m: meter}
	allowed := b.counter("fanin.limiter.allowed", "{event}", "Tokens the limiter granted and that were used.")
	refused := b.counter("fanin.limiter.refused", "{event}", "Events the limiter refused, by fanin.refusal.reason: rate_limited, too_many_keys, invalid_key.")
	keys := b.updown("fanin.limiter.keys", "{key}", "Keys that have a bucket now; 0 for a limiter without keys.")
	kv := LimiterKey.String(name)
	return b.register(func(_ context.Context, o metric.Observer) error {
		st := l.Stats()
		o.ObserveInt64(allowed, int64(st.Allowed), metric.WithAttributes(kv))
		o.ObserveInt64(refused, int64(st.RateLimited), metric.WithAttributes(kv, ReasonKey.String("rate_limited")))
		o.ObserveInt64(refused, int64(st.TooManyKeys), metric.WithAttributes(kv, ReasonKey.String("too_many_keys")))
		o.ObserveInt64(refused, int64(st.InvalidKey), metric.WithAttributes(kv, ReasonKey.String("invalid_key")))
		o.ObserveInt64(keys, int64(st.Keys), metric.WithAttributes(kv))
		return nil
	})
}

// WebhookStatser is what [ObserveWebhook] reads: a *webhook.Handler.
type WebhookStatser interface{ Stats() webhook.Stats }

// ObserveWebhook reports h's Stats:
//
//	fanin.webhook.answers            Counter {response}  by http.response.status_code and fanin.webhook.status
//	fanin.webhook.verify.failures    Counter {request}   by fanin.webhook.scheme
//	fanin.webhook.dedup.hits         Counter {request}   repeats answered with the first copy's answer
//	fanin.webhook.verifying          UpDownCounter {request} requests being read and verified now
//	fanin.webhook.unverified.size    UpDownCounter By    bytes of bodies held before verification now
//	fanin.webhook.waiting            UpDownCounter {caller} callers waiting for a reply or a first copy now
//	fanin.webhook.rate_limit.allowed Counter {request}   by fanin.webhook.limit: caller or addr
//	fanin.webhook.rate_limit.refused Counter {request}   by fanin.webhook.limit and fanin.refusal.reason
//
// It panics if h is nil.
func ObserveWebhook(meter metric.Meter, h WebhookStatser) (metric.Registration, error) {
	if h == nil {
		panic("faninotel: ObserveWebhook called with a nil handler")
	}
	b := &instruments{m: meter}
	answers := b.counter("fanin.webhook.answers", "{response}", "Answers the webhook wrote, by HTTP status code and the status word of its JSON answer.")
	failures := b.counter("fanin.webhook.verify.failures", "{request}", "Requests answered 401 that carried a signature scheme's headers and were refused by it, by scheme.")
	dedup := b.counter("fanin.webhook.dedup.hits", "{request}", "Requests that repeated a remembered delivery ID and were answered with the first copy's answer.")
	verifying := b.updown("fanin.webhook.verifying", "{request}", "Requests whose bodies are being read and verified now.")
	unverified := b.updown("fanin.webhook.unverified.size", "By", "Bytes of request bodies held before verification now.")
	waiting := b.updown("fanin.webhook.waiting", "{caller}", "Callers waiting now for a reply or for the outcome of an earlier copy of their delivery.")
	limAllowed := b.counter("fanin.webhook.rate_limit.allowed", "{request}", "Requests a rate limit of the webhook let through, by fanin.webhook.limit: caller (after verification) or addr (before).")
	limRefused := b.counter("fanin.webhook.rate_limit.refused", "{request}", "Requests a rate limit of the webhook refused, by fanin.webhook.limit and fanin.refusal.reason.")
	const (
		statusKey = attribute.Key("fanin.webhook.status")
		schemeKey = attribute.Key("fanin.webhook.scheme")
		limitKey  = attribute.Key("fanin.webhook.limit")
	)
	return b.register(func(_ context.Context, o metric.Observer) error {
		st := h.Stats()
		for a, n := range st.Answers {
			o.ObserveInt64(answers, int64(n), metric.WithAttributes(attribute.Int("http.response.status_code", a.Code), statusKey.String(a.Status)))
		}
		for s, n := range st.VerifyFailures {
			o.ObserveInt64(failures, int64(n), metric.WithAttributes(schemeKey.String(s)))
		}
		o.ObserveInt64(dedup, int64(st.DedupHits))
		o.ObserveInt64(verifying, int64(st.Verifying))
		o.ObserveInt64(unverified, st.UnverifiedBytes)
		o.ObserveInt64(waiting, int64(st.Waiting))
		for _, l := range []struct {
			name string
			st   fanin.LimiterStats
		}{{"caller", st.RateLimit}, {"addr", st.AddrLimit}} {
			kv := limitKey.String(l.name)
			o.ObserveInt64(limAllowed, int64(l.st.Allowed), metric.WithAttributes(kv))
			o.ObserveInt64(limRefused, int64(l.st.RateLimited), metric.WithAttributes(kv, ReasonKey.String("rate_limited")))
			o.ObserveInt64(limRefused, int64(l.st.TooManyKeys), metric.WithAttributes(kv, ReasonKey.String("too_many_keys")))
		}
		return nil
	})
}
