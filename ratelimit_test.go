package fanin

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"slices"
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

// panicMessage returns what f panicked with, or "<no panic>".
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
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

// TestAllowAgainstXTimeRate checks that, for a single band, Allow decides
// exactly as golang.org/x/time/rate does over random schedules, at rates
// whose time per token is rounded. Times are random nanoseconds, so no
// call lands exactly on a token boundary, where the oracle's
// floating-point arithmetic could round either way while ours is exact.
func TestAllowAgainstXTimeRate(t *testing.T) {
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
				_, got := mine.take(now, now, nil)
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

// TestDifferentialAgainstXTimeRate runs random schedules on a single-band
// Limiter and on golang.org/x/time/rate with the same rate and burst, in a
// synctest bubble so that both read one fake clock: Allow; Wait with and
// without a deadline; cancellation of Waits that are waiting; and the
// give-back of a token that SendBatch took for a value whose send failed
// at once. Every decision must agree: Allow's answer, whether Wait refuses
// at once, returns at once or waits, in which step a waiting Wait returns,
// and, after every step, the tokens each limiter holds, to the last bit.
//
// The oracle computes in floating point, and a cancellation in it moves
// its last event back only if the times compare exactly equal; a rounding
// of one nanosecond there ends a chain of give-backs early. So the rates
// are powers of two per second and every call comes at a multiple of
// 1/512s, where its arithmetic is exact; deadlines fall 1ns off that grid,
// so that a deadline never ties with a token. TestAllowAgainstXTimeRate
// covers rates whose time per token is rounded.
//
// A give-back follows the rule in the Limiter's doc: it succeeds only for
// the latest token still held. For canceled Waits x/time/rate agrees
// exactly. For a token taken at the instant it is given back, as SendBatch
// does after a send that fails at once, it differs in two cases: it
// restores the token even when a later one, taken at the same instant, is
// still held, where Limiter keeps it (then the give-back is checked on the
// Limiter alone and the token stays spent in the oracle too); and after
// canceling a Wait whose token was due less than one token's time from
// now, it keeps that Wait's time as its last event, and so restores only
// part of a token given back later that was taken before the Wait, where
// Limiter restores all of it. The schedule avoids the second case (a token
// is given back only if no Wait was canceled since it was taken);
// TestLimiterAgainstModel checks those give-backs against an exact bucket.
func TestDifferentialAgainstXTimeRate(t *testing.T) {
	for _, b := range []Band{
		{Events: 8, Interval: time.Second, Burst: 5},
		{Events: 1, Interval: time.Second, Burst: 1},
		{Events: 2, Interval: time.Second, Burst: 2},
		{Events: 1, Interval: 2 * time.Second, Burst: 50},
		{Events: 1, Interval: 64 * time.Second, Burst: 100},
	} {
		t.Run(fmt.Sprintf("%d per %v burst %d", b.Events, b.Interval, b.Burst), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runDifferential(t, b, 1) })
		})
	}
}

// heldToken is a token taken in a differential run, in the order
// of taking: live until it is given back.
type heldToken struct {
	at     time.Duration    // the time it was taken for
	g      *grant           // nil: taken by Allow or Wait, not given back by the test
	oracle rate.Reservation // the oracle's token, for g
	live   bool
}

// diffWaiter is one Wait in progress on both limiters.
type diffWaiter struct {
	cancel       context.CancelFunc
	mine, theirs result
	token        int // index of its token in held
}

