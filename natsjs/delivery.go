package natsjs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrSettled is returned by the methods of a [Delivery] that has already
// been settled: acknowledged, negatively acknowledged or terminated, by the
// program or by its [Source] (which gives back unsettled deliveries when
// it is closed), or whose AckSync is in flight and can no longer be
// undone (see [Delivery]). A Delivery for which a call returned
// ErrSettled stays settled. It is also what the zero Delivery returns.
var ErrSettled = errors.New("natsjs: delivery already settled")

// A Delivery is one delivery of a stored message, handed by a [Source] to
// its fanin stream. Value is the decoded payload; Meta says where the
// message sits in the stream and how often it was delivered.
//
// Delivery is at least once: the program settles each Delivery after it
// has handled it, with exactly one of Ack, AckSync, Nak or Term. A message
// whose delivery is not settled in time (see [Source]) is delivered again,
// so the program must expect duplicates: Meta.ID and Meta.StreamSeq are
// the same in every delivery of one message, and are the keys to
// deduplicate on.
//
// A Delivery is a small value that may be copied; all copies share one
// state. Its methods are safe for simultaneous use: the first settling call
// wins and later ones return [ErrSettled]. An AckSync is the one settling
// call that can fail and leave the Delivery open, so while one waits for
// the server: Ack, Nak and Term return ErrSettled at once and make its Ack
// final (the Delivery is then settled whatever the server answers, as
// after an Ack: if the AckSync fails, the message comes again after
// AckWait); another AckSync waits for it, and returns ErrSettled if it
// succeeded or sends its own Ack if it failed; InProgress is sent. The
// zero Delivery is not bound to a message and counts as settled.
type Delivery[M any] struct {
	// Value is the payload, decoded by the Source's decode function.
	Value M
	// Meta is the delivery metadata.
	Meta Meta

	d *delivery
}

// Meta describes one delivery of a message.
type Meta struct {
	// ID is the message id the publisher set in Nats-Msg-Id ("" if none).
	ID string
	// Subject is the subject the message was published on.
	Subject string
	// Stream and Consumer name the stream and the durable consumer.
	Stream, Consumer string
	// StreamSeq is the message's sequence in the stream: unique, and the
	// same in every delivery of the message.
	StreamSeq uint64
	// ConsumerSeq is the consumer's count of deliveries, redeliveries
	// included.
	ConsumerSeq uint64
	// NumDelivered is 1 on the first delivery and grows with each
	// redelivery, as the server counts them. After a crash of the server
	// it may be 1 again for a message delivered before: the server writes
	// its delivery counts asynchronously, as it does acks (see
	// Delivery.AckSync). So NumDelivered > 1 proves a redelivery, but 1
	// does not prove a first delivery; deduplicate on ID.
	NumDelivered uint64
	// Stored is when the stream stored the message.
	Stored time.Time
}

// Ack tells the server that the message was handled and must not be
// delivered again. It settles the Delivery. Ack does not wait for the
// server: an Ack lost with the connection leaves the message to be
// redelivered after AckWait. Use [Delivery.AckSync] to know that it
// arrived. An error means the Ack could not be sent (the connection is
// closed); the Delivery is settled anyway and the message will come again.
func (d Delivery[M]) Ack() error {
	return d.d.settle(&d.d.src().stats.acked, jetstream.Msg.Ack)
}

