package fanin

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"
)

// Inside synctest.Test, time.Sleep moves the bubble's fake clock forward at
// once, to the exact instant asked for: it is how these tests let tokens
// refill, never a wait for another goroutine (synctest.Wait does that).

func TestNewLimiterPanics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bands []Band
	}{
		{"no bands", nil},
		{"zero events", []Band{{Events: 0, Interval: time.Second, Burst: 1}}},
		{"negative events", []Band{{Events: -1, Interval: time.Second, Burst: 1}}},
		{"zero interval", []Band{{Events: 1, Interval: 0, Burst: 1}}},
		{"zero burst", []Band{{Events: 1, Interval: time.Second, Burst: 0}}},
		{"negative burst", []Band{{Events: 1, Interval: time.Second, Burst: -5}}},
		{"second band bad", []Band{{Events: 1, Interval: time.Second, Burst: 1}, {Events: 1, Interval: -time.Second, Burst: 1}}},
		{"huge burst", []Band{{Events: 1, Interval: time.Hour, Burst: 1 << 62}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, ctor := range []struct {
				name string
				f    func()
			}{
				{"NewLimiter", func() { NewLimiter(tc.bands...) }},
				{"NewKeyedLimiter", func() { NewKeyedLimiter[string](10, tc.bands...) }},
			} {
				msg := panicMessage(ctor.f)
				if !strings.HasPrefix(msg, "fanin: "+ctor.name) {
					t.Errorf("%s(%v) panicked with %q, want a message starting with %q", ctor.name, tc.bands, msg, "fanin: "+ctor.name)
				}
			}
		})
	}
	if msg := panicMessage(func() { NewKeyedLimiter[int](0, Band{1, time.Second, 1}) }); !strings.HasPrefix(msg, "fanin: NewKeyedLimiter") {
		t.Errorf("NewKeyedLimiter(0, ...) panicked with %q, want a fanin: message", msg)
	}
}

func panicMessage(f func()) (msg string) {
	defer func() { msg = fmt.Sprint(recover()) }()
	f()
	return "<no panic>"
}

func TestZeroLimiterAllowsEverything(t *testing.T) {
	var zero Limiter
	var nilLimiter *Limiter
	for _, l := range []*Limiter{&zero, nilLimiter} {
		for range 1000 {
			if !l.Allow() {
				t.Fatal("Allow on a Limiter without bands = false, want true")
			}
		}
		if err := l.Wait(context.Background()); err != nil {
			t.Errorf("Wait on a Limiter without bands = %v, want nil", err)
		}
	}
}

// TestWaitExactTimes: at 10/s with burst 5, 25 Waits finish at exactly 2s,
// five at once and then one every 100ms.
func TestWaitExactTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Band{Events: 10, Interval: time.Second, Burst: 5})
		start := time.Now()
		for i := range 25 {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatalf("Wait %d = %v, want nil", i, err)
			}
			want := time.Duration(max(0, i-4)) * 100 * time.Millisecond
			if got := time.Since(start); got != want {
				t.Errorf("Wait %d returned at %v, want %v", i, got, want)
			}
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("25 Waits took %v, want exactly 2s", got)
		}
	})
}

// TestTwoBands takes tokens as fast as 100 a minute and 5000 an hour allow.
// As token buckets, each full at the start: the first 100 come at once and
// then one every 600ms (the minute band). The hour band earns one every
// 720ms, so its balance falls by 0.12s a token and it first binds at token
// n where 0.72(n-4999) > 0.6(n-99): n = 29500, at 0.72*24501s =
// 4h54m0.72s, 120ms later than the minute band alone would allow.
func TestTwoBands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(
			Band{Events: 100, Interval: time.Minute, Burst: 100},
			Band{Events: 5000, Interval: time.Hour, Burst: 5000},
		)
		start := time.Now()
		minuteBand := func(n int) time.Duration { return time.Duration(max(0, n-99)) * 600 * time.Millisecond }
		for n := range 29501 {
			if err := l.Wait(context.Background()); err != nil {
				t.Fatalf("Wait %d = %v, want nil", n, err)
			}
			want := minuteBand(n)
			if n == 29500 {
				want = 24501 * 720 * time.Millisecond
			}
			if got := time.Since(start); got != want {
				t.Fatalf("token %d at %v, want %v", n, got, want)
			}
		}
		if got, minute := time.Since(start), minuteBand(29500); got-minute != 120*time.Millisecond {
			t.Errorf("token 29500 came %v after the minute band allowed it, want 120ms (the hour band)", got-minute)
		}
	})
}

