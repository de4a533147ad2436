package pathsense

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// A Collector sends into the channel its Collect or Describe is handed,
// which the registry drains as it gathers: not a wait, also through a
// helper it passes the channel to.
type stats struct {
	mu    sync.Mutex
	desc  *prometheus.Desc
	count prometheus.Metric
}

func (s *stats) Describe(ch chan<- *prometheus.Desc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch <- s.desc
}

func (s *stats) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.collectLocked(ch)
}

func (s *stats) collectLocked(ch chan<- prometheus.Metric) {
	ch <- s.count
}

// A channel of metrics that the function made and reads itself is no
// registry's: a send into it is a send like any other.
func (s *stats) gather(out chan prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out <- s.count // want `channel send while s.mu may be held`
}
