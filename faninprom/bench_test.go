package faninprom

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fanin-go/fanin"
)

// scrapeEvery is how often BenchmarkSend's scraper gathers: a hundred
// times a second, far more often than any Prometheus server scrapes, and
// still a small share of a core.
const scrapeEvery = 10 * time.Millisecond

// BenchmarkSend measures Group.Sender's Send into a group whose one
// consumer keeps up, side by side without a collector ("none") and with a
// GroupCollector registered and gathered every scrapeEvery by another
// goroutine ("scraped"). The collector reads Stats at scrape time only, so
// the two should not differ; compare them with benchstat.
func BenchmarkSend(b *testing.B) {
	for _, mode := range []string{"none", "scraped"} {
		b.Run("collector="+mode, func(b *testing.B) {
			ctx := context.Background()
			var g fanin.Group[int]
			stream, err := g.Start(ctx)
			if err != nil {
				b.Fatal(err)
			}
			s, err := g.Sender()
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() { // the consumer
				for {
					if _, err := stream.Recv(ctx); err != nil {
						return
					}
				}
			})
			stop := make(chan struct{})
			if mode == "scraped" {
				reg := prometheus.NewRegistry()
				reg.MustRegister(NewGroupCollector(&g))
				wg.Go(func() {
					t := time.NewTicker(scrapeEvery)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
						}
						if _, err := reg.Gather(); err != nil {
							panic(err)
						}
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := s.Send(ctx, i); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			close(stop)
			g.Shutdown(ctx)
			wg.Wait()
		})
	}
}

// BenchmarkScrape measures one Gather of a registry holding the collector
// of a running group of n idle adapters: every adapter named
// (MaxAdapters(n), 22 series each), and with the default limit of 100
// names, the rest folded into (other).
func BenchmarkScrape(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	var g fanin.Group[int]
	for i := range n {
		if err := g.Add(ctx, fanin.AdapterFunc(fmt.Sprintf("adapter-%04d", i), func(ctx context.Context, _ fanin.Sink[int]) error {
			<-ctx.Done()
			return nil
		})); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := g.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer g.Shutdown(ctx)
	for _, tc := range []struct {
		name string
		opt  Option
	}{{"adapters=1000/named=1000", MaxAdapters(n)}, {"adapters=1000/named=100", MaxAdapters(0)}} {
		b.Run(tc.name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(NewGroupCollector(&g, tc.opt))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
