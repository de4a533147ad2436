package attacktok3

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Promise: it does not report "a send into the chan<- prometheus.Metric or
// chan<- *prometheus.Desc that a Prometheus Collector's Collect or
// Describe is handed ...; a channel of metrics that can also be received
// from is the program's own, and counts".

// P0. A Collector's Collect: not reported.
type coll struct {
	mu sync.Mutex
	m  prometheus.Metric
}

func (c *coll) Describe(ch chan<- *prometheus.Desc) {}

func (c *coll) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch <- c.m
}

var _ prometheus.Collector = (*coll)(nil)

// P1 (was missed). The program's own channel, which it reads, converted to send-only
// before the send.
type agg struct {
	mu  sync.Mutex
	out chan prometheus.Metric
	n   int
}

func (a *agg) run() {
	for range a.out {
		a.mu.Lock()
		a.n++
		a.mu.Unlock()
	}
}

func (a *agg) push(m prometheus.Metric) {
	var w chan<- prometheus.Metric = a.out
	a.mu.Lock()
	defer a.mu.Unlock()
	w <- m // want `channel send while a.mu may be held`
}

// P2 (was missed). A send-only field that holds the program's own channel, which the
// program reads through the receive-only end it kept.
type fwd struct {
	mu   sync.Mutex
	sink chan<- prometheus.Metric
}

func newFwd() (*fwd, <-chan prometheus.Metric) {
	ch := make(chan prometheus.Metric)
	return &fwd{sink: ch}, ch
}

func (f *fwd) emit(m prometheus.Metric) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sink <- m // want `channel send while f.mu may be held`
}

// P3 (was missed). A named send-only type over the program's own channel.
type metricSink chan<- prometheus.Metric

type named struct {
	mu   sync.Mutex
	sink metricSink
}

func newNamed() (*named, chan prometheus.Metric) {
	ch := make(chan prometheus.Metric)
	return &named{sink: ch}, ch
}

func (n *named) emit(m prometheus.Metric) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sink <- m // want `channel send while n.mu may be held`
}

// P4 (was missed). A helper of the program's own that takes a chan<- Metric, handed the
// program's own channel, which the caller then reads back.
func emitTo(mu *sync.Mutex, ch chan<- prometheus.Metric, m prometheus.Metric) {
	mu.Lock()
	defer mu.Unlock()
	ch <- m // want `channel send while mu may be held`
}

func pump(mu *sync.Mutex, m prometheus.Metric) prometheus.Metric {
	ch := make(chan prometheus.Metric)
	go emitTo(mu, ch, m)
	var r <-chan prometheus.Metric = ch
	return <-r
}

// P5. A channel of a type parameter, instantiated with Metric.
func sendAll[T any](mu *sync.Mutex, ch chan<- T, v T) {
	mu.Lock()
	defer mu.Unlock()
	ch <- v // want `channel send while mu may be held`
}

func useSendAll(mu *sync.Mutex, ch chan prometheus.Metric, m prometheus.Metric) {
	sendAll[prometheus.Metric](mu, ch, m)
}
