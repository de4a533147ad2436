package fanin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrRateLimited is returned when a rate limit refuses a value: by
	// [SendBatch] with [RefuseOverLimit], by [Limiter.Wait] and SendBatch
	// with [WaitForTokens] when the token would come only after the
	// context's deadline (or 2^62ns or more after the limiter was made),
	// and by [KeyedLimiter.Take]. Nothing was sent and no token was taken.
	ErrRateLimited = errors.New("fanin: rate limited")

	// ErrTooManyKeys is returned by [KeyedLimiter.Take] for a new key when
	// every slot holds a bucket that has not yet refilled, so that no key
	// can be evicted without being handed tokens it has not earned.
	ErrTooManyKeys = errors.New("fanin: too many rate-limited keys")

	// ErrInvalidKey is returned by [KeyedLimiter.Take] for a key that is
	// not equal to itself: a floating-point NaN, or an array, struct or
	// interface value that holds one. A map can never find such a key
	// again, so it gets no bucket; nothing is taken from any key.
	ErrInvalidKey = errors.New("fanin: rate-limit key is not equal to itself (a NaN)")
)

// A Band is one limit of a [Limiter]: tokens refill at Events per Interval,
// and at most Burst of them accumulate. "100 a minute, in bursts of up to
// 10" is Band{Events: 100, Interval: time.Minute, Burst: 10}.
//
// A band earns one token every Interval/Events, rounded up to the
// nanosecond, so rounding never allows more than was asked for, and no
// band earns more than one token a nanosecond. Events, Interval and Burst
// must be positive, and a band must refill from empty within 2^62
// nanoseconds (about 146 years): Burst times the time per token must be
// at most 2^62ns. At one token a second Burst may be up to 4,611,686,018;
// at one an hour, 1,281,023; at one a day, 53,375.
type Band struct {
	Events   int
	Interval time.Duration
	Burst    int
}

// band is a Band in the form the algorithm uses.
type band struct {
	emission  time.Duration // time to earn one token: Interval/Events, rounded up
	tolerance time.Duration // how far ahead of now a band may be: (Burst-1)*emission
}

// Times are int64 nanoseconds since a limiter was made, and no sum of them
// may overflow. A band's tat is never more than Burst*emission after the
// time of the last token it granted (see spend), so a limiter refuses
// bands that take longer than maxSpan to refill, and grants no token for
// a time after horizon: then every tat is at most horizon+maxSpan, which
// is MaxInt64. The split gives each side about 146 years. Saturating
// arithmetic was rejected: a tat that stops growing lets events through.
const (
	maxSpan = time.Duration(1 << 62)
	horizon = time.Duration(math.MaxInt64) - maxSpan
)

func newBands(caller string, bs []Band) []band {
	if len(bs) == 0 {
		panic("fanin: " + caller + " called with no bands")
	}
	out := make([]band, len(bs))
	for i, b := range bs {
		if b.Events <= 0 || b.Interval <= 0 || b.Burst <= 0 {
			panic(fmt.Sprintf("fanin: %s: band %d is %+v; Events, Interval and Burst must be positive", caller, i, b))
		}
		// Rounding up errs on the side of fewer events, never more. The
		// quotient and remainder cannot overflow, as Interval+Events-1
		// can.
		e := b.Interval / time.Duration(b.Events)
		if b.Interval%time.Duration(b.Events) != 0 {
			e++
		}
		if most := int64(maxSpan / e); int64(b.Burst) > most {
			panic(fmt.Sprintf("fanin: %s: band %d is %+v; at %v a token, Burst may be at most %d: a band must refill from empty within 2^62ns (about 146 years)", caller, i, b, e, most))
		}
		out[i] = band{emission: e, tolerance: time.Duration(b.Burst-1) * e}
	}
	return out
}