// TestBandsPayTogether: a refused event charges no band. With band A empty,
// refused Allows must leave band B's tokens alone, so B has them when A
// refills.
func TestBandsPayTogether(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(
			Band{Events: 1, Interval: 10 * time.Second, Burst: 1}, // A
			Band{Events: 1, Interval: 20 * time.Second, Burst: 3}, // B
		)
		if !l.Allow() {
			t.Fatal("first Allow = false, want true")
		}
		for range 2 {
			if l.Allow() {
				t.Fatal("Allow with band A empty = true, want false")
			}
		}
		// A has refilled; B has 2 tokens, and would have none had the
		// refused Allows charged it.
		time.Sleep(10 * time.Second)
		if !l.Allow() {
			t.Error("Allow after A refilled = false, want true: a refused Allow charged band B")
		}
	})
}

// TestDifferentialAgainstXTimeRate checks that, for a single band, Allow
// decides exactly as golang.org/x/time/rate does over random schedules.
// Times are random nanoseconds, so no call lands exactly on a token
// boundary, where the oracle's floating-point arithmetic could round
// either way while ours is exact.
func TestDifferentialAgainstXTimeRate(t *testing.T) {
	for _, b := range []Band{
		{Events: 10, Interval: time.Second, Burst: 5},
		{Events: 1, Interval: time.Second, Burst: 1},
		{Events: 100, Interval: time.Minute, Burst: 100},
		{Events: 3, Interval: time.Second, Burst: 2}, // 333,333,334ns a token
		{Events: 5000, Interval: time.Hour, Burst: 50},
	} {
		t.Run(fmt.Sprintf("%d per %v burst %d", b.Events, b.Interval, b.Burst), func(t *testing.T) {
			mine := NewLimiter(b)
			emission := mine.bands[0].emission
			oracle := rate.NewLimiter(rate.Every(emission), b.Burst)
			rng := rand.New(rand.NewPCG(uint64(b.Events), uint64(b.Burst)))
			var now time.Duration
			allowed := 0
			for i := range 20000 {
				// Bursts of calls, then gaps of up to a few tokens' worth.
				if rng.IntN(4) == 0 {
					now += time.Duration(rng.Int64N(int64(3 * emission)))
				} else {
					now += time.Duration(rng.Int64N(int64(emission / 4)))
				}
				got := mine.allowAt(now)
				want := oracle.AllowN(mine.base.Add(now), 1)
				if got != want {
					t.Fatalf("call %d at %v: Allow = %v, x/time/rate says %v", i, now, got, want)
				}
				if got {
					allowed++
				}
			}
			if allowed == 0 || allowed == 20000 {
				t.Errorf("%d of 20000 calls allowed: the schedule tested nothing", allowed)
			}
		})
	}
}

// TestWaitPastDeadline: a token that would come after the deadline is
// refused at once, and nothing is taken.
func TestWaitPastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Band{Events: 1, Interval: time.Second, Burst: 1})
		l.Allow() // empty: the next token comes at 1s
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := l.Wait(ctx); err != ErrRateLimited {
			t.Errorf("Wait with a deadline before the token = %v, want %v", err, ErrRateLimited)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("Wait waited %v before refusing, want 0", waited)
		}
		time.Sleep(time.Second)
		if !l.Allow() {
			t.Error("Allow at 1s = false, want true: the refused Wait took a token")
		}
	})
}

// TestWaitCanceled: a Wait whose ctx ends returns promptly and gives its
// token back.
func TestWaitCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Band{Events: 1, Interval: time.Second, Burst: 1})
		l.Allow()
		ctx, cancel := context.WithCancel(context.Background())
		w := goCall(func() error { return l.Wait(ctx) })
		synctest.Wait()
		if err, ok := w.returned(); ok {
			t.Fatalf("Wait on an empty limiter returned %v at once, want it waiting", err)
		}
		// The lock is not held while Wait waits.
		if l.Allow() {
			t.Error("Allow while the token is reserved = true, want false")
		}
		cancel()
		synctest.Wait()
		if err, ok := w.returned(); !ok || err != context.Canceled {
			t.Errorf("canceled Wait = %v (returned %v), want %v", err, ok, context.Canceled)
		}
		time.Sleep(time.Second)
		if !l.Allow() {
			t.Error("Allow at 1s = false, want true: the canceled Wait kept its token")
		}
	})
}