// runDifferential is TestDifferentialAgainstXTimeRate for one band and
// seed, inside a synctest bubble.
func runDifferential(t *testing.T, b Band, seed uint64) {
	const grid = time.Second / 512
	mine := NewLimiter(b)
	e := mine.bands[0].emission
	oracle := rate.NewLimiter(rate.Every(e), b.Burst)
	rng := rand.New(rand.NewPCG(seed, uint64(b.Events)<<32|uint64(b.Burst)))
	// upTo returns a random multiple of grid below d.
	upTo := func(d time.Duration) time.Duration { return grid * time.Duration(rng.Int64N(int64(d/grid))) }
	var held []heldToken
	var waiting []*diffWaiter
	now := func() time.Duration { return mine.now() }
	// latest reports whether held[i] is the latest token still held, and
	// whether a later token still held was taken at the same instant.
	latest := func(i int) (isLatest, sameInstant bool) {
		isLatest = true
		for _, h := range held[i+1:] {
			if h.live {
				isLatest = false
				sameInstant = sameInstant || h.at == held[i].at
			}
		}
		return isLatest, sameInstant
	}
	defer func() { // so that no Wait outlives a failed test's bubble
		for _, w := range waiting {
			w.cancel()
		}
	}()
	var counts struct{ allowed, refused, waited, canceled, givenBack, kept, sameInstant int }
	lastCancel := 0 // len(held) when a Wait was last canceled

	const steps = 4000
	for step := range steps {
		switch op := rng.IntN(12); {
		case op < 3: // time passes: bursts of calls, then gaps of up to a few tokens
			if rng.IntN(3) == 0 {
				time.Sleep(upTo(3 * e))
			} else {
				time.Sleep(upTo(e / 4))
			}
			synctest.Wait()
			still := waiting[:0]
			for _, w := range waiting {
				m, mok := w.mine.returned()
				th, tok := w.theirs.returned()
				if mok != tok {
					t.Fatalf("step %d at %v: Wait returned: %v (%v); x/time/rate: %v (%v)", step, now(), mok, m, tok, th)
				}
				if !mok {
					still = append(still, w)
					continue
				}
				if m != nil || th != nil {
					t.Fatalf("step %d at %v: Wait = %v, x/time/rate %v; want nil for both", step, now(), m, th)
				}
				w.cancel()
			}
			waiting = still

		case op < 6: // Allow
			got, want := mine.Allow(), oracle.Allow()
			if got != want {
				t.Fatalf("step %d at %v: Allow = %v, x/time/rate says %v", step, now(), got, want)
			}
			if got {
				counts.allowed++
				held = append(held, heldToken{at: now(), live: true})
			} else {
				counts.refused++
			}

		case op < 8: // SendBatch's take, with RefuseOverLimit
			g := mine.newGrant(nil)
			got := mine.allow(&g)
			want := oracle.Tokens() >= 1
			if got != want {
				t.Fatalf("step %d at %v: take = %v, x/time/rate has %v tokens", step, now(), got, oracle.Tokens())
			}
			if got {
				r := oracle.Reserve()
				if d := r.Delay(); !r.OK() || d != 0 {
					t.Fatalf("step %d: x/time/rate reserved a token it had for %v from now (OK %v)", step, d, r.OK())
				}
				held = append(held, heldToken{at: now(), g: &g, oracle: *r, live: true})
			}

		case op < 10: // Wait, with no deadline or a random one
			var ctx context.Context
			var cancel context.CancelFunc
			if rng.IntN(3) == 0 {
				ctx, cancel = context.WithCancel(context.Background())
			} else {
				ctx, cancel = context.WithTimeout(context.Background(), upTo(4*e)+1)
			}
			w := &diffWaiter{
				cancel: cancel,
				mine:   goCall(func() error { return mine.Wait(ctx) }),
				theirs: goCall(func() error { return oracle.Wait(ctx) }),
			}
			synctest.Wait()
			m, mok := w.mine.returned()
			th, tok := w.theirs.returned()
			switch {
			case mok != tok:
				t.Fatalf("step %d at %v: Wait returned at once: %v (%v); x/time/rate: %v (%v)", step, now(), mok, m, tok, th)
			case !mok: // both wait
				w.token = len(held)
				held = append(held, heldToken{at: now(), live: true})
				waiting = append(waiting, w)
				counts.waited++
			case (m == nil) != (th == nil) || (m != nil && m != ErrRateLimited):
				t.Fatalf("step %d at %v: Wait = %v, x/time/rate %v", step, now(), m, th)
			default:
				if m == nil {
					held = append(held, heldToken{at: now(), live: true})
				}
				cancel()
			}

		case op < 11: // cancel a Wait that waits
			if len(waiting) == 0 {
				continue
			}
			j := rng.IntN(len(waiting))
			w := waiting[j]
			waiting = append(waiting[:j], waiting[j+1:]...)
			isLatest, _ := latest(w.token)
			w.cancel()
			lastCancel = len(held)
			synctest.Wait()
			m, mok := w.mine.returned()
			th, tok := w.theirs.returned()
			if !mok || !tok || m != context.Canceled || th != context.Canceled {
				t.Fatalf("step %d: canceled Wait = %v (returned %v), x/time/rate %v (returned %v); want %v", step, m, mok, th, tok, context.Canceled)
			}
			if isLatest {
				held[w.token].live = false
				counts.canceled++
			} else {
				counts.kept++
			}

		default: // give back a token SendBatch took at this instant
			var at []int
			for i, h := range held[lastCancel:] {
				if h.live && h.g != nil && h.at == now() {
					at = append(at, i)
				}
			}
			if len(at) == 0 {
				continue
			}
			i := lastCancel + at[rng.IntN(len(at))]
			isLatest, sameInstant := latest(i)
			if got := mine.giveBack(*held[i].g); got != isLatest {
				t.Fatalf("step %d: giveBack of a token taken now = %v, want %v (true only for the latest token held)", step, got, isLatest)
			}
			if sameInstant {
				counts.sameInstant++ // the documented difference: the oracle would restore it
			} else {
				held[i].oracle.CancelAt(mine.base.Add(now()))
			}
			if isLatest {
				held[i].live = false
				counts.givenBack++
			} else {
				counts.kept++
			}
		}

		if got, want := tokensHeld(mine), oracle.Tokens(); got != want {
			t.Fatalf("step %d at %v: Limiter holds %.9f tokens, x/time/rate %.9f", step, now(), got, want)
		}
	}
	t.Logf("%d steps: %+v", steps, counts)
	if counts.allowed == 0 || counts.refused == 0 || counts.waited == 0 || counts.canceled == 0 || counts.givenBack == 0 || counts.kept == 0 {
		t.Errorf("schedule %+v: some decision was never made, so the test checked nothing of it", counts)
	}
}