// The buckets are kept as the generic cell rate algorithm keeps them, which
// is the token bucket in another form: each band holds tat, the time at
// which it will be full again. A band allows an event at now if
// tat-now <= tolerance, and the event moves tat to max(tat, now)+emission.
// One integer per band, exact in nanoseconds, with no refill step.
//
// earliest returns the first time at or after now at which every band
// allows one event.
func earliest(bands []band, tats []time.Duration, now time.Duration) time.Duration {
	at := now
	for i, b := range bands {
		at = max(at, tats[i]-b.tolerance)
	}
	return at
}

// spend charges one event at time at, which must not be before earliest,
// to every band. Charging every band as of the same instant is what makes
// a multi-band token atomic and exact: a band that is not the bottleneck
// pays as of the moment the event happens, not the moment it was reserved.
// As at >= tats[i]-tolerance, the new tat is at most at+Burst*emission.
func spend(bands []band, tats []time.Duration, at time.Duration) {
	for i, b := range bands {
		tats[i] = max(tats[i], at) + b.emission
	}
}

// A Limiter is a token bucket with one or more bands, such as "100 a
// minute and 5000 an hour". Each event takes one token from every band at
// once: all bands pay or none does. [Limiter.Allow] takes a token if one is
// there; [Limiter.Wait] waits for one; [SendBatch] takes one right before
// each value of a batch, which is what most adapters want.
//
// A token taken for an event that then does not happen (a Wait whose
// context ends, a value SendBatch could not send) is given back if it is
// the latest token still held: every band returns exactly to where it was
// before the token was taken, as if it never had been. If a token taken
// after it is still held, nothing is given back and the token is spent:
// the later token's time was chosen as though this one were used, and
// moving the bands back would let two events share one token's slot. So a
// give-back never lets an event through earlier than a bucket that never
// saw the unsent event would.
//
// The lock of a Limiter is held only while a token is taken or given
// back: never while a caller waits, and never across a send.
//
// A Limiter keeps time as nanoseconds since [NewLimiter]; it grants no
// token for a time 2^62ns (about 146 years) or more after that.
//
// [Limiter.Stats] counts the tokens kept and the refusals: a refusal under
// the lock a take already holds, a token once it can no longer be given
// back, so that neither count ever falls.
//
// The zero Limiter, and a nil *Limiter, have no bands and allow every event.
// A Limiter is safe for simultaneous use by multiple goroutines and must not
// be copied after first use.
type Limiter struct {
	bands []band    // read-only after NewLimiter
	base  time.Time // times are durations since base

	mu      sync.Mutex
	tats    []time.Duration // per band; guarded by mu
	refused uint64          // takes refused: no token in time; guarded by mu

	// allowed counts tokens kept: a token that may still be given back
	// (Wait's before it returns, SendBatch's before its value is placed)
	// is counted only once it is kept, so that the counter never falls.
	allowed atomic.Uint64
}

// LimiterStats are the counts of a [Limiter] or a [KeyedLimiter] since it
// was made, in the spirit of database/sql's DBStats: counters that only
// grow, and Keys, a gauge of the moment.
type LimiterStats struct {
	// Allowed counts tokens taken and kept: Allow and Take calls that
	// succeeded, Waits that returned nil, values SendBatch sent. A token
	// given back (see [Limiter]) is not counted.
	Allowed uint64
	// RateLimited counts refusals for want of a token: Allow false, Take
	// or Wait returning [ErrRateLimited].
	RateLimited uint64
	TooManyKeys uint64 // KeyedLimiter.Take refused a new key: ErrTooManyKeys
	InvalidKey  uint64 // KeyedLimiter.Take refused a key: ErrInvalidKey
	Keys        int    // keys that have a bucket now (KeyedLimiter only)
}

// NewLimiter returns a Limiter with the given bands, each full. It panics if
// no band is given, or if a band is not valid (see [Band]): Events,
// Interval or Burst not positive, or a refill from empty that takes longer
// than 2^62ns. The message states the largest Burst the band could have.
func NewLimiter(bands ...Band) *Limiter {
	return &Limiter{
		bands: newBands("NewLimiter", bands),
		base:  time.Now(),
		tats:  make([]time.Duration, len(bands)),
	}
}

