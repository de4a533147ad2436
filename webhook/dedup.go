package webhook

import (
	"hash/maphash"
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
	expires int64         // Unix nanoseconds; set when kept
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
// through, refusing makes the sender retry later.
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
// grace before now is not looked up (claimLate).
func (d *dedup) claim(k dedupKey, bodyHash uint64, arrived time.Time, now func() time.Time) (*recent, <-chan struct{}, claim, time.Duration) {
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
	if e, ok := d.entries[k]; ok && (e.expires == 0 || e.expires > arrivedNs) {
		if e.body != bodyHash {
			return nil, nil, claimConflict, 0
		}
		return e, e.done, claimRepeat, 0
	}
	// A new delivery; expire has made what room time allows.
	if len(d.heap)+d.flying >= d.max {
		retry := time.Second
		if len(d.heap) > 0 {
			retry = max(retry, time.Duration(d.heap[0].expires+int64(d.grace)-nowNs))
		}
		return nil, nil, claimFull, retry
	}
	e := &recent{key: k, body: bodyHash, done: make(chan struct{})}
	d.entries[k] = e // supersedes an entry that expired before the request arrived
	d.flying++
	return e, e.done, claimFirst, 0
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
		if until.After(end) {
			end = until
			if limit := now.Add(d.window + maxExtension); end.After(limit) {
				end = limit
			}
		}
		e.expires = end.UnixNano()
		d.push(e)
	} else if d.entries[e.key] == e {
		delete(d.entries, e.key)
	}
	e.out = out
	// Closing never blocks; repeats read e.out after it, which the close
	// orders after the write above.
	close(e.done)
	e.done = closedChan
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
		d.kept -= len(e.out.ans.Response)
	}
}

// push adds e to the heap. It requires that d.mu is held.
func (d *dedup) push(e *recent) {
	d.heap = append(d.heap, e)
	h := d.heap
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].expires <= h[i].expires {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

// pop removes and returns the root of the heap. It requires that d.mu is
// held.
func (d *dedup) pop() *recent {
	h := d.heap
	root := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = nil
	h = h[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		j := l
		if r := l + 1; r < len(h) && h[r].expires < h[l].expires {
			j = r
		}
		if h[j].expires >= h[i].expires {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
	d.heap = h
	return root
}

// len returns the number of entries, in flight and kept.
func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.heap) + d.flying
}
