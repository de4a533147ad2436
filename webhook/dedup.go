package webhook

import (
	"hash/maphash"
	"math"
	"net/http"
	"sync"
	"time"
)

// maxKeptReplyBytes bounds the replies the table of recent deliveries
// keeps, all together, to answer repeats of deliveries that waited for a
// reply. A reply that does not fit is not kept; see keep.
const maxKeptReplyBytes = 1 << 20

// dedupKey identifies a delivery: 128 bits of two seeded hashes of its ID
// (and, for an ID no signature covers, of its body), so that an entry has
// a fixed size whatever the ID's length, and two deliveries collide with
// probability about n²/2¹²⁹.
type dedupKey [2]uint64

// A recent is one delivery in the table: in flight until its first request
// has an outcome, then kept until it expires if it entered the stream.
// Every field but key and body is guarded by dedup.mu until done is
// closed; after that the outcome fields are never written again.
type recent struct {
	key     dedupKey
	body    uint64        // hash of the body, to spot an ID reused for another body
	signed  bool          // its ID is covered by a signature
	expires int64         // Unix nanoseconds; set when kept
	until   int64         // the latest Delivery.Expires of its copies so far, Unix nanoseconds
	born    int64         // when the request that made it arrived, Unix nanoseconds
	idx     int           // its index in the heap; -1 when not there
	prev    *recent       // the expired entry it superseded, if that was still in the heap
	done    chan struct{} // closed when the outcome is known; then closedChan
	out     outcome
}

// An outcome is the answer to a request: what the first request of a
// delivery got, and what its repeats get.
type outcome struct {
	code     int
	ans      answer
	retry    time.Duration // sent as Retry-After when positive
	inStream bool          // the message entered the stream
}

// closedChan replaces the done channel of an entry once it is closed, so
// that a kept entry does not hold a channel of its own.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// dedup is the table of recent deliveries. It holds at most max entries,
// in flight and kept together; kept entries also sit in a binary min-heap
// by expiry, so that expiring is popping the heap's root.
//
// A delivery is looked up once its body is read, which may be up to the
// handler's ReadTimeout after it arrived; whether it is a repeat is judged
// at its arrival. So an entry stays in the heap for grace (ReadTimeout)
// after it expires, and a request that arrived after an entry expired
// finds it expired: it supersedes it in the map, and the old entry, still
// in the heap, counts against max until it is popped. Judging at the
// lookup instead let a replay that arrived while its delivery was
// remembered, and trickled its body in, find it forgotten. A FIFO queue
// would be cheaper with a fixed window, but a verifier's Expires can keep
// one entry longer than those after it, and a FIFO would then hold every
// later entry behind it.
//
// The table refuses a new ID when it is full of entries that have not
// expired, rather than forget one early: forgetting could let a replay
// through, refusing makes the sender retry later. Entries whose IDs no
// signature covers may take only half of it, so that a holder of a
// captured request, who can make up such IDs at will, cannot fill the
// table and have a delivery with a signed ID refused.
type dedup struct {
	window time.Duration
	grace  time.Duration // how long after its arrival a request may look up
	max    int
	idSeed [2]maphash.Seed
	body   maphash.Seed

	mu      sync.Mutex
	entries map[dedupKey]*recent // guarded by mu
	heap    []*recent            // kept entries, soonest to expire first; guarded by mu
	flying  int                  // entries in flight; guarded by mu
	open    int                  // entries, in flight or kept, whose IDs no signature covers; guarded by mu
	kept    int                  // bytes of replies kept; guarded by mu
}