// tokensHeld returns the tokens that the single band of l holds now, as
// x/time/rate counts them: negative while Waits hold tokens to come.
func tokensHeld(l *Limiter) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, now := l.bands[0], l.now()
	burst := b.tolerance/b.emission + 1
	return float64(burst) - float64(max(l.tats[0], now)-now)/float64(b.emission)
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

// bucketModel is the token bucket of a Limiter kept the plain way, to check
// the Limiter against: the tokens held, in the order they were taken, each
// with every band's credit just after it was paid for, counted in
// nanoseconds from full bands (a band of Burst b at e a token holds up to
// b*e of credit, earns 1ns of it a nanosecond, and a token costs e). It
// shares no code with the Limiter, and never overflows. A token leaves it
// only when it is given back as the latest held, so the credit recorded
// with the latest token left is always that of the tokens still held.
type bucketModel struct {
	emission, full []time.Duration
	held           []modelToken
}

type modelToken struct {
	at     time.Duration
	credit []time.Duration // per band, after paying for this token
	g      grant
}

func newBucketModel(bands ...Band) *bucketModel {
	m := &bucketModel{}
	for _, b := range bands {
		e := b.Interval / time.Duration(b.Events)
		if b.Interval%time.Duration(b.Events) != 0 {
			e++
		}
		m.emission = append(m.emission, e)
		m.full = append(m.full, time.Duration(b.Burst)*e)
	}
	return m
}

