package attackrules5

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// ---------------------------------------------------------------------
// Promise: "a channel of metrics that the program made, or that a
// function of its own is handed otherwise, is the program's, and counts".
// ---------------------------------------------------------------------

// P1 (was missed). The program gathers its own collectors through the Collector
// interface into a channel it made, and reads that channel under the
// lock that Collect takes while it sends.
type gauges struct {
	mu sync.Mutex
	m  prometheus.Metric
	n  int
}

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {}

func (g *gauges) Collect(ch chan<- prometheus.Metric) { // want Collect:`mayBlock\(channel send at prom.go:28\)`
	g.mu.Lock()
	defer g.mu.Unlock()
	ch <- g.m // want `channel send while g.mu may be held`
}

func (g *gauges) snapshot() int {
	var c prometheus.Collector = g
	own := make(chan prometheus.Metric)
	go func() {
		c.Collect(own)
		close(own)
	}()
	for range own {
		g.mu.Lock()
		g.n++
		g.mu.Unlock()
	}
	return g.n
}

// P2. The same through a method value of Collect: reported (the
// method value counts as a call with another channel).
type counters struct {
	mu sync.Mutex
	m  prometheus.Metric
	n  int
}

func (c *counters) Describe(ch chan<- *prometheus.Desc) {}

func (c *counters) Collect(ch chan<- prometheus.Metric) { // want Collect:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	ch <- c.m // want `channel send while c.mu may be held`
}

func (c *counters) snapshot() int {
	collect := c.Collect
	own := make(chan prometheus.Metric)
	go func() {
		collect(own)
		close(own)
	}()
	for range own {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return c.n
}