func newDedup(window, grace time.Duration, max int) *dedup {
	return &dedup{
		window:  window,
		grace:   grace,
		max:     max,
		idSeed:  [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		body:    maphash.MakeSeed(),
		entries: make(map[dedupKey]*recent),
	}
}

// key returns the key of a delivery with the given ID and body hash. An
// ID that the scheme signs with the body names one delivery, whatever the
// body: another body under it is a conflict. An ID that no signature
// covers is taken with its body, so that a holder of a captured request,
// who can send its body under any ID, cannot spoil another delivery's ID.
func (d *dedup) key(signed bool, id string, bodyHash uint64) dedupKey {
	var k dedupKey
	for i, seed := range d.idSeed {
		var h maphash.Hash
		h.SetSeed(seed)
		if signed {
			h.WriteByte(1)
		} else {
			h.WriteByte(0)
			var b [8]byte
			for j := range b {
				b[j] = byte(bodyHash >> (8 * j))
			}
			h.Write(b[:])
		}
		h.WriteString(id)
		k[i] = h.Sum64()
	}
	return k
}

// A claim is the result of looking a delivery up.
type claim int

const (
	claimFirst    claim = iota // a new delivery: the caller must call finish
	claimRepeat                // a delivery seen before: wait on done, then read out
	claimConflict              // the ID was used for another body
	claimFull                  // no room: retry after the returned duration
	claimLate                  // the request arrived more than grace ago
)

// claim looks up the delivery with key k and a body hashing to bodyHash,
// as of arrived, the time its request arrived, and registers it as in
// flight if it is new. now is the clock, read under the table's lock so
// that lookups see time in one order; a request that arrived more than
// grace before now is not looked up (claimLate). signed says that the ID
// is covered by a signature; until is the request's own Delivery.Expires:
// a repeat with a signed ID that is fresh longer than the delivery's first
// copy keeps the delivery in the table that much longer, so that a replay
// of the repeat finds it too.
func (d *dedup) claim(k dedupKey, bodyHash uint64, signed bool, until, arrived time.Time, now func() time.Time) (*recent, <-chan struct{}, claim, time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	nowNs := now().UnixNano()
	arrivedNs := arrived.UnixNano()
	if nowNs-arrivedNs > int64(d.grace) {
		return nil, nil, claimLate, 0
	}
	// Entries that expired more than grace ago cannot matter to any
	// request still allowed to look up: it arrived after they expired.
	d.expire(nowNs - int64(d.grace))
	e, ok := d.entries[k]
	// A request is judged against the entry that was current when it
	// arrived: one that a later copy superseded while this request's body
	// was read is still in the heap, and still answers it.
	for ok && e.born > arrivedNs && e.prev != nil && e.prev.idx >= 0 && e.prev.expires > arrivedNs {
		e = e.prev
	}
	if ok && (e.expires == 0 || e.expires > arrivedNs) {
		if e.body != bodyHash {
			return nil, nil, claimConflict, 0
		}
		if signed && !until.IsZero() {
			// Only a signed ID's Expires, which its signature binds to
			// a timestamp, may keep it longer: another verifier's could
			// keep an ID for ever, one repeat after another.
			d.extend(e, until, nowNs)
		}
		return e, e.done, claimRepeat, 0
	}
	// A new delivery; expire has made what room time allows.
	if len(d.heap)+d.flying >= d.max || (!signed && d.open >= max(1, d.max/2)) {
		retry := time.Second
		if len(d.heap) > 0 {
			retry = max(retry, time.Duration(d.heap[0].expires+int64(d.grace)-nowNs))
		}
		return nil, nil, claimFull, retry
	}
	n := &recent{key: k, body: bodyHash, signed: signed, born: arrivedNs, idx: -1, done: make(chan struct{})}
	if ok && e.idx >= 0 {
		n.prev = e // restored if n is refused: later lookups may still need it
	}
	d.entries[k] = n // supersedes an entry that expired before the request arrived
	d.flying++
	if !signed {
		d.open++
	}
	return n, n.done, claimFirst, 0
}

// extend keeps entry e until at least until, within maxExtension of now
// (Unix nanoseconds): for an entry in flight, once it is kept; for a kept
// one, at once. It requires that d.mu is held.
func (d *dedup) extend(e *recent, t time.Time, now int64) {
	until := unixNano(time.Unix(0, now).Add(maxExtension))
	if t.Before(time.Unix(0, until)) {
		until = t.UnixNano() // in range: no overflow
	}
	if e.expires == 0 {
		e.until = max(e.until, until)
		return
	}
	if until > e.expires && e.idx >= 0 {
		e.expires = until
		d.down(e.idx)
	}
}

// maxExtension bounds how far a verifier's Delivery.Expires can keep an
// entry beyond the window, so that a wrong Expires cannot hold a slot for
// ever.
const maxExtension = 24 * time.Hour

// finish records the outcome of e's first request and wakes its repeats.
// If keep, e stays in the table until the later of now plus the window and
// until (but at most maxExtension more); otherwise it is removed, so that
// a retry is a new delivery.
func (d *dedup) finish(e *recent, out outcome, keep bool, now, until time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.flying--
	if keep {
		// Repeats get what is true of the delivery, which is the first
		// answer but in two cases. A first caller that left before the
		// reply was answered 499 canceled, which a repeat's own caller did
		// not do. A reply is kept only while the budget allows. In both
		// the repeat is told that the message is in the stream and that
		// its reply is not here: "replied" with no reply would be untrue.
		switch n := len(out.ans.Response); {
		case out.code == statusClientClosed:
			out = notKept(out, "the first caller left before the reply")
		case n > 0 && d.kept+n <= maxKeptReplyBytes:
			d.kept += n
		case n > 0:
			out = notKept(out, "the reply is not kept for repeated deliveries")
		}
		end := now.Add(d.window)
		if e.until != 0 && time.Unix(0, e.until).After(until) {
			until = time.Unix(0, e.until) // a repeat's, fresh for longer
		}
		if until.After(end) {
			end = until
			if limit := now.Add(d.window).Add(maxExtension); end.After(limit) {
				end = limit
			}
		}
		e.expires = unixNano(end)
		d.push(e)
	} else {
		if d.entries[e.key] == e {
			if p := e.prev; p != nil && p.idx >= 0 {
				// A request that arrived before p expired may still look
				// it up: this one superseded it, and no longer does.
				d.entries[e.key] = p
			} else {
				delete(d.entries, e.key)
			}
		}
		if !e.signed {
			d.open--
		}
	}
	e.out = out
	// Closing never blocks; repeats read e.out after it, which the close
	// orders after the write above.
	close(e.done)
	e.done = closedChan
}

// unixNano returns t in Unix nanoseconds, or the largest such time for a t
// past it (a DedupWindow of centuries): it never overflows into the past.
func unixNano(t time.Time) int64 {
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// notKept is the answer to repeats of a delivery in the stream whose reply
// they cannot be given.
func notKept(first outcome, reason string) outcome {
	return delivered(http.StatusAccepted, "reply_not_kept", first.ans.MessageID, "", reason)
}

// expire removes the kept entries that have expired at now. It requires
// that d.mu is held.
func (d *dedup) expire(now int64) {
	for len(d.heap) > 0 && d.heap[0].expires <= now {
		e := d.pop()
		if d.entries[e.key] == e { // not superseded
			delete(d.entries, e.key)
		}
		if !e.signed {
			d.open--
		}
		d.kept -= len(e.out.ans.Response)
	}
}

// push adds e to the heap. It requires that d.mu is held.
func (d *dedup) push(e *recent) {
	e.idx = len(d.heap)
	d.heap = append(d.heap, e)
	d.up(e.idx)
}

// pop removes and returns the root of the heap. It requires that d.mu is
// held.
func (d *dedup) pop() *recent {
	h := d.heap
	root := h[0]
	last := len(h) - 1
	d.swap(0, last)
	h[last] = nil
	d.heap = h[:last]
	d.down(0)
	root.idx = -1
	return root
}

// up moves the entry at i towards the root while it expires sooner than
// its parent. It requires that d.mu is held.
func (d *dedup) up(i int) {
	for h := d.heap; i > 0; {
		p := (i - 1) / 2
		if h[p].expires <= h[i].expires {
			return
		}
		d.swap(i, p)
		i = p
	}
}

// down moves the entry at i away from the root while a child expires
// sooner: after pop, and after extend made it expire later. It requires
// that d.mu is held.
func (d *dedup) down(i int) {
	h := d.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && h[r].expires < h[l].expires {
			j = r
		}
		if h[j].expires >= h[i].expires {
			return
		}
		d.swap(i, j)
		i = j
	}
}

// swap exchanges the heap's entries at i and j, and their indexes. It
// requires that d.mu is held.
func (d *dedup) swap(i, j int) {
	h := d.heap
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

// len returns the number of entries, in flight and kept.
func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.heap) + d.flying
}