// TestSendBatchWaitsPerToken sends a batch at the limiter's pace: the
// values arrive one token apart, in order.
func TestSendBatchWaitsPerToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[int](10)
		stream := mustStart(t, c)
		s, _ := c.Sender()
		l := NewLimiter(Band{Events: 4, Interval: time.Second, Burst: 2})
		start := time.Now()
		n, err := SendBatch(context.Background(), s, l, []int{0, 1, 2, 3, 4, 5}, WaitForTokens)
		if n != 6 || err != nil {
			t.Errorf("SendBatch = %d, %v; want 6, nil", n, err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("batch of 6 at 4/s with burst 2 took %v, want 1s", got)
		}
		mustShutdown(t, c)
		if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5}, drain(stream)); diff != "" {
			t.Errorf("stream (-want +got):\n%s", diff)
		}
	})
}

// TestSendBatchRefusePrefixAndRetry: over the limit, the batch stops with
// ErrRateLimited after a prefix; retrying exactly the rest delivers every
// value once, in order.
func TestSendBatchRefusePrefixAndRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string](10)
		stream := mustStart(t, c)
		s, _ := c.Sender()
		l := NewLimiter(Band{Events: 1, Interval: time.Second, Burst: 3})
		batch := []string{"a", "b", "c", "d", "e"}
		n, err := SendBatch(context.Background(), s, l, batch, RefuseOverLimit)
		if n != 3 || err != ErrRateLimited {
			t.Fatalf("SendBatch over the limit = %d, %v; want 3, %v", n, err, ErrRateLimited)
		}
		time.Sleep(2 * time.Second)
		m, err := SendBatch(context.Background(), s, l, batch[n:], RefuseOverLimit)
		if m != 2 || err != nil {
			t.Errorf("retry of the rest = %d, %v; want 2, nil", m, err)
		}
		mustShutdown(t, c)
		if diff := cmp.Diff(batch, drain(stream)); diff != "" {
			t.Errorf("stream (-want +got):\n%s", diff)
		}
	})
}

// TestSendBatchShutdownWhileWaiting: a batch waiting for a token, and one
// waiting for room, both end promptly with ErrClosed when the run is shut
// down, and report exactly what was accepted.
func TestSendBatchShutdownWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[int](2)
		stream := mustStart(t, c)
		s, _ := c.Sender()
		slow := NewLimiter(Band{Events: 1, Interval: time.Hour, Burst: 1})
		type out struct {
			n   int
			err error
		}
		forToken := make(chan out, 1)
		go func() {
			n, err := SendBatch(context.Background(), s, slow, []int{1, 2, 3}, WaitForTokens)
			forToken <- out{n, err}
		}()
		forRoom := make(chan out, 1)
		go func() {
			n, err := SendBatch(context.Background(), s, nil, []int{10, 11, 12}, WaitForTokens)
			forRoom <- out{n, err}
		}()
		synctest.Wait()
		if len(forToken)+len(forRoom) != 0 {
			t.Fatal("a batch returned before Shutdown, want both blocked")
		}
		start := time.Now()
		mustShutdown(t, c)
		synctest.Wait()
		if time.Since(start) != 0 {
			t.Errorf("batches took %v of fake time to end, want 0", time.Since(start))
		}
		a, b := <-forToken, <-forRoom
		if a.err != ErrClosed || b.err != ErrClosed {
			t.Errorf("batch errors = %v, %v; want %v for both", a.err, b.err, ErrClosed)
		}
		// The buffer of 2 holds exactly what the two batches report.
		got := drain(stream)
		if len(got) != a.n+b.n || a.n+b.n != 2 {
			t.Errorf("batches accepted %d + %d and the stream holds %v, want 2 in all", a.n, b.n, got)
		}
		// The token taken for the value that was not sent was given back:
		// if the batch sent nothing, its token is there now; if it sent one
		// value, the next token comes an hour later, not two.
		if a.n == 1 {
			time.Sleep(time.Hour)
		}
		if !slow.Allow() {
			t.Errorf("Allow after a batch that sent %d = false, want true: its unused token was kept", a.n)
		}
	})
}

// TestSendBatchNotStarted: the zero Sender stops a batch at once, sending
// nothing and keeping no token.
func TestSendBatchNotStarted(t *testing.T) {
	l := NewLimiter(Band{Events: 1, Interval: time.Hour, Burst: 1})
	n, err := SendBatch(context.Background(), &Sender[int]{}, l, []int{1, 2}, WaitForTokens)
	if n != 0 || err != ErrNotStarted {
		t.Errorf("SendBatch on the zero Sender = %d, %v; want 0, %v", n, err, ErrNotStarted)
	}
	if !l.Allow() {
		t.Error("Allow = false, want true: the failed batch kept its token")
	}
}

func TestKeyedLimiterKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewKeyedLimiter[string](10, Band{Events: 1, Interval: time.Second, Burst: 2})
		for _, key := range []string{"alice", "bob"} {
			for i := range 2 {
				if retry, err := k.Take(key); err != nil {
					t.Errorf("Take(%q) #%d = %v, %v; want nil", key, i, retry, err)
				}
			}
		}
		retry, err := k.Take("alice")
		if err != ErrRateLimited || retry != time.Second {
			t.Errorf("Take(alice) over the limit = %v, %v; want 1s, %v", retry, err, ErrRateLimited)
		}
		time.Sleep(retry)
		if !k.Allow("alice") {
			t.Error("Allow(alice) after retryAfter = false, want true")
		}
		if got := k.Len(); got != 2 {
			t.Errorf("Len = %d, want 2", got)
		}
	})
}

// TestKeyedLimiterEvictsOnlyFullBuckets: with every slot busy a new key is
// refused; once a bucket has refilled, the new key takes its slot; a key
// whose bucket is not yet full is never reset.
func TestKeyedLimiterEvictsOnlyFullBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewKeyedLimiter[string](2, Band{Events: 1, Interval: time.Second, Burst: 3})
		k.Allow("a") // full again at 1s
		for range 3 {
			k.Allow("b") // full again at 3s
		}
		retry, err := k.Take("c")
		if err != ErrTooManyKeys || retry != time.Second {
			t.Errorf("Take(c) with both slots busy = %v, %v; want 1s, %v", retry, err, ErrTooManyKeys)
		}
		time.Sleep(time.Second) // a is full: it may go
		if !k.Allow("c") {
			t.Fatal("Allow(c) once a was full = false, want true")
		}
		// b kept its bucket: one token earned since, not a fresh three.
		if !k.Allow("b") {
			t.Error("Allow(b) at 1s = false, want true")
		}
		if k.Allow("b") {
			t.Error("second Allow(b) at 1s = true, want false: b was reset by an eviction")
		}
		// a was evicted while full; it comes back full, and must wait for
		// a slot like any new key (c is full again at 2s, b at 4s).
		if retry, err := k.Take("a"); err != ErrTooManyKeys || retry != time.Second {
			t.Errorf("Take(a) after eviction = %v, %v; want 1s, %v", retry, err, ErrTooManyKeys)
		}
		time.Sleep(time.Second)
		for i := range 3 {
			if !k.Allow("a") {
				t.Errorf("Allow(a) #%d after it returned = false, want true (a full bucket of 3)", i)
			}
		}
		if k.Allow("a") {
			t.Error("fourth Allow(a) = true, want false: eviction handed a more than a full bucket")
		}
		if got := k.Len(); got != 2 {
			t.Errorf("Len = %d, want 2", got)
		}
	})
}

// TestKeyedLimiterBoundedMemory feeds a million distinct keys through a
// limiter of 1,000 slots; the live heap must not grow with them.
func TestKeyedLimiterBoundedMemory(t *testing.T) {
	keys := 1_000_000
	if testing.Short() {
		keys = 100_000
	}
	k := NewKeyedLimiter[int](1000, Band{Events: 1, Interval: time.Second, Burst: 1})
	heapNow := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var now time.Duration
	for i := range 1000 { // fill every slot
		k.takeAt(i, now)
	}
	before := heapNow()
	allowed := 0
	for i := 1000; i < keys; i++ {
		now += time.Millisecond // each slot's bucket is full again after 1s
		if _, err := k.takeAt(i, now); err == nil {
			allowed++
		}
	}
	after := heapNow()
	if got := k.Len(); got != 1000 {
		t.Errorf("Len = %d, want 1000", got)
	}
	if allowed == 0 {
		t.Error("no new key was ever allowed: nothing was evicted")
	}
	if grew := int64(after) - int64(before); grew > 1<<20 {
		t.Errorf("heap grew by %d bytes over %d keys, want under 1 MiB", grew, keys)
	}
	t.Logf("%d keys, %d allowed, heap %d -> %d bytes", keys, allowed, before, after)
}

