package faninotel

import (
	"context"
	"fmt"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/fanin-go/fanin"
)

// BenchmarkCollect measures one collection, through the SDK's
// ManualReader, of the instruments of a running group of 1,000 idle
// adapters: every adapter named, and with the default limit of 100 names,
// the rest reported as (other).
func BenchmarkCollect(b *testing.B) {
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
			r := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
			defer mp.Shutdown(ctx)
			if _, err := ObserveGroup(mp.Meter("bench"), &g, tc.opt); err != nil {
				b.Fatal(err)
			}
			var rm metricdata.ResourceMetrics
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Collect(ctx, &rm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
