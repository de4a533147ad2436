package fanin

import (
	"math/bits"
	"sync/atomic"
)

// A readySet marks the slots of a Stream whose lanes may hold values, so
// that the consumer finds the next lane with something to give without
// looking at the idle ones. It is a bitmap in chunks of 4,096 slots, each
// with a summary word whose bit w says that word w may be non-zero: finding
// the next ready slot among 10,000 costs a few loads, not 10,000.
//
// Senders set bits without any lock, through their lane's readyMark, which
// points into a chunk that never moves; the consumer clears them under the
// Stream's lock. A bit may be set for a lane that turns out empty (the
// consumer then clears it), never clear for a lane that holds a value and
// is not the one whose turn it is: see Stream.take.
type readySet struct {
	chunks []*readyChunk // grows under Stream.mu; chunks never move
}

const chunkSlots = 64 * 64

type readyChunk struct {
	summary atomic.Uint64
	words   [64]atomic.Uint64
}

// grow makes room for n slots.
func (r *readySet) grow(n int) {
	for len(r.chunks)*chunkSlots < n {
		r.chunks = append(r.chunks, new(readyChunk))
	}
}

// markFor returns the mark of slot i, which pokes wake when it marks.
func (r *readySet) markFor(i int, wake chan struct{}) *readyMark {
	c := r.chunks[i/chunkSlots]
	w := i % chunkSlots / 64
	return &readyMark{
		word:    &c.words[w],
		summary: &c.summary,
		bit:     1 << (i % 64),
		sumBit:  1 << w,
		wake:    wake,
	}
}

// clear clears the bit of slot i. The summary bit is cleared lazily, by
// next, once its word is found empty.
func (r *readySet) clear(i int) {
	r.chunks[i/chunkSlots].words[i%chunkSlots/64].And(^(uint64(1) << (i % 64)))
}

// next returns the first set slot after slot pos in ring order among the
// first n slots (pos itself last), or -1 if none is set.
func (r *readySet) next(pos, n int) int {
	if i := r.find(pos+1, n); i >= 0 {
		return i
	}
	return r.find(0, min(pos+1, n))
}

// find returns the first set slot in [lo, hi), or -1.
func (r *readySet) find(lo, hi int) int {
	for ci := lo / chunkSlots; ci < len(r.chunks) && ci*chunkSlots < hi; ci++ {
		c := r.chunks[ci]
		base := ci * chunkSlots
		sum := c.summary.Load()
		if lo > base {
			sum &^= uint64(1)<<((lo-base)/64) - 1 // words wholly below lo
		}
		for sum != 0 {
			w := bits.TrailingZeros64(sum)
			sum &= sum - 1
			wbase := base + w*64
			if wbase >= hi {
				return -1
			}
			word := c.words[w].Load()
			if word == 0 {
				// A stale summary bit: clear it, then look again, since a
				// sender sets its word before the summary. Either this
				// second load sees its bit, or its summary Or comes after
				// this And.
				c.summary.And(^(uint64(1) << w))
				if word = c.words[w].Load(); word == 0 {
					continue
				}
				c.summary.Or(uint64(1) << w)
			}
			if lo > wbase {
				word &^= uint64(1)<<(lo-wbase) - 1
			}
			if word != 0 {
				if i := wbase + bits.TrailingZeros64(word); i < hi {
					return i
				}
				return -1
			}
		}
	}
	return -1
}

// A readyMark is a lane's handle on its slot of a readySet. ready says that
// the slot's bit is set, or about to be, so that a sender that finds it set
// (the usual case while the consumer is behind) pays one load and no
// write: only the send that finds the lane idle marks it and wakes the
// consumer. The lane's Sender sets it; the Stream clears it (see
// Stream.take).
type readyMark struct {
	ready   atomic.Bool
	word    *atomic.Uint64
	summary *atomic.Uint64
	bit     uint64 // in word
	sumBit  uint64 // in summary
	wake    chan struct{}
}

// set marks the lane ready after a value was placed, and wakes the
// consumer if it was idle.
func (m *readyMark) set() {
	if m.ready.Load() || !m.ready.CompareAndSwap(false, true) {
		return // marked already: the consumer will look
	}
	m.setBits()
	m.poke()
}

// force marks the lane after its stream closed. The swap, unlike set's
// load, always writes, so that a consumer that unmarks the lane after it
// reads this write, and then sees the close.
func (m *readyMark) force() {
	if !m.ready.Swap(true) {
		m.setBits()
	}
	m.poke()
}

// rearm marks the lane again after the consumer unmarked it and then found
// a value: it is the consumer's own step, so it wakes nobody.
func (m *readyMark) rearm() {
	if m.ready.CompareAndSwap(false, true) {
		m.setBits()
	}
}

// setBits sets the slot's bit, then its summary bit: readySet.find relies
// on that order.
func (m *readyMark) setBits() {
	m.word.Or(m.bit)
	m.summary.Or(m.sumBit)
}

func (m *readyMark) poke() {
	select {
	case m.wake <- struct{}{}:
	default: // a token is already waiting: the consumer will look
	}
}

// slotHeap is a min-heap of free slots for container/heap, so that a new
// lane takes the lowest free slot and the slots in use stay dense.
type slotHeap []int

func (h slotHeap) Len() int           { return len(h) }
func (h slotHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h slotHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *slotHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *slotHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