func (l *Limiter) now() time.Duration { return time.Since(l.base) }

// Allow takes a token from every band and reports true if each band has
// one now; otherwise it takes nothing and reports false.
func (l *Limiter) Allow() bool {
	if l == nil || l.bands == nil {
		return true
	}
	now := l.now()
	_, ok := l.take(now, now, nil)
	return ok
}

// A grant is a token taken by take, with what giveBack needs: the time it
// was taken for and every band's tat from just before.
type grant struct {
	at   time.Duration
	prev []time.Duration
}

// take takes a token for the first time at or after now at which every
// band has one, if that time is at most limit, and returns that time. If
// prev is not nil it receives each band's tat from before, for giveBack,
// and the caller counts the token with kept once it cannot be given back.
// A refused take changes no band; it is counted.
func (l *Limiter) take(now, limit time.Duration, prev []time.Duration) (at time.Duration, ok bool) {
	// Allow comes here for every event, so the lock is released without a
	// defer, and prev is copied only if given: copying into nil still
	// calls memmove.
	l.mu.Lock()
	at = earliest(l.bands, l.tats, now)
	ok = at <= min(limit, horizon)
	if ok {
		if prev != nil {
			copy(prev, l.tats)
		}
		spend(l.bands, l.tats, at)
		if prev == nil {
			l.allowed.Add(1) // nothing can give this token back
		}
	} else {
		l.refused++
	}
	l.mu.Unlock()
	return at, ok
}

// giveBack gives back the token of g, for an event that did not happen,
// if it is the latest token still held, and reports whether it did.
//
// The test is exact. Every take moves every tat strictly forward, and
// every give-back restores the tats from before a take, so a band's tat
// equals the value g's take left, max(prev, at)+emission, if and only if
// every token taken after g has been given back; otherwise it is further
// ahead. Then the tats go back to prev, and the limiter is as if g had
// never been taken. golang.org/x/time/rate applies the same rule to a
// canceled reservation (restore only what no later reservation depends
// on), and for a single band, canceled waits included, the two agree. They
// differ only for a token whose time has already come, which SendBatch
// gives back after a failed send: x/time/rate restores nothing once a
// reservation's time has passed, and only part of a token once a Wait
// due less than a token's time away was canceled after it, where this
// restores the whole token if it is still the latest; and x/time/rate
// restores a token that a later one took at the same instant, where this
// keeps it. Each difference is exact or errs toward fewer events.
// Restoring only the latest keeps the state at one integer per band:
// tracking every token held, to give back any of them where that is safe,
// was rejected as too much state for a rare case.
func (l *Limiter) giveBack(g grant) bool {
	if l == nil || l.bands == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, b := range l.bands {
		if l.tats[i] != max(g.prev[i], g.at)+b.emission {
			return false
		}
	}
	copy(l.tats, g.prev)
	return true
}

// newGrant returns a grant with room for the tats of l's bands, in buf if
// it is large enough, so that a Wait on a limiter of a few bands does not
// allocate.
func (l *Limiter) newGrant(buf []time.Duration) grant {
	if l == nil {
		return grant{}
	}
	if len(l.bands) > cap(buf) {
		buf = make([]time.Duration, len(l.bands))
	}
	return grant{prev: buf[:len(l.bands)]}
}

