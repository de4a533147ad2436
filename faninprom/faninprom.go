// Package faninprom exports the counters of fanin as Prometheus metrics:
// a [prometheus.Collector] for a [fanin.Group], a [fanin.Channel], a
// limiter and a webhook [webhook.Handler]; package natsjsprom does the same
// for package natsjs. Each collector reads the value's Stats snapshot when
// it is scraped, so a send pays nothing for being measured, and a scrape
// costs what one Stats call costs.
//
// Three lines serve a group's metrics:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(faninprom.NewGroupCollector(g), faninprom.NewWebhookCollector(h))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Names
//
// Every name begins fanin_. The lanes of a group, one series per adapter:
//
//	fanin_lane_accepted_total{adapter}             values placed in the stream
//	fanin_lane_refused_total{adapter,reason}       sends refused: full, closed, canceled, rate_limited
//	fanin_lane_waited_total{adapter}               sends that found the lane full and waited
//	fanin_lane_wait_seconds_total{adapter}         time those sends waited
//	fanin_lane_blocked_sends{adapter}              sends waiting for room now
//	fanin_lane_length{adapter}                     values buffered now
//	fanin_lane_capacity{adapter}                   room of the lane
//
// The adapter label is the adapter's name; "(injected)" for the lane of
// Group.Sender; "(removed)" for what adapters removed from the group
// counted (it appears once there is something); and "(other)" for the
// adapters beyond the limit and for an adapter whose own name is one of
// these three, so that no two series share a label. The first [DefaultMaxAdapters] names a
// collector sees (see [MaxAdapters]) keep their own series for as long as
// the collector lives; later names are folded into "(other)", so that the
// series of a group stay bounded however many adapters come and go. The
// lanes of every series add up to the group's totals. An adapter that
// moves into "(removed)" takes its lane counts with it (its
// fanin_adapter_* series end with it), which a rate() over
// "(removed)" sees as a jump; an adapter folded into "(other)" that is
// removed makes "(other)" fall, which rate() sees as a counter reset.
//
// The adapters, with the same adapter label:
//
//	fanin_adapter_runs_total{adapter}              calls of its Run
//	fanin_adapter_restarts_total{adapter}          restarts by its policy
//	fanin_adapter_state{adapter,state}             adapters in each state: 1 or 0 for a named adapter
//	fanin_adapter_degraded{adapter}                adapters kept trying over their intensity
//	fanin_adapter_keep_trying{adapter}             adapters added WithKeepTrying
//
// The group: fanin_group_runs_total, fanin_group_escalations_total,
// fanin_group_abandoned_total, fanin_group_events_dropped_total and
// fanin_group_adapters. A [fanin.Channel] exports the lane metrics with its
// name as the adapter label; a limiter exports fanin_limiter_allowed_total,
// fanin_limiter_refused_total{reason} and fanin_limiter_keys, with its
// name as the limiter label; a webhook handler exports the fanin_webhook_
// metrics listed at [NewWebhookCollector].
//
// # Several groups
//
// Two groups, or a group and a channel, export the same names, so a
// registry refuses the second; register each under a label of its own:
//
//	prometheus.WrapRegistererWith(prometheus.Labels{"group": "ingest"}, reg).MustRegister(faninprom.NewGroupCollector(g))
package faninprom

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fanin-go/fanin"
	"github.com/fanin-go/fanin/internal/lanes"
	"github.com/fanin-go/fanin/webhook"
)

// DefaultMaxAdapters is how many adapters of a group get series of their
// own unless [MaxAdapters] says otherwise; the rest share "(other)".
const DefaultMaxAdapters = lanes.DefaultMaxAdapters

// An Option configures [NewGroupCollector].
type Option func(*options)

type options struct{ maxAdapters int }

// MaxAdapters sets how many adapters get series of their own, at most;
// n <= 0 means [DefaultMaxAdapters]. Each adapter costs 22 series.
func MaxAdapters(n int) Option { return func(o *options) { o.maxAdapters = n } }

// metric is one name: its description and its type.
type metric struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
}

func newMetric(name, help string, typ prometheus.ValueType, constLabels prometheus.Labels, labels ...string) metric {
	return metric{desc: prometheus.NewDesc(name, help, labels, constLabels), typ: typ}
}

func (m metric) emit(ch chan<- prometheus.Metric, v float64, labelValues ...string) {
	ch <- prometheus.MustNewConstMetric(m.desc, m.typ, v, labelValues...)
}

// laneMetrics are the metrics of a lane, for a group's lanes (an adapter
// label) or a channel (the label fixed).
type laneMetrics struct {
	accepted, refused, waited, waitSeconds, blocked, length, capacity metric
}