// AckSync acknowledges the message like [Delivery.Ack] and waits until the
// server confirms it, or ctx ends (with no deadline in ctx, it waits at
// most the JetStream client's default timeout, 5 s). On success the
// server has recorded the Ack: the message is not delivered again to this
// consumer while the server runs, nor after it is stopped and started
// again. A crash of the server is another matter: a single server writes
// the consumer's state to its store asynchronously, at most 10 times a
// second, whatever its sync settings (sync_interval and sync_always
// apply to the stream's messages, not to the consumer's acks), so a crash
// (SIGKILL, power loss) shortly after the AckSync may forget the Ack, and
// the message is delivered again. Measured: SIGKILL right after 50
// AckSyncs delivered all 50 again; SIGKILL a second later, none. An
// AckSync is therefore a confirmation, not an exactly-once guarantee:
// deduplicate on [Meta].ID as the package documentation says. On error the
// server may or may not have recorded the Ack, and the Delivery stays
// unsettled, so that the program may call AckSync again, Nak or leave it
// to be redelivered; unless another settling call was made while AckSync
// waited, or [Source.Close] gave the Delivery up: it is then settled. An
// AckSync made while another one waits waits for that one first (see
// [Delivery]), and returns ctx.Err() if ctx ends meanwhile.
func (d Delivery[M]) AckSync(ctx context.Context) error {
	if d.d == nil {
		return ErrSettled
	}
	return d.d.ackSync(ctx)
}

// Nak tells the server to deliver the message again after delay (at once
// if delay is 0 or less), and settles the Delivery. An error means the Nak
// could not be sent; the message is then delivered again after AckWait.
func (d Delivery[M]) Nak(delay time.Duration) error {
	return d.d.settle(&d.d.src().stats.naked, func(m jetstream.Msg) error {
		if delay > 0 {
			return m.NakWithDelay(delay)
		}
		return m.Nak()
	})
}

// Term tells the server never to deliver the message again, whatever the
// consumer's MaxDeliver, and settles the Delivery. The reason appears in
// the server's advisory for the termination.
func (d Delivery[M]) Term(reason string) error {
	return d.d.settle(&d.d.src().stats.termed, func(m jetstream.Msg) error {
		return term(m, reason)
	})
}

// InProgress tells the server that the message is still being handled,
// which restarts its AckWait. It does not settle the Delivery and may be
// called any number of times before it is settled, also while an AckSync
// waits. While [Source.Run] runs, the Source does this itself for every
// delivery it has pulled and that is not settled, up to
// SourceConfig.MaxExtension; a program calls it for work that outlasts
// those. It returns [ErrSettled] once the Delivery is settled, and
// nats.ErrConnectionClosed if the connection is closed while the Delivery
// is not settled (the Source closes it, when Run's stop outlasts
// [DrainTimeout], or it was lost): the message then comes again after
// AckWait.
func (d Delivery[M]) InProgress() error {
	if d.d == nil {
		return ErrSettled
	}
	return d.d.extend()
}

func term(m jetstream.Msg, reason string) error {
	if reason == "" {
		return m.Term()
	}
	return m.TermWithReason(reason)
}

// delivery is the shared state of one Delivery and its copies.
type delivery struct {
	msg  jetstream.Msg
	sess *session
	// pulled is when the Source received the delivery; MaxExtension
	// counts from here.
	pulled time.Time
	// extended is when the server last restarted the delivery's AckWait
	// (receipt or InProgress), in Unix nanoseconds.
	extended atomic.Int64
	// meta is the delivery's metadata, or metaErr why it has none; set
	// once by the Run that received it, before handing it on.
	meta    Meta
	metaErr error

	// state is where the delivery stands; guarded by sess.mu.
	state dstate
	// synced is closed when the AckSync in flight returns; set with
	// state acking, guarded by sess.mu.
	synced chan struct{}
}

// dstate is where a delivery stands in being settled. Every change happens
// under its session's mu:
//
//	open --Ack, Nak, Term, give-back--> settled
//	open --AckSync sends--> acking --confirmed--> settled
//	                        acking --failed--> open
//	                        acking --Ack, Nak, Term refused--> committed
//	                        committed --confirmed or failed--> settled
//
// A settling call that finds an AckSync in flight does not wait for it
// (Ack, Nak and Term never wait for the server): it returns ErrSettled and
// makes the AckSync's Ack final, so that ErrSettled stays true whatever
// the server answers. A second AckSync, which waits anyway, waits for the
// first to end instead. The rejected design let the AckSync fail back to
// open after a concurrent call had been told ErrSettled: that call's
// program then believed a delivery settled that nothing would settle.
type dstate uint8