// satAdd returns a+b for b >= 0, or MaxInt64 where that overflows.
func satAdd(a, b time.Duration) time.Duration {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// last returns the time of the latest token held, or 0.
func (m *bucketModel) last() time.Duration {
	if n := len(m.held); n > 0 {
		return m.held[n-1].at
	}
	return 0
}

// creditAt returns every band's credit at t, which must not be before
// last.
func (m *bucketModel) creditAt(t time.Duration) []time.Duration {
	credit := slices.Clone(m.full)
	if n := len(m.held); n > 0 {
		for i, c := range m.held[n-1].credit {
			credit[i] = min(m.full[i], satAdd(c, t-m.held[n-1].at))
		}
	}
	return credit
}

// next returns the first time at or after now at which every band has a
// token, given the tokens held.
func (m *bucketModel) next(now time.Duration) time.Duration {
	from := max(now, m.last())
	credit := m.creditAt(from)
	at := from
	for i, e := range m.emission {
		at = max(at, satAdd(from, max(0, e-credit[i])))
	}
	return at
}

// hold records a token granted for at, and returns an error if some band
// had not earned it: two events in one token's slot.
func (m *bucketModel) hold(at time.Duration, g grant) error {
	if last := m.last(); at < last {
		return fmt.Errorf("the token for %v was granted after one for %v", at, last)
	}
	credit := m.creditAt(at)
	for i, e := range m.emission {
		if credit[i] < e {
			return fmt.Errorf("band %d: the token for %v was granted with %v of credit, less than the %v it costs", i, at, credit[i], e)
		}
		credit[i] -= e
	}
	m.held = append(m.held, modelToken{at: at, credit: credit, g: g})
	return nil
}

// modelRun drives a Limiter and a bucketModel through the same steps, with
// explicit times, and fails at the first difference.
type modelRun struct {
	t      *testing.T
	l      *Limiter
	m      *bucketModel
	now    time.Duration
	counts struct{ granted, refused, givenBack, kept int }
}

// nowCap is as far as a modelRun's clock goes: past the horizon, which it
// must reach, but not so far that the model's sums could overflow.
const nowCap = horizon + horizon/2

func (r *modelRun) advance(d time.Duration) { r.now = min(nowCap, satAdd(r.now, d)) }

// take takes a token for at most limit, as Allow (limit == now) and Wait
// (limit from the deadline) do, and checks the time and the decision.
func (r *modelRun) take(limit time.Duration) {
	r.t.Helper()
	want := r.m.next(r.now)
	g := grant{prev: make([]time.Duration, len(r.l.bands))}
	at, ok := r.l.take(r.now, limit, g.prev)
	wantOK := want <= limit && want < 1<<62
	if at != want || ok != wantOK {
		r.r("take(%v, %v) = %v, %v; want %v, %v", r.now, limit, at, ok, want, wantOK)
	}
	if !ok {
		r.counts.refused++
		return
	}
	r.counts.granted++
	g.at = at
	if err := r.m.hold(at, g); err != nil {
		r.r("%v", err)
	}
}

// giveBack gives back the token that is n-th among those held (modulo
// their number; the latest if n < 0), which must succeed if and only if
// it is the latest.
func (r *modelRun) giveBack(n int) {
	r.t.Helper()
	held := len(r.m.held)
	if held == 0 {
		return
	}
	j := held - 1
	if n >= 0 {
		j = n % held
	}
	want := j == held-1
	if got := r.l.giveBack(r.m.held[j].g); got != want {
		r.r("giveBack of the token for %v, the %d-th of %d held, = %v; want %v", r.m.held[j].at, j+1, held, got, want)
	}
	if want {
		r.m.held = r.m.held[:j]
		r.counts.givenBack++
	} else {
		r.counts.kept++
	}
}

func (r *modelRun) r(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("at %v, after %+v: %s", r.now, r.counts, fmt.Sprintf(format, args...))
}

// TestLimiterAgainstModel drives Limiters of one, two and three bands
// through random takes (as Allow and Wait make them), give-backs of any
// token held, whether its time has come or not, and the passing of time,
// up to and past the time after which a limiter grants nothing, and checks
// every decision and every token's time against bucketModel, which also
// checks that no token was ever granted unearned.
func TestLimiterAgainstModel(t *testing.T) {
	for _, bands := range [][]Band{
		{{Events: 3, Interval: time.Second, Burst: 2}},
		{{Events: 10, Interval: time.Second, Burst: 10}, {Events: 100, Interval: time.Minute, Burst: 30}},
		{{Events: 1, Interval: 10 * time.Second, Burst: 1}, {Events: 1, Interval: time.Second, Burst: 5}, {Events: 7, Interval: time.Minute, Burst: 3}},
		{{Events: 1, Interval: 40 * 365 * 24 * time.Hour, Burst: 3}, {Events: 1, Interval: 365 * 24 * time.Hour, Burst: 100}},
		{{Events: 1, Interval: 1000 * time.Hour, Burst: 50}},
	} {
		t.Run(fmt.Sprint(bands), func(t *testing.T) {
			r := &modelRun{t: t, l: NewLimiter(bands...), m: newBucketModel(bands...)}
			rng := rand.New(rand.NewPCG(uint64(len(bands)), 11))
			for range 20000 {
				e := r.m.emission[rng.IntN(len(bands))]
				switch op := rng.IntN(10); {
				case op < 3:
					if rng.IntN(3) == 0 {
						r.advance(time.Duration(rng.Int64N(int64(3 * e))))
					} else {
						r.advance(time.Duration(rng.Int64N(int64(slices.Min(r.m.emission) / 4))))
					}
				case op < 5:
					r.take(r.now)
				case op < 7:
					r.take(satAdd(r.now, time.Duration(rng.Int64N(int64(4*e)))))
				case op < 8:
					r.take(math.MaxInt64)
				case op < 9:
					r.giveBack(-1)
				default:
					r.giveBack(rng.IntN(1 << 20))
				}
			}
			t.Logf("%+v, clock at %v", r.counts, r.now)
			if c := r.counts; c.granted == 0 || c.refused == 0 || c.givenBack == 0 || c.kept == 0 {
				t.Errorf("%+v: some decision was never made, so the test checked nothing of it", c)
			}
		})
	}
}

// FuzzNewLimiter builds a Limiter from any band. NewLimiter must refuse it
// with a panic that states the rule it breaks (for too large a Burst, the
// largest it allows, computed here with big integers), or the limiter must
// work exactly, step for step with bucketModel, over a few takes, Waits
// and give-backs that ops scripts, at times far enough apart to reach the
// end of its clock.
func FuzzNewLimiter(f *testing.F) {
	script := []byte{1, 1, 2, 3, 0xfc, 1, 2, 0x41, 3, 1, 0x80, 2, 6, 3}
	f.Add(2, int64(math.MaxInt64), 1, script)
	f.Add(math.MaxInt, int64(math.MaxInt64), 1, script)
	f.Add(10, int64(math.MaxInt64), 10, script)
	f.Add(1, int64(8760*time.Hour), 100, script)
	f.Add(1, int64(24*time.Hour), 100000, script)
	f.Add(1, int64(24*time.Hour), 53375, script)
	f.Add(1, int64(time.Hour), 1000000, script)
	f.Add(3, int64(time.Second), 2, script)
	f.Add(0, int64(time.Second), 1, script)
	f.Add(1, int64(-1), 1, script)
	f.Fuzz(func(t *testing.T, events int, interval int64, burst int, ops []byte) {
		b := Band{Events: events, Interval: time.Duration(interval), Burst: burst}
		var l *Limiter
		msg := panicMessage(func() { l = NewLimiter(b) })
		if events <= 0 || interval <= 0 || burst <= 0 {
			if !strings.Contains(msg, "must be positive") {
				t.Fatalf("NewLimiter(%+v) panicked with %q, want a message that fields must be positive", b, msg)
			}
			return
		}
		if most := burstLimit(events, interval); int64(burst) > most {
			want := fmt.Sprintf("Burst may be at most %d", most)
			if !strings.HasPrefix(msg, "fanin: NewLimiter") || !strings.Contains(msg, want) {
				t.Fatalf("NewLimiter(%+v) panicked with %q, want a message saying %q", b, msg, want)
			}
			return
		}
		if msg != "<no panic>" {
			t.Fatalf("NewLimiter(%+v) panicked with %q, want a limiter: the band is valid", b, msg)
		}
		r := &modelRun{t: t, l: l, m: newBucketModel(b)}
		e := r.m.emission[0]
		for _, op := range ops[:min(len(ops), 32)] {
			n := time.Duration(op >> 2) // 0..63
			switch op & 3 {
			case 0:
				r.advance(n*(e/32) + n) // up to about two tokens' time
			case 1:
				r.take(r.now)
			case 2:
				if n == 63 {
					r.take(math.MaxInt64)
				} else {
					r.take(satAdd(r.now, n*(e/16)))
				}
			case 3:
				r.giveBack(int(n))
			}
		}
	})
}

// burstLimit returns the largest Burst that a band of events per interval
// may have: 2^62ns over the time per token, rounded up, computed with big
// integers so that no step can overflow.
func burstLimit(events int, interval int64) int64 {
	ev := big.NewInt(int64(events))
	e := new(big.Int).Add(big.NewInt(interval), ev)
	e.Sub(e, big.NewInt(1))
	e.Quo(e, ev)
	return new(big.Int).Quo(new(big.Int).Lsh(big.NewInt(1), 62), e).Int64()
}

// startWaits starts n Waits on l, one after another, each once the one
// before it holds its token, and returns their cancel functions and, for
// each, a channel that receives when it returned (since the call), or -1
// if it returned an error. Their contexts are children of parent, which
// the caller cancels when it returns, so that no Wait outlives a failed
// test's bubble.
func startWaits(parent context.Context, l *Limiter, n int) (cancels []context.CancelFunc, returned []chan time.Duration) {
	start := time.Now()
	for range n {
		ctx, cancel := context.WithCancel(parent)
		at := make(chan time.Duration, 1)
		go func() {
			if err := l.Wait(ctx); err != nil {
				at <- -1
				return
			}
			at <- time.Since(start)
		}()
		synctest.Wait() // it holds its token before the next one asks
		cancels, returned = append(cancels, cancel), append(returned, at)
	}
	return cancels, returned
}

// TestCanceledWaitNeverDoubleBooks: at 1/s with burst 1, after Allow, ten
// Waits hold the next ten seconds. The first nine are canceled while the
// tenth still holds 10s, so none gives its token back: nine new Waits get
// 11s to 19s, never a second already held. Canceled from the last down
// instead, each gives its token back, and a new Wait gets 1s.
func TestCanceledWaitNeverDoubleBooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := NewLimiter(Band{Events: 1, Interval: time.Second, Burst: 1})
		l.Allow()
		cancels, first := startWaits(ctx, l, 10)
		for i := range 9 {
			cancels[i]()
			if at := <-first[i]; at != -1 {
				t.Fatalf("canceled Wait %d returned nil at %v", i, at)
			}
		}
		_, second := startWaits(ctx, l, 9)
		if at := <-first[9]; at != 10*time.Second {
			t.Errorf("Wait 9 returned at %v, want 10s", at)
		}
		for i, at := range second {
			if got, want := <-at, time.Duration(11+i)*time.Second; got != want {
				t.Errorf("new Wait %d returned at %v, want %v: a canceled Wait gave back a token a later one held", i, got, want)
			}
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := NewLimiter(Band{Events: 1, Interval: time.Second, Burst: 1})
		l.Allow()
		cancels, waits := startWaits(ctx, l, 10)
		for i := 9; i >= 0; i-- {
			cancels[i]()
			<-waits[i]
		}
		_, again := startWaits(ctx, l, 1)
		if at := <-again[0]; at != time.Second {
			t.Errorf("Wait after ten Waits canceled from the last down returned at %v, want 1s", at)
		}
	})
}