func newLaneMetrics(constLabels prometheus.Labels, labels ...string) laneMetrics {
	c, g := prometheus.CounterValue, prometheus.GaugeValue
	return laneMetrics{
		accepted:    newMetric("fanin_lane_accepted_total", "Values placed in the stream: sends that returned nil.", c, constLabels, labels...),
		refused:     newMetric("fanin_lane_refused_total", "Sends refused, by reason: full (TrySend found no room), closed (the run was shut down), canceled (the caller's context ended), rate_limited (SendBatch over its limiter).", c, constLabels, append(labels, "reason")...),
		waited:      newMetric("fanin_lane_waited_total", "Sends that found the lane full and waited, whatever the outcome.", c, constLabels, labels...),
		waitSeconds: newMetric("fanin_lane_wait_seconds_total", "Time that sends which found the lane full spent waiting.", c, constLabels, labels...),
		blocked:     newMetric("fanin_lane_blocked_sends", "Sends waiting for room in the lane now.", g, constLabels, labels...),
		length:      newMetric("fanin_lane_length", "Values buffered in the lane now, not yet received.", g, constLabels, labels...),
		capacity:    newMetric("fanin_lane_capacity", "Buffer size of the lane.", g, constLabels, labels...),
	}
}

func (m *laneMetrics) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []metric{m.accepted, m.refused, m.waited, m.waitSeconds, m.blocked, m.length, m.capacity} {
		ch <- x.desc
	}
}

func (m *laneMetrics) collect(ch chan<- prometheus.Metric, st fanin.Stats, lv ...string) {
	m.accepted.emit(ch, float64(st.Accepted), lv...)
	for _, r := range []struct {
		reason string
		n      uint64
	}{{"full", st.Full}, {"closed", st.Closed}, {"canceled", st.Canceled}, {"rate_limited", st.RateLimited}} {
		m.refused.emit(ch, float64(r.n), append(lv, r.reason)...)
	}
	m.waited.emit(ch, float64(st.Waited), lv...)
	m.waitSeconds.emit(ch, st.WaitTime.Seconds(), lv...)
	m.blocked.emit(ch, float64(st.Blocked), lv...)
	m.length.emit(ch, float64(st.Len), lv...)
	m.capacity.emit(ch, float64(st.Capacity), lv...)
}

// GroupStatser is what [NewGroupCollector] reads: a *fanin.Group of any
// type.
type GroupStatser interface{ Stats() fanin.GroupStats }

// A GroupCollector exports a [fanin.Group]'s Stats; see the package
// documentation for its names. It is safe for simultaneous use.
type GroupCollector struct {
	g      GroupStatser
	folder *lanes.Folder

	lane                                    laneMetrics
	runs, restarts, state, degraded         metric
	keepTrying                              metric
	groupRuns, escalations, abandoned, drop metric
	adapters                                metric
}

