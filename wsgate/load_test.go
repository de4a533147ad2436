package wsgate

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// load is one run of the load test: clients connections, each sending
// msgs messages in turn and reading each reply of chunks chunks, and, if
// stalled, one more connection that sends messages and never reads.
type load struct {
	clients, msgs, chunks int
	stalled               bool
}

// loadResult is what a run measured.
type loadResult struct {
	latencies   []time.Duration // from each message sent to its reply's end
	stats       Stats
	stalledSent int  // messages the stalled client sent before it was closed
	stalledGone bool // the stalled client's connection was closed
}

// run runs l against a fresh gateway and checks every reply: complete, in
// order, nothing lost, nothing duplicated. It reports problems on tb.
func (l load) run(tb testing.TB) loadResult {
	// PongTimeout is long: on a shared machine loaded enough to keep a
	// reader from its pong for 10 s, a client would be closed for it,
	// which is not what this measures.
	s := serve(tb, Config{MaxConns: l.clients + 10, WriteBuffer: 64 << 10, PongTimeout: patience}, streamWords)
	var res loadResult

	stallDone := make(chan struct{})
	if l.stalled {
		nc := rawUpgrade(tb, s.gw.Addr().String())
		go func() {
			defer close(stallDone)
			defer nc.Close()
			for s.gw.Stats().SlowClosed == 0 {
				msg := maskedText(fmt.Appendf(nil, `{"id":"s%d","text":"%d"}`, res.stalledSent, l.chunks))
				nc.SetWriteDeadline(time.Now().Add(patience))
				if _, err := nc.Write(msg); err != nil {
					return
				}
				res.stalledSent++
				// The pace of a person typing fast, not a flood: what
				// closes this client is its not reading.
				time.Sleep(5 * time.Millisecond)
			}
		}()
	} else {
		close(stallDone)
	}

	var mu sync.Mutex
	var wg, finished sync.WaitGroup
	release := make(chan struct{}) // clients stay connected until the checks are done
	finished.Add(l.clients)
	for i := range l.clients {
		wg.Go(func() {
			c := dial(tb, s.url, nil)
			defer c.CloseNow()
			defer func() { finished.Done(); <-release }()
			lat := make([]time.Duration, 0, l.msgs)
			for k := range l.msgs {
				id := fmt.Sprintf("c%d-%d", i, k)
				start := time.Now()
				send(tb, c, id, fmt.Sprint(l.chunks))
				chunks, last := reply(tb, c, id)
				lat = append(lat, time.Since(start))
				if last.Type != "end" || len(chunks) != l.chunks {
					tb.Errorf("%s: %d chunks then %+v, want %d then end", id, len(chunks), last, l.chunks)
					return
				}
				for j, ch := range chunks {
					if want := fmt.Sprintf("w%d ", j); ch != want {
						tb.Errorf("%s: chunk %d = %q, want %q", id, j, ch, want)
						return
					}
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		})
	}
	finished.Wait()
	if l.stalled {
		eventually(tb, "the stalled client closed", func() bool { return s.gw.Stats().SlowClosed == 1 })
		<-stallDone
		deadline := time.Now().Add(patience)
		for s.gw.Stats().Conns != l.clients {
			if time.Now().After(deadline) {
				tb.Fatalf("only the stalled connection should have closed: %+v", s.gw.Stats())
			}
			time.Sleep(5 * time.Millisecond)
		}
		res.stalledGone = true
	}
	res.stats = s.gw.Stats()
	close(release)
	wg.Wait()
	if got, want := len(res.latencies), l.clients*l.msgs; got != want {
		tb.Errorf("%d replies complete, want %d", got, want)
	}
	return res
}

// percentile returns the p-th percentile of ds, sorting ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// TestLoadEveryReplyCompleteWithAStalledClient is the load test scaled to
// the race detector and a shared machine: 100 clients, 10 messages each,
// replies of 50 chunks, and one client that never reads. Every reply
// arrives complete and in order, and only the stalled client is closed.
// The full size, 1,000 clients, and the latency comparison are
// BenchmarkLoad.
func TestLoadEveryReplyCompleteWithAStalledClient(t *testing.T) {
	res := load{clients: 100, msgs: 10, chunks: 50, stalled: true}.run(t)
	if !res.stalledGone || res.stats.SlowClosed != 1 {
		t.Errorf("stalled client: closed %v, SlowClosed %d; want closed, 1", res.stalledGone, res.stats.SlowClosed)
	}
	if want := uint64(100 * 10); res.stats.Replies < want {
		t.Errorf("Replies = %d, want at least %d", res.stats.Replies, want)
	}
	t.Logf("p99 %v over %d replies; the stalled client sent %d messages before it was closed", percentile(res.latencies, 0.99), len(res.latencies), res.stalledSent)
}

// BenchmarkLoad runs 1,000 clients, each sending 10 messages answered in 50
// chunks, once without and once with a client that never reads, and
// reports the 99th percentile of the reply latency (message sent to reply
// ended) of each, and their ratio. The two runs of a pair are interleaved,
// first one and then the other first, so that a machine's changing load
// falls on both alike. Run it with -benchtime=1x -count=6 and read the
// medians with benchstat; see the README for the figures.
func BenchmarkLoad(b *testing.B) {
	var calm, stalled []time.Duration
	for i := range b.N {
		order := []bool{false, true}
		if (loadRound+i)%2 == 1 {
			order = []bool{true, false}
		}
		for _, st := range order {
			res := load{clients: 1000, msgs: 10, chunks: 50, stalled: st}.run(b)
			if st {
				stalled = append(stalled, res.latencies...)
			} else {
				calm = append(calm, res.latencies...)
			}
		}
	}
	loadRound++
	pc, ps := percentile(calm, 0.99), percentile(stalled, 0.99)
	b.ReportMetric(float64(pc.Microseconds())/1000, "p99-ms-calm")
	b.ReportMetric(float64(ps.Microseconds())/1000, "p99-ms-stalled")
	b.ReportMetric(float64(ps)/float64(pc), "p99-ratio")
	b.ReportMetric(0, "ns/op")
}

// loadRound alternates which run of BenchmarkLoad's pairs goes first.
var loadRound int