// TestKeyedLimiterHammer runs many goroutines over overlapping keys under
// the race detector; no key may ever be allowed more than its bucket holds.
func TestKeyedLimiterHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const burst = 5
		k := NewKeyedLimiter[int](8, Band{Events: 1, Interval: time.Hour, Burst: burst})
		var mu sync.Mutex
		allowed := map[int]int{}
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 3))
				for range 2000 {
					key := rng.IntN(32)
					if k.Allow(key) {
						mu.Lock()
						allowed[key]++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		total := 0
		for key, n := range allowed {
			// No time passes, so no bucket refills: an evicted key would
			// have to be full, and none is, so no key gets a second bucket.
			if n > burst {
				t.Errorf("key %d allowed %d times in an instant, want at most %d", key, n, burst)
			}
			total += n
		}
		if total != 8*burst {
			t.Errorf("allowed %d events in all, want %d (8 slots of %d)", total, 8*burst, burst)
		}
	})
}

// TestLimiterHammer: many goroutines share one limiter; over a fixed fake
// interval exactly burst + interval*rate events are allowed.
func TestLimiterHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(Band{Events: 10, Interval: time.Second, Burst: 10},
			Band{Events: 100, Interval: time.Minute, Burst: 30})
		var allowed sync.WaitGroup
		var mu sync.Mutex
		count := 0
		for g := range 8 {
			allowed.Go(func() {
				for range 50 {
					if err := l.Wait(context.Background()); err != nil {
						t.Errorf("goroutine %d: Wait = %v", g, err)
						return
					}
					mu.Lock()
					count++
					mu.Unlock()
				}
			})
		}
		start := time.Now()
		allowed.Wait()
		// Token n comes at max((n-9)*100ms, (n-29)*600ms): ten at once,
		// then the second band's pace, until the minute band's balance
		// runs out at token 34; token 399 comes at 370*600ms.
		if got, want := time.Since(start), 370*600*time.Millisecond; got != want {
			t.Errorf("400 Waits took %v, want %v", got, want)
		}
		if count != 400 {
			t.Errorf("count = %d, want 400", count)
		}
	})
}

// TestKeyedLimiterAgainstBruteForce checks every decision about slots
// against a scan of all buckets: a new key is refused only when no bucket
// is full, with retryAfter until the first one is; a key is evicted only
// when its bucket is full; and the heap and its index stay consistent.
func TestKeyedLimiterAgainstBruteForce(t *testing.T) {
	const slots = 16
	k := NewKeyedLimiter[int](slots,
		Band{Events: 1, Interval: 100 * time.Millisecond, Burst: 3},
		Band{Events: 5, Interval: time.Second, Burst: 2})
	fullAt := func(key int) time.Duration {
		s := k.heap[k.slots[key]]
		var full time.Duration
		for _, t := range k.tats[s.tats:][:len(k.bands)] {
			full = max(full, t)
		}
		return full
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var now time.Duration
	evictions, refusals := 0, 0
	for step := range 50_000 {
		now += time.Duration(rng.Int64N(int64(20 * time.Millisecond)))
		key := rng.IntN(40)
		_, known := k.slots[key]
		soonest := time.Duration(math.MaxInt64)
		before := map[int]time.Duration{}
		for other := range k.slots {
			before[other] = fullAt(other)
			soonest = min(soonest, before[other])
		}

		retry, err := k.takeAt(key, now)

		switch {
		case err == ErrTooManyKeys:
			refusals++
			if known || len(before) < slots {
				t.Fatalf("step %d: Take(%d) = ErrTooManyKeys with the key known (%v) or a free slot (%d used)", step, key, known, len(before))
			}
			if soonest <= now || retry != soonest-now {
				t.Fatalf("step %d: refused with retry %v, but the soonest bucket is full at %v (now %v)", step, retry, soonest, now)
			}
		case !known && len(before) == slots:
			evictions++
			for other, full := range before {
				if _, still := k.slots[other]; !still && full > now {
					t.Fatalf("step %d: evicted key %d whose bucket is full only at %v (now %v)", step, other, full, now)
				}
			}
		}
		if len(k.slots) > slots || len(k.slots) != len(k.heap) {
			t.Fatalf("step %d: %d keys in %d heap slots, want at most %d", step, len(k.slots), len(k.heap), slots)
		}
		for key, pos := range k.slots {
			if k.heap[pos].key != key {
				t.Fatalf("step %d: index says key %d is at %d, heap holds key %d there", step, key, pos, k.heap[pos].key)
			}
		}
		for i := 1; i < len(k.heap); i++ {
			if k.heap[(i-1)/2].full > k.heap[i].full {
				t.Fatalf("step %d: heap order broken at slot %d", step, i)
			}
		}
	}
	if evictions == 0 || refusals == 0 {
		t.Errorf("%d evictions and %d refusals, want both > 0: the schedule tested nothing", evictions, refusals)
	}
	t.Logf("%d evictions, %d refusals", evictions, refusals)
}