// Stats returns the counts of l. A Limiter without bands takes no tokens
// and counts nothing.
func (l *Limiter) Stats() LimiterStats {
	if l == nil {
		return LimiterStats{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return LimiterStats{Allowed: l.allowed.Load(), RateLimited: l.refused}
}

// kept counts a token taken with a grant, once it can no longer be given
// back.
func (l *Limiter) kept() {
	if l != nil && l.bands != nil {
		l.allowed.Add(1)
	}
}

// allow is Allow that records in g, made by newGrant, the token it takes.
func (l *Limiter) allow(g *grant) bool {
	if l == nil || l.bands == nil {
		return true
	}
	now := l.now()
	at, ok := l.take(now, now, g.prev)
	g.at = at
	return ok
}

// Wait takes a token from every band, waiting until each band has one.
// It returns nil once the token is taken. If ctx ends first it returns
// ctx.Err() and gives the token back if no token taken after it is still
// held (see [Limiter]). If ctx has a deadline before the token would come,
// Wait returns [ErrRateLimited] at once, without waiting and without
// taking anything; so does a token that would come 2^62ns or more after
// [NewLimiter].
func (l *Limiter) Wait(ctx context.Context) error {
	var buf [4]time.Duration
	g := l.newGrant(buf[:])
	err := l.wait(ctx, nil, &g)
	if err == nil {
		l.kept()
	}
	return err
}

// wait is Wait that also ends, with ErrClosed, when stop is closed, and
// records in g, made by newGrant, the token it takes.
func (l *Limiter) wait(ctx context.Context, stop <-chan struct{}, g *grant) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if l == nil || l.bands == nil {
		return nil
	}
	now := l.now()
	limit := time.Duration(math.MaxInt64)
	if d, ok := ctx.Deadline(); ok {
		limit = d.Sub(l.base)
	}

	// The token is taken now, for time at, so that waiters are served in
	// the order they asked; take releases the lock before the wait.
	at, ok := l.take(now, limit, g.prev)
	if !ok {
		return ErrRateLimited
	}
	g.at = at
	if at <= now {
		return nil
	}
	t := time.NewTimer(at - now)
	defer t.Stop()
	var err error
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-stop:
		err = ErrClosed
	}
	l.giveBack(*g)
	return err
}

// A BatchPolicy says what [SendBatch] does when the limiter has no token
// for the next value.
type BatchPolicy int

const (
	// WaitForTokens waits for the token, until ctx ends or the run is
	// shut down.
	WaitForTokens BatchPolicy = iota
	// RefuseOverLimit stops at once with ErrRateLimited.
	RefuseOverLimit
)

// SendBatch sends the values of batch through s, in order, taking one token
// from lim right before each value. The lock of lim is held only while a
// token is taken, never while waiting or sending, so a batch never holds up
// the limiter's other users, and Shutdown of s's run ends the batch promptly
// with [ErrClosed], whether it is waiting for a token or for room in the
// buffer. A nil lim limits nothing.
//
// SendBatch returns n, the number of values accepted, which are always
// batch[:n], and the reason it stopped: nil when n == len(batch);
// otherwise [ErrRateLimited] (over the limit with [RefuseOverLimit], or no
// token before ctx's deadline), ctx.Err(), ErrClosed or [ErrNotStarted].
// A caller that retries exactly batch[n:] delivers every value once. The
// token taken for a value that was not sent is given back if no token
// taken after it is still held (see [Limiter]).
func SendBatch[T any](ctx context.Context, s Sink[T], lim *Limiter, batch []T, policy BatchPolicy) (n int, err error) {
	if len(batch) > 0 && s == nil {
		return 0, ErrNotStarted
	}
	var stop <-chan struct{}
	if len(batch) > 0 {
		stop = s.Done()
	}
	var buf [4]time.Duration
	g := lim.newGrant(buf[:])
	for i, v := range batch {
		if policy == RefuseOverLimit {
			if !lim.allow(&g) {
				countRateLimited(s)
				return i, ErrRateLimited
			}
		} else if err := lim.wait(ctx, stop, &g); err != nil {
			if err == ErrRateLimited {
				countRateLimited(s)
			}
			return i, err
		}
		if err := s.Send(ctx, v); err != nil {
			lim.giveBack(g)
			return i, err
		}
		lim.kept()
	}
	return len(batch), nil
}