// TestGiveBackRestoresEveryBand: with a fast band (1/s) and a slow one
// (1 per 10s), two Waits hold 10s and 20s. Both canceled, latest first,
// every band is back where it was, and a new Wait gets 10s, not a time
// that either band remembers from the canceled tokens. Canceling the first
// while the second holds 20s gives nothing back in any band: the next
// Wait gets 30s, not a second token at 20s.
func TestGiveBackRestoresEveryBand(t *testing.T) {
	bands := []Band{{Events: 1, Interval: time.Second, Burst: 1}, {Events: 1, Interval: 10 * time.Second, Burst: 1}}
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := NewLimiter(bands...)
		l.Allow()
		cancels, waits := startWaits(ctx, l, 2)
		for _, i := range []int{1, 0} {
			cancels[i]()
			<-waits[i]
		}
		_, again := startWaits(ctx, l, 1)
		if at := <-again[0]; at != 10*time.Second {
			t.Errorf("Wait after both Waits were canceled returned at %v, want 10s", at)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		l := NewLimiter(bands...)
		l.Allow()
		cancels, waits := startWaits(ctx, l, 2)
		cancels[0]()
		<-waits[0]
		_, again := startWaits(ctx, l, 1)
		if at := <-waits[1]; at != 20*time.Second {
			t.Errorf("second Wait returned at %v, want 20s", at)
		}
		if at := <-again[0]; at != 30*time.Second {
			t.Errorf("Wait after the first was canceled returned at %v, want 30s: the canceled token was given back while a later one held its slot", at)
		}
	})
}