// NewGroupCollector returns a collector of g's Stats. It panics if g is
// nil.
func NewGroupCollector(g GroupStatser, opts ...Option) *GroupCollector {
	if g == nil {
		panic("faninprom: NewGroupCollector called with a nil group")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c, gv := prometheus.CounterValue, prometheus.GaugeValue
	return &GroupCollector{
		g:           g,
		folder:      lanes.NewFolder(o.maxAdapters),
		lane:        newLaneMetrics(nil, "adapter"),
		runs:        newMetric("fanin_adapter_runs_total", "Calls of the adapter's Run, across runs of the group, restarts and replacements.", c, nil, "adapter"),
		restarts:    newMetric("fanin_adapter_restarts_total", "Restarts of the adapter by its restart policy.", c, nil, "adapter"),
		state:       newMetric("fanin_adapter_state", "Adapters in each state: 1 for the state a named adapter is in, 0 for the others; a count for (other).", gv, nil, "adapter", "state"),
		degraded:    newMetric("fanin_adapter_degraded", "Adapters kept trying over their restart intensity and not running since: their restarts wait the maximum backoff.", gv, nil, "adapter"),
		keepTrying:  newMetric("fanin_adapter_keep_trying", "Adapters added WithKeepTrying: over their restart intensity they are restarted at the maximum backoff instead of ending the group's run.", gv, nil, "adapter"),
		groupRuns:   newMetric("fanin_group_runs_total", "Runs of the group begun.", c, nil),
		escalations: newMetric("fanin_group_escalations_total", "Runs of the group ended by an adapter's failure.", c, nil),
		abandoned:   newMetric("fanin_group_abandoned_total", "Values accepted and never handled: handed to Group.Abandon, or counted only.", c, nil),
		drop:        newMetric("fanin_group_events_dropped_total", "Lifecycle events that did not fit in Group.Events.", c, nil),
		adapters:    newMetric("fanin_group_adapters", "Adapters in the group now.", gv, nil),
	}
}

// Describe sends the descriptions of every metric of c.
func (c *GroupCollector) Describe(ch chan<- *prometheus.Desc) {
	c.lane.describe(ch)
	for _, m := range []metric{c.runs, c.restarts, c.state, c.degraded, c.keepTrying, c.groupRuns, c.escalations, c.abandoned, c.drop, c.adapters} {
		ch <- m.desc
	}
}

// Collect takes one snapshot of the group and sends its metrics.
func (c *GroupCollector) Collect(ch chan<- prometheus.Metric) {
	gs := c.g.Stats()
	for _, r := range c.folder.Rows(gs) {
		c.lane.collect(ch, r.Stats, r.Name)
		if !r.Adapter {
			continue
		}
		c.runs.emit(ch, float64(r.Runs), r.Name)
		c.restarts.emit(ch, float64(r.Restarts), r.Name)
		for _, s := range lanes.States {
			c.state.emit(ch, float64(r.States[s]), r.Name, s.String())
		}
		c.degraded.emit(ch, float64(r.Degraded), r.Name)
		c.keepTrying.emit(ch, float64(r.KeepTrying), r.Name)
	}
	c.groupRuns.emit(ch, float64(gs.Runs))
	c.escalations.emit(ch, float64(gs.Escalations))
	c.abandoned.emit(ch, float64(gs.Abandoned))
	c.drop.emit(ch, float64(gs.EventsDropped))
	c.adapters.emit(ch, float64(len(gs.Adapters)))
}

// ChannelStatser is what [NewChannelCollector] reads: a *fanin.Channel of
// any type.
type ChannelStatser interface{ Stats() fanin.Stats }

// A ChannelCollector exports a [fanin.Channel]'s Stats as the lane
// metrics, with the channel's name as the adapter label. It exports the
// same names as a [GroupCollector]: to register both in one registry,
// register each through prometheus.WrapRegistererWith with a label that
// tells them apart. It is safe for simultaneous use.
type ChannelCollector struct {
	c    ChannelStatser
	name string
	lane laneMetrics
}

// NewChannelCollector returns a collector of c's Stats under name. It
// panics if c is nil.
func NewChannelCollector(c ChannelStatser, name string) *ChannelCollector {
	if c == nil {
		panic("faninprom: NewChannelCollector called with a nil channel")
	}
	return &ChannelCollector{c: c, name: name, lane: newLaneMetrics(nil, "adapter")}
}

// Describe sends the descriptions of every metric of c.
func (c *ChannelCollector) Describe(ch chan<- *prometheus.Desc) { c.lane.describe(ch) }

// Collect takes one snapshot of the channel and sends its metrics.
func (c *ChannelCollector) Collect(ch chan<- prometheus.Metric) {
	c.lane.collect(ch, c.c.Stats(), c.name)
}

// LimiterStatser is what [NewLimiterCollector] reads: a *fanin.Limiter or
// a *fanin.KeyedLimiter of any key type.
type LimiterStatser interface{ Stats() fanin.LimiterStats }

// A LimiterCollector exports a limiter's Stats under its name:
// fanin_limiter_allowed_total, fanin_limiter_refused_total{reason}
// (rate_limited, too_many_keys, invalid_key) and fanin_limiter_keys. It is
// safe for simultaneous use.
type LimiterCollector struct {
	l                       LimiterStatser
	allowed, refused, keyed metric
}

// NewLimiterCollector returns a collector of l's Stats, labelled
// limiter=name. It panics if l is nil.
func NewLimiterCollector(l LimiterStatser, name string) *LimiterCollector {
	if l == nil {
		panic("faninprom: NewLimiterCollector called with a nil limiter")
	}
	cl := prometheus.Labels{"limiter": name}
	return &LimiterCollector{
		l:       l,
		allowed: newMetric("fanin_limiter_allowed_total", "Tokens the limiter granted and that were used.", prometheus.CounterValue, cl),
		refused: newMetric("fanin_limiter_refused_total", "Events the limiter refused, by reason: rate_limited (no token in time), too_many_keys (no bucket free for a new key), invalid_key.", prometheus.CounterValue, cl, "reason"),
		keyed:   newMetric("fanin_limiter_keys", "Keys that have a bucket now; 0 for a limiter without keys.", prometheus.GaugeValue, cl),
	}
}

// Describe sends the descriptions of every metric of c.
func (c *LimiterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.allowed.desc
	ch <- c.refused.desc
	ch <- c.keyed.desc
}

// Collect takes one snapshot of the limiter and sends its metrics.
func (c *LimiterCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.l.Stats()
	c.allowed.emit(ch, float64(st.Allowed))
	c.refused.emit(ch, float64(st.RateLimited), "rate_limited")
	c.refused.emit(ch, float64(st.TooManyKeys), "too_many_keys")
	c.refused.emit(ch, float64(st.InvalidKey), "invalid_key")
	c.keyed.emit(ch, float64(st.Keys))
}

// WebhookStatser is what [NewWebhookCollector] reads: a *webhook.Handler.
type WebhookStatser interface{ Stats() webhook.Stats }

// A WebhookCollector exports a [webhook.Handler]'s Stats:
//
//	fanin_webhook_answers_total{code,status}          answers written, by HTTP code and status word
//	fanin_webhook_verify_failures_total{scheme}       requests refused by a scheme whose headers they carried
//	fanin_webhook_dedup_hits_total                    repeats of a delivery answered with the first answer
//	fanin_webhook_verifying_requests                  requests being read and verified now
//	fanin_webhook_unverified_bytes                    bytes of bodies held before verification now
//	fanin_webhook_waiting_callers                     callers waiting for a reply or a first copy now
//	fanin_webhook_rate_limit_allowed_total{limit}     limit is caller (Config.RateLimit) or addr (Config.AddrLimit)
//	fanin_webhook_rate_limit_refused_total{limit,reason}
//
// The code and status labels take the few values the package
// documentation lists; scheme is hmac-sha256, github, standard-webhooks
// or custom. A WebhookCollector is safe for simultaneous use.
type WebhookCollector struct {
	h                              WebhookStatser
	answers, failures, dedup       metric
	verifying, unverified, waiting metric
	limitAllowed, limitRefused     metric
}

// NewWebhookCollector returns a collector of h's Stats. It panics if h is
// nil.
func NewWebhookCollector(h WebhookStatser) *WebhookCollector {
	if h == nil {
		panic("faninprom: NewWebhookCollector called with a nil handler")
	}
	c, g := prometheus.CounterValue, prometheus.GaugeValue
	return &WebhookCollector{
		h:            h,
		answers:      newMetric("fanin_webhook_answers_total", "Answers the webhook wrote, by HTTP status code and the status word of its JSON answer.", c, nil, "code", "status"),
		failures:     newMetric("fanin_webhook_verify_failures_total", "Requests answered 401 that carried a signature scheme's headers and were refused by it, by scheme.", c, nil, "scheme"),
		dedup:        newMetric("fanin_webhook_dedup_hits_total", "Requests that repeated a remembered delivery ID and were answered with the first copy's answer.", c, nil),
		verifying:    newMetric("fanin_webhook_verifying_requests", "Requests whose bodies are being read and verified now.", g, nil),
		unverified:   newMetric("fanin_webhook_unverified_bytes", "Bytes of request bodies held before verification now.", g, nil),
		waiting:      newMetric("fanin_webhook_waiting_callers", "Callers waiting now for a reply or for the outcome of an earlier copy of their delivery.", g, nil),
		limitAllowed: newMetric("fanin_webhook_rate_limit_allowed_total", "Requests a rate limit of the webhook let through, by limit: caller (after verification) or addr (before).", c, nil, "limit"),
		limitRefused: newMetric("fanin_webhook_rate_limit_refused_total", "Requests a rate limit of the webhook refused, by limit and reason.", c, nil, "limit", "reason"),
	}
}

// Describe sends the descriptions of every metric of c.
func (c *WebhookCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range []metric{c.answers, c.failures, c.dedup, c.verifying, c.unverified, c.waiting, c.limitAllowed, c.limitRefused} {
		ch <- m.desc
	}
}

// Collect takes one snapshot of the handler and sends its metrics.
func (c *WebhookCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.h.Stats()
	for a, n := range st.Answers {
		c.answers.emit(ch, float64(n), strconv.Itoa(a.Code), a.Status)
	}
	for s, n := range st.VerifyFailures {
		c.failures.emit(ch, float64(n), s)
	}
	c.dedup.emit(ch, float64(st.DedupHits))
	c.verifying.emit(ch, float64(st.Verifying))
	c.unverified.emit(ch, float64(st.UnverifiedBytes))
	c.waiting.emit(ch, float64(st.Waiting))
	for _, l := range []struct {
		name string
		st   fanin.LimiterStats
	}{{"caller", st.RateLimit}, {"addr", st.AddrLimit}} {
		c.limitAllowed.emit(ch, float64(l.st.Allowed), l.name)
		c.limitRefused.emit(ch, float64(l.st.RateLimited), l.name, "rate_limited")
		c.limitRefused.emit(ch, float64(l.st.TooManyKeys), l.name, "too_many_keys")
	}
}