const (
	open      dstate = iota // nothing has settled it yet
	acking                  // an AckSync waits for the server; open again if it fails
	committed               // an AckSync waits, and its outcome settles the delivery
	settled                 // a reply was sent, or the Source gave it up
)

func (d *delivery) src() *sourceState {
	if d == nil {
		return &noSource
	}
	return d.sess.src
}

// noSource absorbs the counts of calls on the zero Delivery, which return
// ErrSettled before counting anything; it only makes src safe to call.
var noSource sourceState

// settle sends the settling reply op if d is open, and releases the
// delivery from its session whatever op returned: a failed reply can only
// mean that the connection is gone, and with it every chance to settle on
// it.
func (d *delivery) settle(count *atomic.Uint64, op func(jetstream.Msg) error) error {
	if d == nil {
		return ErrSettled
	}
	s := d.sess
	s.mu.Lock()
	switch d.state {
	case open:
		d.state = settled
		s.busy++
	case acking:
		d.state = committed
		s.mu.Unlock()
		return ErrSettled
	default:
		s.mu.Unlock()
		return ErrSettled
	}
	s.mu.Unlock()
	err := op(d.msg)
	s.exit(d)
	if err == nil {
		count.Add(1)
	}
	return err
}

// ackSync is settle for a reply that waits for the server: on failure the
// delivery goes back to open, unless a settling call was refused
// meanwhile. It waits for an AckSync already in flight first.
func (d *delivery) ackSync(ctx context.Context) error {
	s := d.sess
	for {
		s.mu.Lock()
		if d.state == open {
			break // with s.mu held
		}
		synced := d.synced
		waiting := d.state == acking
		s.mu.Unlock()
		if !waiting {
			return ErrSettled
		}
		select {
		case <-synced:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.state = acking
	d.synced = make(chan struct{})
	s.busy++
	s.mu.Unlock()

	err := d.msg.DoubleAck(ctx)

	s.mu.Lock()
	s.busy--
	if err == nil || d.state == committed {
		d.state = settled
		delete(s.open, d)
	} else {
		d.state = open
	}
	close(d.synced)
	last := s.lastLocked()
	s.mu.Unlock()
	if last {
		s.closeConn()
	}
	if err == nil {
		s.src.stats.acked.Add(1)
	}
	return err
}

// extend sends InProgress for a delivery that is not settled. It returns
// ErrSettled for a settled delivery (an AckSync in flight does not count
// as settled) and nats.ErrConnectionClosed if the Source closed the
// connection.
func (d *delivery) extend() error {
	s := d.sess
	s.mu.Lock()
	switch {
	case d.state == committed || d.state == settled:
		s.mu.Unlock()
		return ErrSettled
	case s.closed:
		s.mu.Unlock()
		return nats.ErrConnectionClosed
	}
	s.busy++
	s.mu.Unlock()
	err := d.msg.InProgress()
	if err == nil {
		d.extended.Store(time.Now().UnixNano())
	}
	s.exit(nil)
	return err
}

// A session is one connection of a Source and the deliveries pulled on it.
// It is made by Start and served by one Run; it outlives that Run until
// every delivery it handed over is settled, because the program acks those
// on this connection, typically after Run has returned (a group drains its
// stream after its adapters stop). Then the last settling call closes the
// connection. Source.Close settles the rest and closes it earlier.
type session struct {
	src  *sourceState
	cons jetstream.Consumer
	// ackWait is the consumer's ackDeadline (its AckWait, or its shortest
	// BackOff step) when Start bound it.
	ackWait time.Duration
	// readAckWait asks the server for the consumer's ackDeadline now; nil
	// where there is no server to ask.
	readAckWait func(context.Context) (time.Duration, error)
	window      int    // the consumer's MaxAckPending
	closeNC     func() // closes the connection; called once, by closeConn
	isClosed    func() bool
	gone        chan struct{} // closed by closeConn once closeNC has returned

	mu     sync.Mutex
	open   map[*delivery]struct{} // pulled and not yet released; guarded by mu
	busy   int                    // replies being sent right now; guarded by mu
	ended  bool                   // no Run serves it any longer; guarded by mu
	closed bool                   // closeConn was called or is being called; guarded by mu
}

// track records a delivery received on s. It returns nil if s is already
// closed: the delivery then only awaits its AckWait.
func (s *session) track(m jetstream.Msg, now time.Time) *delivery {
	d := &delivery{msg: m, sess: s, pulled: now}
	d.extended.Store(now.UnixNano())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.open[d] = struct{}{}
	return d
}

// exit counts a reply out and, if d is not nil, releases d as settled. If
// that leaves nothing open on a session that no Run serves, it closes the
// connection, outside the lock.
func (s *session) exit(d *delivery) {
	s.mu.Lock()
	s.busy--
	if d != nil {
		delete(s.open, d)
	}
	last := s.lastLocked()
	s.mu.Unlock()
	if last {
		s.closeConn()
	}
}

// end records that no Run serves s any longer, and closes the connection
// if nothing is left open on it.
func (s *session) end() {
	s.mu.Lock()
	s.ended = true
	last := s.lastLocked()
	s.mu.Unlock()
	if last {
		s.closeConn()
	}
}

// lastLocked reports whether the connection must be closed now, and if so
// marks it closed so that exactly one caller closes it. It requires s.mu.
func (s *session) lastLocked() bool {
	if s.closed || !s.ended || s.busy > 0 || len(s.open) > 0 {
		return false
	}
	s.closed = true
	return true
}

// closeConn closes the connection; exactly one caller, the one that set
// s.closed, calls it.
func (s *session) closeConn() {
	s.closeNC()
	close(s.gone)
}

// giveBack ends s, naks every delivery open on s so that the server
// delivers it again at once, and returns once the connection is closed.
// A delivery with an AckSync in flight is left to it: giveBack waits for
// the server's answer, and naks the delivery if the AckSync failed. One
// whose reply is being sent is left to that reply, whose end closes the
// connection.
//
// If ctx ends first, giveBack closes the connection at once and gives up
// what is left without a reply (the server delivers it again after
// AckWait; an AckSync cut off may or may not have been recorded), and
// returns ctx.Err(). Either way the connection is closed and nothing is
// left unsettled on s when it returns.
func (s *session) giveBack(ctx context.Context) error {
	s.end()
	for {
		var naks []*delivery
		var synced chan struct{}
		s.mu.Lock()
		for d := range s.open {
			switch d.state {
			case open:
				d.state = settled
				s.busy++
				naks = append(naks, d)
			case acking, committed:
				synced = d.synced
			}
		}
		s.mu.Unlock()
		for _, d := range naks {
			if d.msg.Nak() == nil {
				s.src.stats.returned.Add(1)
			}
			s.exit(d)
		}
		if synced == nil {
			break
		}
		select {
		case <-synced:
		case <-ctx.Done():
			s.abandon()
			return ctx.Err()
		}
	}
	select {
	case <-s.gone:
		return nil
	case <-ctx.Done():
		s.abandon()
		return ctx.Err()
	}
}

// abandon closes the connection of s at once and releases every delivery
// still open on it, without a reply: an AckSync in flight fails at once,
// and its delivery is settled then.
func (s *session) abandon() {
	s.forceClose()
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.open {
		switch d.state {
		case open:
			d.state = settled
			delete(s.open, d)
		case acking:
			d.state = committed
		}
	}
}

// due returns the open deliveries whose AckWait was last restarted at or
// before cutoff and that were pulled after limit: the ones to extend.
func (s *session) due(cutoff, limit time.Time) []*delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ds []*delivery
	for d := range s.open {
		if d.extended.Load() <= cutoff.UnixNano() && d.pulled.After(limit) {
			ds = append(ds, d)
		}
	}
	return ds
}

// forceClose closes the connection of s at once, whatever is open on it:
// replies on it fail from now on, and the server redelivers what they
// would have settled after AckWait.
func (s *session) forceClose() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		s.closeConn()
	}
}