// TestSendBatchGiveBackNeverDoubleBooks: a batch takes the one token at
// 0s and waits for room; a Wait then holds 1s; the batch's context ends,
// so its value is not sent, but its token cannot be given back while the
// Wait holds the next one. The Wait after that gets 2s, not 1s.
func TestSendBatchGiveBackNeverDoubleBooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, finish := fullSender(t)
		l := NewLimiter(Band{Events: 1, Interval: time.Second, Burst: 1})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		batchCtx, cancelBatch := context.WithCancel(ctx)
		batch := goCall(func() error {
			_, err := SendBatch(batchCtx, s, l, []int{1}, WaitForTokens)
			return err
		})
		synctest.Wait() // the batch holds the token for 0s and waits for room
		_, held := startWaits(ctx, l, 1)
		cancelBatch()
		synctest.Wait()
		if err, ok := batch.returned(); !ok || err != context.Canceled {
			t.Fatalf("SendBatch with its context canceled = %v (returned %v), want %v", err, ok, context.Canceled)
		}
		_, next := startWaits(ctx, l, 1)
		if at := <-held[0]; at != time.Second {
			t.Errorf("Wait returned at %v, want 1s", at)
		}
		if at := <-next[0]; at != 2*time.Second {
			t.Errorf("Wait after the batch gave up returned at %v, want 2s: the batch gave back a token while a later one held its slot", at)
		}
		if diff := cmp.Diff([]int{0}, finish()); diff != "" {
			t.Errorf("stream (-want +got):\n%s", diff)
		}
	})
}

// TestSendBatchGivesBackLatestTokenLate: at 1/h with burst 2, Allow takes
// a token and a batch the other, then waits 10 minutes for room before its
// context ends. Its token is still the latest, so it comes back whole,
// though its time has passed: one token is there at 10m, as if the batch
// had never taken one (x/time/rate would keep it).
func TestSendBatchGivesBackLatestTokenLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, finish := fullSender(t)
		l := NewLimiter(Band{Events: 1, Interval: time.Hour, Burst: 2})
		l.Allow()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if n, err := SendBatch(ctx, s, l, []int{1}, RefuseOverLimit); n != 0 || err != context.DeadlineExceeded {
			t.Fatalf("SendBatch into a full buffer = %d, %v; want 0, %v", n, err, context.DeadlineExceeded)
		}
		if !l.Allow() {
			t.Error("Allow at 10m = false, want true: the batch kept the token of the value it did not send")
		}
		if l.Allow() {
			t.Error("second Allow at 10m = true, want false")
		}
		if diff := cmp.Diff([]int{0}, finish()); diff != "" {
			t.Errorf("stream (-want +got):\n%s", diff)
		}
	})
}

// fullSender returns a Sender of a started channel whose buffer of one is
// full, so that a Send waits until its context ends, and a function that
// shuts the channel down and returns what its stream held.
func fullSender(t *testing.T) (*Sender[int], func() []int) {
	t.Helper()
	c := New[int](1)
	stream := mustStart(t, c)
	s, _ := c.Sender()
	fill(t, c)
	return s, func() []int {
		mustShutdown(t, c)
		return drain(stream)
	}
}