// A KeyedLimiter keeps one [Limiter]-like bucket per key (a caller, an
// adapter, a remote address), all with the same bands, in bounded memory:
// at most maxKeys buckets exist at once, allocated as keys arrive.
//
// A new key takes a free slot, or else the slot of a bucket that has
// refilled to full, which is indistinguishable from a new one, so eviction
// never hands a key more than it would have had. When every slot holds a
// bucket that is not yet full, the new key is refused with
// [ErrTooManyKeys] rather than reset an active one.
//
// A key must be equal to itself to have a bucket: Take refuses a key that
// holds a floating-point NaN with [ErrInvalidKey], so that no key can grow
// the map. A key whose dynamic type is not comparable (an interface
// holding a slice, say) panics, as it would as a map key. Like [Limiter],
// a KeyedLimiter grants no token 2^62ns (about 146 years) or more after it
// was made.
//
// [KeyedLimiter.Stats] counts what Take allowed and refused, by reason.
//
// A KeyedLimiter is safe for simultaneous use by multiple goroutines and
// must not be copied after first use. Its zero value is not usable; call
// [NewKeyedLimiter].
type KeyedLimiter[K comparable] struct {
	bands   []band // read-only after NewKeyedLimiter
	base    time.Time
	maxKeys int

	mu    sync.Mutex
	slots map[K]int32     // slot of each live key; guarded by mu
	heap  []keySlot[K]    // every slot, soonest full first; guarded by mu
	tats  []time.Duration // len(bands) per slot; guarded by mu
	stats LimiterStats    // counters; Keys is len(slots); guarded by mu
}

// keySlot is one key's bucket. The slots form a binary min-heap ordered by
// full, so that the bucket that will be full soonest is found at the root.
type keySlot[K comparable] struct {
	key  K
	full time.Duration // at most the time every band of the bucket is full: its latest tat
	tats int           // offset of the bucket's bands in KeyedLimiter.tats
}

// NewKeyedLimiter returns a KeyedLimiter that keeps at most maxKeys
// buckets, each with the given bands. It panics if maxKeys is not
// positive, if no band is given, or if a band is not valid for
// [NewLimiter].
func NewKeyedLimiter[K comparable](maxKeys int, bands ...Band) *KeyedLimiter[K] {
	if maxKeys <= 0 || maxKeys > math.MaxInt32 {
		panic(fmt.Sprintf("fanin: NewKeyedLimiter called with maxKeys %d; it must be in [1, %d]", maxKeys, math.MaxInt32))
	}
	return &KeyedLimiter[K]{
		bands:   newBands("NewKeyedLimiter", bands),
		base:    time.Now(),
		maxKeys: maxKeys,
		slots:   make(map[K]int32),
	}
}

// Allow reports whether key may have an event now, and takes its token if
// so. It is Take without the reason.
func (k *KeyedLimiter[K]) Allow(key K) bool {
	_, err := k.Take(key)
	return err == nil
}

// Take takes a token from key's bucket. It returns nil if the bucket had
// one; otherwise [ErrRateLimited], or [ErrTooManyKeys] for a key that has
// no bucket and no room for one, with retryAfter, the time until a retry
// could succeed if nobody else took its place (an HTTP handler's
// Retry-After); or [ErrInvalidKey], with retryAfter 0, for a key that is
// not equal to itself, which no retry makes valid. A refused call takes
// nothing.
func (k *KeyedLimiter[K]) Take(key K) (retryAfter time.Duration, err error) {
	return k.takeAt(key, time.Since(k.base))
}