// TestBandLimits: every band either works exactly (Burst tokens at once,
// then one each Interval/Events, rounded up) or is refused with a panic
// that states the largest Burst it could have. No band may overflow.
func TestBandLimits(t *testing.T) {
	for _, tc := range []struct {
		band     Band
		emission time.Duration // for a valid band
		most     int           // for a band with too large a Burst
	}{
		{band: Band{Events: 2, Interval: math.MaxInt64, Burst: 1}, emission: 1 << 62},
		{band: Band{Events: math.MaxInt64, Interval: math.MaxInt64, Burst: 1}, emission: 1},
		{band: Band{Events: 3_000_000_000, Interval: time.Second, Burst: 5}, emission: 1},
		{band: Band{Events: 1, Interval: 8760 * time.Hour, Burst: 100}, emission: 8760 * time.Hour},
		{band: Band{Events: 1, Interval: time.Hour, Burst: 1_000_000}, emission: time.Hour},
		{band: Band{Events: 1, Interval: 24 * time.Hour, Burst: 53_375}, emission: 24 * time.Hour},
		{band: Band{Events: 1, Interval: 24 * time.Hour, Burst: 53_376}, most: 53_375},
		{band: Band{Events: 1, Interval: 24 * time.Hour, Burst: 100_000}, most: 53_375},
		{band: Band{Events: 10, Interval: math.MaxInt64, Burst: 10}, most: 4},
		{band: Band{Events: 1, Interval: math.MaxInt64, Burst: 1}, most: 0},
		{band: Band{Events: 1, Interval: time.Nanosecond, Burst: math.MaxInt64}, most: 1 << 62},
	} {
		t.Run(fmt.Sprintf("%+v", tc.band), func(t *testing.T) {
			msg := panicMessage(func() { NewLimiter(tc.band) })
			if tc.emission == 0 {
				want := fmt.Sprintf("Burst may be at most %d", tc.most)
				if !strings.HasPrefix(msg, "fanin: NewLimiter") || !strings.Contains(msg, want) {
					t.Errorf("NewLimiter(%+v) panicked with %q, want a message saying %q", tc.band, msg, want)
				}
				return
			}
			if msg != "<no panic>" {
				t.Fatalf("NewLimiter(%+v) panicked with %q, want a limiter", tc.band, msg)
			}
			synctest.Test(t, func(t *testing.T) {
				l := NewLimiter(tc.band) // on the bubble's clock
				for i := range tc.band.Burst {
					if !l.Allow() {
						t.Fatalf("Allow %d of a full bucket of %d = false, want true", i, tc.band.Burst)
					}
				}
				if l.Allow() {
					t.Fatalf("Allow after %d = true, want false", tc.band.Burst)
				}
				start := time.Now()
				err := l.Wait(context.Background())
				if tc.emission > horizon {
					// The next token would come 2^62ns after NewLimiter.
					if err != ErrRateLimited || time.Since(start) != 0 {
						t.Errorf("Wait for a token at %v = %v after %v, want %v at once", tc.emission, err, time.Since(start), ErrRateLimited)
					}
					return
				}
				if err != nil || time.Since(start) != tc.emission {
					t.Errorf("Wait = %v after %v, want nil after %v", err, time.Since(start), tc.emission)
				}
			})
		})
	}
}

// TestKeyedLimiterRefusesKeysNotEqualToThemselves: a key that holds a NaN
// can never be found in a map again. Every such Take is refused with
// ErrInvalidKey; the limiter keeps no entry for it and charges no other
// key, for every kind of key that can hold a NaN.
func TestKeyedLimiterRefusesKeysNotEqualToThemselves(t *testing.T) {
	nan := math.NaN()
	type point struct {
		Name string
		X    float64
	}
	t.Run("float64", func(t *testing.T) { checkInvalidKey(t, 1.5, nan) })
	t.Run("float32", func(t *testing.T) { checkInvalidKey(t, float32(1.5), float32(nan)) })
	t.Run("complex128", func(t *testing.T) { checkInvalidKey(t, complex(1, 2), complex(1, nan)) })
	t.Run("struct", func(t *testing.T) { checkInvalidKey(t, point{"a", 1}, point{"a", nan}) })
	t.Run("array", func(t *testing.T) { checkInvalidKey(t, [2]float64{1, 2}, [2]float64{1, nan}) })
	t.Run("interface", func(t *testing.T) { checkInvalidKey[any](t, "a", nan) })
	t.Run("interface holding a struct", func(t *testing.T) { checkInvalidKey[any](t, point{"a", 1}, point{"a", nan}) })
}