func (k *KeyedLimiter[K]) takeAt(key K, now time.Duration) (time.Duration, error) {
	// A key that is not equal to itself (a NaN) would be stored in the map
	// and never found again, or deleted: every Take would add an entry.
	// For key types without floats the compiler drops the comparison.
	if key != key {
		k.mu.Lock()
		k.stats.InvalidKey++
		k.mu.Unlock()
		return 0, ErrInvalidKey
	}
	nb := len(k.bands)
	k.mu.Lock()
	defer k.mu.Unlock()
	if now > horizon {
		k.stats.RateLimited++
		return time.Duration(math.MaxInt64), ErrRateLimited
	}
	pos, ok := k.slots[key]
	if !ok {
		switch {
		case len(k.heap) < k.maxKeys:
			pos = int32(len(k.heap))
			k.heap = append(k.heap, keySlot[K]{key: key, tats: len(k.tats)})
			k.tats = append(k.tats, make([]time.Duration, nb)...)
			k.slots[key] = pos
			// A record of 0 is at most any full time. Records change only
			// once every slot is in use, so this fix finds the heap in
			// order at once; it is here so that no future change can
			// leave a new slot out of place.
			k.fix(int(pos))
			pos = k.slots[key]
		default:
			if full := k.soonestFull(); full > now {
				k.stats.TooManyKeys++
				return full - now, ErrTooManyKeys
			}
			// The root's bucket is full, so its bands' tats are at or
			// before now: a full bucket for the new key too.
			delete(k.slots, k.heap[0].key)
			k.heap[0].key = key
			pos = 0
			k.slots[key] = pos
		}
	}
	tats := k.tats[k.heap[pos].tats:][:nb]
	if at := earliest(k.bands, tats, now); at > now {
		k.stats.RateLimited++
		return at - now, ErrRateLimited
	}
	spend(k.bands, tats, now)
	k.stats.Allowed++
	// The slot's full time grew, but its place in the heap is fixed only
	// when an eviction needs the root (see soonestFull): a key that is
	// merely allowed costs a map lookup, not a heap walk.
	return 0, nil
}

// soonestFull returns the earliest time at which some bucket is full, and
// brings that bucket to the root of the heap. The heap records for each
// slot a time that is at most its true full time, because Take lets it go
// stale as it spends; so the root is checked, and while its record is
// stale it is corrected and sifted down. Each correction pays for one Take
// that skipped its own. It requires that k.mu is held.
func (k *KeyedLimiter[K]) soonestFull() time.Duration {
	for {
		root := &k.heap[0]
		full := root.full
		for _, t := range k.tats[root.tats:][:len(k.bands)] {
			full = max(full, t)
		}
		if full == root.full {
			return full
		}
		root.full = full
		k.fix(0)
	}
}

// fix restores heap order after heap[i].full changed, and records in slots
// the new position of every slot that moved. It requires that k.mu is held.
func (k *KeyedLimiter[K]) fix(i int) {
	h := k.heap
	for i > 0 {
		p := (i - 1) / 2
		if h[p].full <= h[i].full {
			break
		}
		h[i], h[p] = h[p], h[i]
		k.slots[h[i].key] = int32(i)
		i = p
	}
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		j := l
		if r := l + 1; r < len(h) && h[r].full < h[l].full {
			j = r
		}
		if h[j].full >= h[i].full {
			break
		}
		h[i], h[j] = h[j], h[i]
		k.slots[h[i].key] = int32(i)
		i = j
	}
	k.slots[h[i].key] = int32(i)
}

// Len returns the number of keys that have a bucket.
func (k *KeyedLimiter[K]) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.slots)
}

// Stats returns the counts of k, and the keys that have a bucket now.
func (k *KeyedLimiter[K]) Stats() LimiterStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := k.stats
	st.Keys = len(k.slots)
	return st
}

// rateCounter is implemented by the sinks of this package that keep
// Stats: a refusal by the limiter is counted where the sink's other
// refusals are.
type rateCounter interface{ countRateLimited() }

func countRateLimited[T any](s Sink[T]) {
	if c, ok := s.(rateCounter); ok {
		c.countRateLimited()
	}
}