func checkInvalidKey[K comparable](t *testing.T, good, bad K) {
	t.Helper()
	k := NewKeyedLimiter[K](10, Band{Events: 1, Interval: time.Hour, Burst: 2})
	if !k.Allow(good) {
		t.Fatalf("Allow(%v) = false, want true", good)
	}
	wrong := 0
	for range 10_000 {
		if retry, err := k.Take(bad); err != ErrInvalidKey || retry != 0 {
			if wrong++; wrong == 1 {
				t.Errorf("Take(%v) = %v, %v; want 0, %v", bad, retry, err, ErrInvalidKey)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of 10,000 Takes of %v were not refused with %v", wrong, bad, ErrInvalidKey)
	}
	if k.Allow(bad) {
		t.Errorf("Allow(%v) = true, want false", bad)
	}
	if got := k.Len(); got != 1 || len(k.slots) != 1 || len(k.heap) != 1 {
		t.Errorf("after 10,000 Takes of %v: Len = %d, map %d, heap %d; want 1 each", bad, got, len(k.slots), len(k.heap))
	}
	if !k.Allow(good) {
		t.Errorf("second Allow(%v) = false, want true: an invalid key was charged to its bucket", good)
	}
}

// TestKeyedLimiterClockEnds: with the slowest band there is (one token
// each 2^62ns, burst 1), a key may take its token at the last instant the
// clock allows, and then waits 2^62ns; one instant later every key is
// refused, where the band's clock would overflow.
func TestKeyedLimiterClockEnds(t *testing.T) {
	k := NewKeyedLimiter[string](2, Band{Events: 2, Interval: math.MaxInt64, Burst: 1})
	if retry, err := k.takeAt("a", horizon); err != nil {
		t.Fatalf("Take(a) at the last instant = %v, %v; want nil", retry, err)
	}
	if retry, err := k.takeAt("a", horizon); err != ErrRateLimited || retry != 1<<62 {
		t.Errorf("second Take(a) = %v, %v; want %v, %v", retry, err, time.Duration(1<<62), ErrRateLimited)
	}
	if retry, err := k.takeAt("b", horizon+1); err != ErrRateLimited || retry <= 0 {
		t.Errorf("Take(b) after the last instant = %v, %v; want a positive retry and %v", retry, err, ErrRateLimited)
	}
	if got := k.Len(); got != 1 {
		t.Errorf("Len = %d, want 1", got)
	}
}

// TestLimiterStatsCountWhatHappened checks that a Limiter counts tokens
// kept and refusals, and that a token given back is not counted.
func TestLimiterStatsCountWhatHappened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lim := NewLimiter(Band{Events: 1, Interval: time.Second, Burst: 2})
		lim.Allow()
		lim.Allow()
		if lim.Allow() {
			t.Fatal("third Allow = true, want false: the burst is 2")
		}
		// A Wait whose deadline comes before the token is refused at once.
		ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		if err := lim.Wait(ctx); err != ErrRateLimited {
			t.Fatalf("Wait = %v, want ErrRateLimited", err)
		}
		cancel()
		// A Wait canceled while it waits gives its token back.
		ctx, cancel = context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- lim.Wait(ctx) }()
		synctest.Wait()
		// While it waits, its token is not counted: it may yet be given
		// back, and Allowed is a counter, which must never fall.
		if got := lim.Stats().Allowed; got != 2 {
			t.Errorf("Allowed while a Wait waits = %d, want 2", got)
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Fatalf("Wait = %v, want context.Canceled", err)
		}
		// SendBatch's token for a value the sink refused is not counted,
		// at any moment; the token of a value sent is.
		time.Sleep(2 * time.Second) // the fake clock: the bucket refills
		c := New[int](1)
		if _, err := c.Start(); err != nil {
			t.Fatal(err)
		}
		s, _ := c.Sender()
		batchDone := make(chan error)
		go func() {
			_, err := SendBatch(t.Context(), s, lim, []int{1, 2}, WaitForTokens)
			batchDone <- err
		}()
		synctest.Wait() // 1 is in the buffer; 2 has its token and waits for room
		if got := lim.Stats().Allowed; got != 3 {
			t.Errorf("Allowed while SendBatch waits for room = %d, want 3", got)
		}
		c.Shutdown(t.Context())
		if err := <-batchDone; err != ErrClosed {
			t.Fatalf("SendBatch = %v, want ErrClosed", err)
		}
		want := LimiterStats{Allowed: 3, RateLimited: 2}
		if got := lim.Stats(); got != want {
			t.Errorf("Stats() = %+v, want %+v", got, want)
		}
		var zero *Limiter
		if got := zero.Stats(); got != (LimiterStats{}) {
			t.Errorf("nil Limiter Stats() = %+v, want zero", got)
		}
	})
}

// TestKeyedLimiterStatsCountEachRefusal checks each reason a KeyedLimiter
// counts, and its gauge of keys.
func TestKeyedLimiterStatsCountEachRefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := NewKeyedLimiter[float64](1, Band{Events: 1, Interval: time.Second, Burst: 1})
		if _, err := k.Take(1); err != nil {
			t.Fatalf("Take(1) = %v, want nil", err)
		}
		if _, err := k.Take(1); err != ErrRateLimited {
			t.Fatalf("second Take(1) = %v, want ErrRateLimited", err)
		}
		if _, err := k.Take(2); err != ErrTooManyKeys {
			t.Fatalf("Take(2) = %v, want ErrTooManyKeys", err)
		}
		if _, err := k.Take(math.NaN()); err != ErrInvalidKey {
			t.Fatalf("Take(NaN) = %v, want ErrInvalidKey", err)
		}
		want := LimiterStats{Allowed: 1, RateLimited: 1, TooManyKeys: 1, InvalidKey: 1, Keys: 1}
		if got := k.Stats(); got != want {
			t.Errorf("Stats() = %+v, want %+v", got, want)
		}
	})
}
