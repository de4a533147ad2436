package natsjs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	// ErrConnLost is returned, wrapped with the cause, by [Source.Run]
	// when the connection it pulls on is lost, so that a supervisor
	// restarts the Source; Start dials again. A connection is lost when
	// it closes, and when the server falls silent on it for two
	// SourceConfig.Heartbeat (a dead host, a partition), after which Run
	// closes it.
	ErrConnLost = errors.New("natsjs: connection lost")

	// ErrConsumerDeleted is returned, wrapped, by [Source.Start] and
	// [Source.Run] when the durable consumer that an earlier Start of the
	// same Source bound has since been deleted (by an operator, or by the
	// server after its InactiveThreshold). The Source does not create it
	// again: a new consumer would start from its DeliverPolicy (all of the
	// stream, by default) and deliver again, as first deliveries, every
	// message the old one had acked. A new Source, such as that of a
	// newly started agent process, creates it; deleting a durable consumer
	// is thus how an operator replays a stream.
	ErrConsumerDeleted = errors.New("natsjs: durable consumer was deleted")

	// ErrClosed is returned by [Source.Start] and [Source.Run] after
	// [Source.Close].
	ErrClosed = errors.New("natsjs: source closed")
)

// Defaults and timing of a [Source].
const (
	// DefaultAckWait is the consumer's AckWait when SourceConfig leaves it
	// zero; it is the JetStream default.
	DefaultAckWait = 30 * time.Second

	// DefaultMaxExtension is SourceConfig.MaxExtension when it is zero.
	DefaultMaxExtension = 10 * time.Minute

	// DrainTimeout bounds how long Run, once told to stop, waits for the
	// deliveries the server had already sent; after it, Run closes the
	// connection (see [Source.Run]).
	DrainTimeout = 5 * time.Second

	// DefaultHeartbeat is SourceConfig.Heartbeat when it is zero: a
	// connection that falls silent ends Run within about 10 s.
	DefaultHeartbeat = 5 * time.Second

	// pullExpiry is how long one pull request of the Source's consumption
	// waits on the server; it must be at least twice the heartbeat.
	pullExpiry = 30 * time.Second
)

// SourceConfig configures a [Source]. URL, Stream and Consumer.Durable are
// required; a zero field takes its default.
type SourceConfig struct {
	// Name is the Source's name as an adapter of a fanin.Group, and the
	// name of its connections; default "natsjs:<Stream>/<Durable>". Two
	// Sources on one durable in one Group need names of their own (the
	// Group refuses a second adapter of the same name); one Source per
	// durable and process is the usual layout, and Group.Replace relies on
	// the shared default name to swap a Source for a reconfigured one.
	Name string

	// URL is the server, or a comma-separated list of servers, to dial.
	URL string

	// Options apply to every connection the Source dials, after its own:
	// nats.Name(Name) and nats.MaxReconnects(0). Without reconnection, a
	// lost connection ends Run with ErrConnLost and the supervisor's
	// restart policy dials again. A program that would rather let the
	// client reconnect by itself passes nats.MaxReconnects(n) (-1: for
	// ever); Run then ends only when the client gives up.
	//
	// The Source dials through a dialer of its own, so that Start's ctx
	// bounds the dial: it resolves host names itself, with that ctx
	// (unless nats.SkipHostLookup is given), and dials with a net.Dialer,
	// or with the dialer given by nats.SetCustomDialer: through its
	// DialContext method if it has one, else through Dial, which ctx
	// then cannot cut short.
	Options []nats.Option

	// Stream is the name of the stream to read.
	Stream string

	// Consumer is the durable pull consumer to read through; every Start
	// creates it, or updates it to this configuration. Durable is
	// required. AckPolicy must be jetstream.AckExplicitPolicy (the zero
	// value). A zero AckWait becomes DefaultAckWait, a zero MaxAckPending
	// fanin.DefaultCapacity; MaxAckPending must not be negative, because
	// it is the Source's window: the most deliveries it holds unsettled.
	Consumer jetstream.ConsumerConfig

	// MaxExtension is how long after receiving a delivery the Source stops
	// sending InProgress for it (default DefaultMaxExtension): a delivery
	// unsettled for longer is left to be redelivered after AckWait.
	MaxExtension time.Duration

	// Heartbeat is how often the server sends an idle heartbeat on the
	// Source's pull while it has nothing to deliver (default
	// DefaultHeartbeat; from 500 ms to 15 s). A pull that hears nothing
	// from the server for two heartbeats has lost its connection
	// silently (a dead host, a partition, a server that hangs): Run then
	// closes the connection and returns an error matching ErrConnLost.
	Heartbeat time.Duration
}

// A Source is a fanin adapter that reads a durable JetStream pull consumer
// into a fanin stream. Each value is a [Delivery] carrying the decoded
// payload, the delivery metadata and the methods that settle it; the
// program settles each after handling it. The package documentation states
// the guarantees, and how to size MaxAckPending and AckWait against the
// lane.
//
// The consumer's MaxAckPending is the Source's window: the server never
// has more than that many of the consumer's deliveries unsettled, so the
// Source pulls only what the window allows. While Run runs, the Source
// sends InProgress for each delivery it pulled and that is not settled, every
// AckWait/3 (a third of the shortest BackOff step, if shorter), up to
// MaxExtension after receipt, also while the delivery waits to be decoded;
// the AckWait is the consumer's current one, re-read every second (see the
// package documentation for one changed by another Start). When Run's context ends or
// the sink is shut down, Run stops pulling, naks what it pulled but did not
// hand over (after the pull is closed, so that the server redelivers it to
// another pull at once), and returns nil. The server redelivers what was
// naked in an order of its own, not necessarily the order of the naks nor
// stream order. A payload that decode rejects, or
// on which it panics, is terminated with the error as the reason, counted
// in [SourceStats].Poison, and never handed over.
//
// A Source is safe for simultaneous use by multiple goroutines. Its zero
// value is not usable; call [NewSource].
type Source[M any] struct {
	sourceState
	decode func(data []byte) (M, error)
}

// sourceState is the part of a Source that does not depend on M.
type sourceState struct {
	cfg   SourceConfig
	stats counters

	dialed atomic.Bool   // set by the first Start or Run
	bound  atomic.Bool   // set once a Start created or updated the consumer
	done   chan struct{} // closed by the first Close: a redial waiting stops

	mu       sync.Mutex
	closed   bool                  // set by Close; guarded by mu
	prepared *session              // made by Start for the next Run; guarded by mu
	sessions map[*session]struct{} // every session with an open connection; guarded by mu
	runs     map[*runCtl]struct{}  // every Run in progress; guarded by mu
}

// runCtl lets Close stop a Run and wait for it.
type runCtl struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// counters are the Source's cumulative counts.
type counters struct {
	runs, received, redelivered, handed, acked, naked, termed,
	poison, returned, extended, dialFailures atomic.Uint64
}

// SourceStats are a [Source]'s counts since it was made, summed over all
// its runs, in the spirit of database/sql.DBStats.
type SourceStats struct {
	Runs        uint64 // Runs that began serving after a successful Start
	Received    uint64 // deliveries pulled from the server
	Redelivered uint64 // of those, deliveries whose NumDelivered was over 1, handed over or not
	HandedOver  uint64 // deliveries placed in the stream
	Acked       uint64 // settled by Ack or AckSync
	Naked       uint64 // settled by the program's Nak
	Termed      uint64 // settled by the program's Term
	Poison      uint64 // terminated by the Source because decode failed
	Returned    uint64 // naked by the Source: not handed over at shutdown, or left at Close
	Extended    uint64 // InProgress sent by the Source
	// DialFailures counts the dials that failed: no connection, or no
	// consumer bound on it. While the server is down it grows with each
	// redial (see Source.Start).
	DialFailures uint64
	Unsettled    int // now: pulled and not settled, across open connections
}

// NewSource returns a Source configured by cfg that decodes each payload
// with decode. Each Run calls decode from one goroutine of its own, one
// payload at a time, in the order of the deliveries. It dials nothing until
// Start or Run. NewSource panics if
// decode is nil, URL, Stream or Consumer.Durable is empty, AckPolicy is
// not explicit, AckWait, MaxAckPending or MaxExtension is negative, or
// Heartbeat is neither 0 nor within 500 ms to 15 s.
func NewSource[M any](cfg SourceConfig, decode func(data []byte) (M, error)) *Source[M] {
	switch {
	case decode == nil:
		panic("natsjs: NewSource called with a nil decode function")
	case cfg.URL == "" || cfg.Stream == "" || cfg.Consumer.Durable == "":
		panic("natsjs: NewSource needs URL, Stream and Consumer.Durable")
	case cfg.Consumer.AckPolicy != jetstream.AckExplicitPolicy:
		panic("natsjs: NewSource needs Consumer.AckPolicy AckExplicitPolicy: the program acks each message")
	case cfg.Consumer.AckWait < 0 || cfg.Consumer.MaxAckPending < 0 || cfg.MaxExtension < 0:
		panic("natsjs: NewSource called with a negative AckWait, MaxAckPending or MaxExtension")
	case cfg.Heartbeat != 0 && (cfg.Heartbeat < 500*time.Millisecond || cfg.Heartbeat > pullExpiry/2):
		panic("natsjs: NewSource called with a Heartbeat outside 500ms to 15s")
	}
	if cfg.Consumer.AckWait == 0 {
		cfg.Consumer.AckWait = DefaultAckWait
	}
	if cfg.Consumer.MaxAckPending == 0 {
		cfg.Consumer.MaxAckPending = fanin.DefaultCapacity
	}
	if cfg.MaxExtension == 0 {
		cfg.MaxExtension = DefaultMaxExtension
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Name == "" {
		cfg.Name = "natsjs:" + cfg.Stream + "/" + cfg.Consumer.Durable
	}
	// MaxReconnects(0) rather than NoReconnect, which no later option
	// could undo.
	cfg.Options = append([]nats.Option{nats.Name(cfg.Name), nats.MaxReconnects(0)}, cfg.Options...)
	return &Source[M]{
		sourceState: sourceState{
			cfg:      cfg,
			done:     make(chan struct{}),
			sessions: make(map[*session]struct{}),
			runs:     make(map[*runCtl]struct{}),
		},
		decode: decode,
	}
}

// Name returns the Source's name as an adapter of a fanin.Group.
func (s *Source[M]) Name() string { return s.cfg.Name }

// Start dials the server and creates or updates the durable consumer, so
// that a fanin.Group counts the Source as running only once it can pull.
// Once a Start of the Source has bound the consumer, later Starts only
// update it: if it was deleted meanwhile, they return an error matching
// [ErrConsumerDeleted] and create nothing.
// The next Run serves on that connection; a Start whose Run never came is
// undone by the next Start or by Close. If Start fails it leaves nothing
// open. It returns [ErrClosed] after Close.
//
// Start returns ctx.Err() promptly once ctx ends, also while it dials:
// ctx bounds the host name lookup, the dial and the handshake with the
// server (not the dial of a program's dialer that has no DialContext; see
// SourceConfig.Options), and Start then closes what it opened. ctx does
// not bind the connection beyond Start: it may end once Start returned.
//
// The first Start of a Source returns a failure to dial at once. Every
// later Start (and a Run that dials for itself), such as a Group's restart
// after a lost connection, waits for a server that cannot be reached:
// when no connection can be made, or the server does not answer the
// consumer request, it dials again after 100 ms, doubling up to 5 s, until
// it succeeds, ctx ends or Close is called. So a Source rides out an outage
// of any length at the cost of one restart. A refusal by a server that
// answers (authorization, no such stream, a rejected consumer
// configuration) is returned at once. [SourceStats].DialFailures counts
// the failed dials.
func (s *Source[M]) Start(ctx context.Context) error {
	sess, err := s.connect(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.prepared
	s.prepared = sess
	s.mu.Unlock()
	if old != nil {
		old.end()
	}
	return nil
}

// Timing of a Source's redials while the server cannot be reached: the
// first waits dialBackoffMin, each next one twice as long, up to
// dialBackoffMax, each drawn from the upper half of that span so that
// agents that lost the server together do not dial it together.
const (
	dialBackoffMin = 100 * time.Millisecond
	dialBackoffMax = 5 * time.Second
)

// connect dials and binds the consumer. The first call of the Source's
// life returns any failure at once, so that a program started without a
// server hears of it; every later one redials, with backoff, for as long
// as the failure is an outage (see outage) and ctx lasts. A Group thus
// restarts a Source once per outage, however long: the Start after a
// lost connection waits for the server, instead of failing again and
// again until the Group's restart intensity ends the run.
//
// The rejected designs: leaving the outage to the Group's restarts, which
// escalate past the intensity unless every program adds the Source
// WithKeepTrying; and a Source that redials inside Run without returning,
// which would hide every lost connection from the Group's events.
func (s *sourceState) connect(ctx context.Context) (*session, error) {
	first := !s.dialed.Swap(true)
	backoff := dialBackoffMin
	for {
		sess, err := s.dial(ctx)
		if err == nil || errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return sess, err
		}
		s.stats.dialFailures.Add(1)
		if first || !outage(err) {
			return nil, err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-s.done:
			t.Stop()
			return nil, ErrClosed
		}
		backoff = min(2*backoff, dialBackoffMax)
	}
}

// errOutage marks a dial failure that a server coming back would cure.
var errOutage = errors.New("server unreachable")

// outage reports whether a failure of dial was an outage: no connection
// could be made (refused, timed out, no server answering), or the server
// did not answer the consumer request (JetStream still starting, no
// responders, a timeout, the connection lost meanwhile). A refusal
// (authorization, a missing stream, a bad consumer configuration) is not.
func outage(err error) bool { return errors.Is(err, errOutage) }

// dial opens a connection, binds the consumer and registers the session.
func (s *sourceState) dial(ctx context.Context) (*session, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dialer := newStartDialer(ctx)
	nc, err := nats.Connect(s.cfg.URL, append(slices.Clip(s.cfg.Options), dialer.option())...)
	dialer.release()
	if ctx.Err() != nil {
		if err == nil {
			nc.Close()
		}
		return nil, ctx.Err()
	}
	if err != nil {
		if unreachable(err) {
			return nil, fmt.Errorf("natsjs: connect: %w (%w)", err, errOutage)
		}
		return nil, fmt.Errorf("natsjs: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsjs: %w", err)
	}
	var cons jetstream.Consumer
	if s.bound.Load() {
		cons, err = js.UpdateConsumer(ctx, s.cfg.Stream, s.cfg.Consumer)
		if errors.Is(err, jetstream.ErrConsumerDoesNotExist) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			err = fmt.Errorf("%w: %w", ErrConsumerDeleted, err)
		}
	} else {
		cons, err = js.CreateOrUpdateConsumer(ctx, s.cfg.Stream, s.cfg.Consumer)
	}
	if err != nil {
		nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if transient(err) || errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
			errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrDisconnected) {
			err = fmt.Errorf("%w (%w)", err, errOutage)
		}
		return nil, fmt.Errorf("natsjs: consumer %s/%s: %w", s.cfg.Stream, s.cfg.Consumer.Durable, err)
	}
	s.bound.Store(true)
	cc := cons.CachedInfo().Config
	if cc.AckWait <= 0 || cc.MaxAckPending <= 0 {
		nc.Close()
		return nil, fmt.Errorf("natsjs: consumer %s/%s has AckWait %v and MaxAckPending %d; both must be positive",
			s.cfg.Stream, s.cfg.Consumer.Durable, cc.AckWait, cc.MaxAckPending)
	}
	sess := &session{
		src:     s,
		cons:    cons,
		ackWait: ackDeadline(cc),
		readAckWait: func(ctx context.Context) (time.Duration, error) {
			info, err := cons.Info(ctx)
			if err != nil {
				return 0, err
			}
			return ackDeadline(info.Config), nil
		},
		window:   cc.MaxAckPending,
		isClosed: nc.IsClosed,
		gone:     make(chan struct{}),
		open:     make(map[*delivery]struct{}),
	}
	sess.closeNC = func() {
		nc.Close()
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
	}
	if !register(s, s.sessions, sess) {
		nc.Close()
		return nil, ErrClosed
	}
	return sess, nil
}

// ackDeadline returns the shortest time the server waits for an ack of a
// delivery of a consumer with configuration cc before it redelivers it:
// its AckWait, or a shorter step of its BackOff, which the server applies
// instead of AckWait to the delivery of that number (the last step to all
// later ones), from the delivery or its last InProgress. The Source
// extends every delivery at a third of it. The rejected design extended a
// delivery at a third of the BackOff step of its own NumDelivered: fewer
// InProgress, but one more thing to keep right per delivery, against one
// cheap InProgress for a handful of deliveries.
func ackDeadline(cc jetstream.ConsumerConfig) time.Duration {
	w := cc.AckWait
	for _, b := range cc.BackOff {
		if b > 0 && b < w {
			w = b
		}
	}
	return w
}

// unreachable reports whether nats.Connect failed for want of a server:
// none answered, the connection was refused, reset or timed out. A
// refusal by a server that answered (authorization) is not an outage.
func unreachable(err error) bool {
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrPermissionViolation) {
		return false
	}
	var ne net.Error
	return errors.Is(err, nats.ErrNoServers) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, io.EOF) || errors.As(err, &ne)
}

// register adds k to m, a set guarded by s.mu, unless the Source is
// closed, and reports whether it did: Close collects what it must stop or
// give back from these sets, after it has marked the Source closed.
func register[K comparable](s *sourceState, m map[K]struct{}, k K) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	m[k] = struct{}{}
	return true
}

func (s *sourceState) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Run pulls deliveries and sends them into sink until ctx ends or sink is
// shut down, then stops pulling, naks what it pulled but did not hand over,
// and returns nil. It serves on the connection made by the last Start, or,
// if there is none, calls Start itself. A Run called with ctx already ended
// releases what Start made and returns nil.
//
// Run returns an error matching [ErrConnLost] if the connection is lost,
// one matching [ErrConsumerDeleted] if the consumer is deleted under it,
// another error if the consumer fails otherwise or the sink refuses a
// delivery for a reason other than its shutdown (the error wraps the
// sink's; what Run took is given back), and [ErrClosed] after Close. The Source can then be started and run again;
// the deliveries handed over before stay valid as long as their
// connection is (until they are all settled, if it was not lost).
//
// Stopping is prompt: Run asks the server to stop delivering and waits
// one round trip for what was already sent, at most [DrainTimeout]; if the
// server does not answer by then, Run closes the connection, and every
// delivery on it that is not settled is redelivered after AckWait.
func (s *Source[M]) Run(ctx context.Context, sink fanin.Sink[Delivery[M]]) error {
	s.mu.Lock()
	sess := s.prepared
	s.prepared = nil
	s.mu.Unlock()
	if sess == nil {
		if ctx.Err() != nil {
			return nil
		}
		var err error
		if sess, err = s.connect(ctx); err != nil {
			return err
		}
	}
	ctl := &runCtl{done: make(chan struct{})}
	parent := ctx
	ctx, ctl.cancel = context.WithCancel(ctx)
	defer ctl.cancel()
	if !register(&s.sourceState, s.runs, ctl) {
		sess.end()
		return ErrClosed
	}
	defer func() {
		s.mu.Lock()
		delete(s.runs, ctl)
		s.mu.Unlock()
		close(ctl.done)
	}()
	if ctx.Err() != nil {
		sess.end()
		return nil
	}
	s.stats.runs.Add(1)
	err := s.serve(ctx, sess, sink)
	if err == nil && parent.Err() == nil && !isDone(sink) && s.isClosed() {
		return ErrClosed // stopped by Close, not by its caller
	}
	return err
}

// serve is one Run on sess. It is built on the consumer's Consume
// callback, which nats.go calls for each delivery on the subscription's
// goroutine: the callback only tracks the delivery and queues it, and a
// sender goroutine decodes the queued deliveries in order and hands each
// over (TrySend, or Send when the lane is full), so that every delivery is
// tracked (and extended) from its receipt, whatever decode and the lane
// take, rather than sitting unseen in nats.go's buffer. A keeper goroutine
// extends unsettled deliveries and ends the run when the sink is shut
// down.
//
// The rejected designs: reading the consumer's Messages iterator in Run's
// goroutine, whose Next arms and stops a heartbeat timer for every
// delivery (with its options and context, 6 allocations a delivery more);
// and decoding and calling TrySend in the callback, queuing for the sender
// only when the lane was full, which saved one goroutine hand-off per
// delivery but let a slow decode hold the callback while the deliveries
// behind it waited untracked until AckWait redelivered them.
func (s *Source[M]) serve(ctx context.Context, sess *session, sink fanin.Sink[Delivery[M]]) error {
	// run ends with ctx, when the sink is shut down, or with the failure
	// of the pull or of a send as its cause.
	run, end := context.WithCancelCause(ctx)
	defer end(nil)
	c := &consumption[M]{src: s, sess: sess, sink: sink, run: run, fail: end, wake: make(chan struct{}, 1)}
	cc, err := sess.cons.Consume(c.receive,
		jetstream.PullMaxMessages(sess.window), jetstream.PullExpiry(pullExpiry),
		jetstream.PullHeartbeat(s.cfg.Heartbeat), jetstream.ConsumeErrHandler(c.pullFailed))
	if err != nil {
		sess.end()
		return fmt.Errorf("natsjs: pull: %w", err)
	}
	// Taken at once, while the subscription is valid: once it is closed
	// by any means, this channel is closed after the last callback
	// returned.
	closed := cc.Closed()
	keeperDone := make(chan struct{})
	var workers sync.WaitGroup
	workers.Go(func() { s.keep(sess, sink.Done(), end, keeperDone) })
	workers.Go(c.sendQueued)

	select {
	case <-run.Done():
	case <-closed:
		// The consumption stopped of itself (the consumer deleted, the
		// connection closed): the error handler said why, unless the
		// connection closed before it could.
		c.pullFailed(cc, jetstream.ErrConnectionClosed)
	}
	pullErr := c.pullErr()
	// Whether the pull failed for want of a connection is decided now:
	// from here on Run closes the connection itself (at the drain timeout,
	// or below once nothing is left open), and a consumer deleted under
	// the Run must not read as a lost connection then.
	lost := pullErr != nil && (errors.Is(pullErr, jetstream.ErrConnectionClosed) ||
		errors.Is(pullErr, nats.ErrConnectionClosed) || sess.isClosed())
	if errors.Is(pullErr, jetstream.ErrNoHeartbeat) {
		// The server fell silent without closing the connection: a dead
		// host, a partition, a hung server. The client's own pings would
		// notice only minutes later, so the connection is closed now; a
		// drain on it could not be answered anyway. The rejected design
		// kept the connection and started a new pull on it: that is what
		// a reconnecting client does, and it leaves the deliveries of a
		// dead connection counted as unsettled.
		lost = true
		sess.forceClose()
	}

	// Stop pulling: Drain has the server stop delivering; what it had
	// already sent still reaches the callback, which keeps it to give
	// back, then the subscription closes. Only then are the deliveries
	// given back: a Nak sent while the pull was open would have the server
	// deliver the message again at once, to this pull.
	cc.Drain()
	t := time.NewTimer(DrainTimeout)
	select {
	case <-closed:
	case <-t.C:
		// The server did not confirm in time: give up on the connection,
		// which ends the subscription.
		sess.forceClose()
		<-closed
	}
	t.Stop()
	close(keeperDone)
	workers.Wait()
	for _, d := range c.finish() {
		d.settle(&s.stats.returned, jetstream.Msg.Nak)
	}
	sess.end()

	switch sendErr := c.sendErr; {
	case ctx.Err() != nil || isDone(sink):
		return nil
	case sendErr != nil:
		return sendErr
	case lost:
		return fmt.Errorf("%w: %w", ErrConnLost, pullErr)
	case errors.Is(pullErr, jetstream.ErrConsumerDeleted):
		return fmt.Errorf("%w: %w", ErrConsumerDeleted, pullErr)
	case pullErr != nil:
		return fmt.Errorf("natsjs: pull: %w", pullErr)
	}
	return nil
}

// A consumption is the state of one Run that nats.go's callback shares
// with the Run's sender goroutine and with serve.
type consumption[M any] struct {
	src  *Source[M]
	sess *session
	sink fanin.Sink[Delivery[M]]
	run  context.Context
	fail context.CancelCauseFunc // ends the run, with the failure as cause

	wake chan struct{} // a token for the sender: the queue has work

	// sendErr is why the sink refused a value for a reason other than
	// its shutdown; written by the sender before it ends the run, read by
	// serve after it stopped.
	sendErr error

	mu sync.Mutex
	// queue holds the deliveries received and not yet handed over, oldest
	// first; its head is the one the sender is decoding or sending.
	// Guarded by mu.
	queue []*delivery
	// back holds the deliveries refused by the sink, to be given back;
	// guarded by mu.
	back []*delivery
	// finished is set by finish: from then on the callback gives back
	// what it receives itself. Guarded by mu.
	finished bool
	// err is the first failure of the pull; guarded by mu.
	err error
}

// receive is the Consume callback: nats.go calls it for each delivery, one
// at a time, on a goroutine of its own. It only tracks the delivery and
// queues it for the sender goroutine, which decodes it and hands it over:
// so the callback returns at once whatever decode and the lane do, and
// every delivery is tracked, and extended, from its receipt. The rejected
// design decoded and called TrySend here, queuing only when the lane was
// full: a slow decode function (one that validates a schema, or
// decompresses) then held the callback, and the deliveries behind it
// waited in nats.go's buffer, untracked, until AckWait redelivered them.
func (c *consumption[M]) receive(m jetstream.Msg) {
	s := c.src
	meta, metaErr := metaOf(m)
	d := c.sess.track(m, time.Now())
	if d == nil {
		return // the connection is closed: the delivery awaits its AckWait
	}
	d.meta, d.metaErr = meta, metaErr
	s.stats.received.Add(1)
	if metaErr == nil && meta.NumDelivered > 1 {
		s.stats.redelivered.Add(1)
	}
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		d.settle(&s.stats.returned, jetstream.Msg.Nak)
		return
	}
	c.queue = append(c.queue, d)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// giveBack keeps d to be given back once the pull is closed, or gives it
// back now if serve has already collected the rest.
func (c *consumption[M]) giveBack(d *delivery) {
	c.mu.Lock()
	if !c.finished {
		c.back = append(c.back, d)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	d.settle(&c.src.stats.returned, jetstream.Msg.Nak)
}

// refused handles a send of d that the sink refused with err: d is given
// back, and unless the run is ending (the sink shut down, Run's context
// ended) the run ends with the error.
func (c *consumption[M]) refused(d *delivery, err error) {
	c.giveBack(d)
	if c.run.Err() != nil || errors.Is(err, fanin.ErrClosed) {
		return
	}
	c.mu.Lock()
	first := c.sendErr == nil
	if first {
		c.sendErr = fmt.Errorf("natsjs: send: %w", err)
	}
	c.mu.Unlock()
	if first {
		c.fail(err)
	}
}

// sendQueued is the Run's sender goroutine: it takes the queued deliveries
// in order, decodes each and sends it into the sink, waiting for room,
// until the run ends. What it has not taken when the run ends stays in the
// queue, to be given back.
func (c *consumption[M]) sendQueued() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.mu.Unlock()
			select {
			case <-c.wake:
				continue
			case <-c.run.Done():
				return
			}
		}
		d := c.queue[0]
		c.mu.Unlock()
		if c.run.Err() != nil {
			return // d stays at the head of the queue, to be given back
		}
		if !c.hand(d) {
			return
		}
	}
}

// pop removes the head of the queue, which the sender has dealt with.
func (c *consumption[M]) pop() {
	c.mu.Lock()
	c.queue[0] = nil
	c.queue = c.queue[1:]
	c.mu.Unlock()
}

// hand decodes d, the head of the queue, and sends it into the sink, then
// pops it. It reports false if the run ends: d then stays at the head of
// the queue to be given back, unless the sink refused it for good.
func (c *consumption[M]) hand(d *delivery) bool {
	s := c.src
	v, err := s.decodeSafe(d.msg.Data())
	if err != nil {
		c.pop()
		reason := truncate("undecodable: "+err.Error(), maxReason)
		d.settle(&s.stats.poison, func(m jetstream.Msg) error { return term(m, reason) })
		return true
	}
	if d.metaErr != nil {
		// Not a JetStream delivery: nothing could ack it.
		c.pop()
		d.settle(&s.stats.poison, func(m jetstream.Msg) error { return term(m, "no metadata") })
		return true
	}
	dv := Delivery[M]{Value: v, Meta: d.meta, d: d}
	err = c.sink.TrySend(dv)
	if errors.Is(err, fanin.ErrFull) {
		err = c.sink.Send(c.run, dv)
	}
	if err != nil {
		if c.run.Err() != nil || errors.Is(err, fanin.ErrClosed) {
			return false
		}
		c.pop()
		c.refused(d, err)
		return false
	}
	s.stats.handed.Add(1)
	c.pop()
	return true
}

// pullFailed is the Consume error handler, called by nats.go on its own
// goroutines. A missed heartbeat, a closed connection or a terminal answer
// of the server (the consumer deleted, a bad request) ends the run; the
// others (a leadership change, a reconnect in progress) the consumption
// survives by itself.
func (c *consumption[M]) pullFailed(_ jetstream.ConsumeContext, err error) {
	if !errors.Is(err, jetstream.ErrNoHeartbeat) && !errors.Is(err, jetstream.ErrConnectionClosed) &&
		!errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, jetstream.ErrConsumerDeleted) &&
		!errors.Is(err, jetstream.ErrBadRequest) {
		return
	}
	c.mu.Lock()
	first := c.err == nil && c.run.Err() == nil
	if first {
		c.err = err
	}
	c.mu.Unlock()
	if first {
		c.fail(err)
	}
}

// pullErr returns the failure that ended the pull, if any.
func (c *consumption[M]) pullErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// finish returns what the run took and did not hand over, once the pull is
// closed and the sender has returned, and has the callback give back
// itself anything that would still come.
func (c *consumption[M]) finish() []*delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = true
	back := c.back
	back = append(back, c.queue...)
	c.back, c.queue = nil, nil
	return back
}

// decodeSafe calls decode, turning a panic into an error: a payload that
// makes the decoder panic is as undecodable as one it rejects, and must not
// end the Run (nor, restarted, every Run after it).
func (s *Source[M]) decodeSafe(data []byte) (v M, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decode panicked: %v", p)
		}
	}()
	return s.decode(data)
}

// keep extends the unsettled deliveries of sess until stop is closed, and
// ends the run (end) when the sink is shut down. Each tick (AckWait/3) it
// sends InProgress for the deliveries whose AckWait was last restarted a
// tick or more ago and that were received less than MaxExtension ago. So
// no delivery goes two thirds of its AckWait without an InProgress. With
// a BackOff, "AckWait" here is the shortest of AckWait and the BackOff
// steps (see ackDeadline), which the server may apply to a redelivery.
//
// The AckWait is the consumer's current one: another Start on the same
// durable may change it while this Run runs, and the server applies a new
// AckWait at once to the deliveries already out. A watcher re-reads it
// every [ackWaitRefresh]; when it changes, the tick follows, and a lowered
// AckWait has the due deliveries extended at once. The watcher runs in a
// goroutine of its own, so that a slow answer never delays an extension
// or the end of the run. The rejected design read the AckWait only at
// Start: a Run then extended at a third of an AckWait that no longer was,
// and the server redelivered what it held.
func (s *sourceState) keep(sess *session, sinkDone <-chan struct{}, end context.CancelCauseFunc, stop <-chan struct{}) {
	ackWait := sess.ackWait
	tick := max(ackWait/3, time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var waits chan time.Duration // nil, never ready, without a watcher
	if sess.readAckWait != nil {
		waits = make(chan time.Duration)
		ctx, cancel := context.WithCancel(context.Background())
		var watcher sync.WaitGroup
		watcher.Go(func() { watchAckWait(ctx, sess.readAckWait, waits) })
		defer watcher.Wait()
		defer cancel()
	}
	extend := func(now time.Time) {
		for _, d := range sess.due(now.Add(-tick), now.Add(-s.cfg.MaxExtension)) {
			if d.extend() == nil {
				s.stats.extended.Add(1)
			}
		}
	}
	for {
		select {
		case <-stop:
			return
		case <-sinkDone:
			end(nil)
			sinkDone = nil
		case w := <-waits:
			if w == ackWait || w <= 0 {
				continue
			}
			lowered := w < ackWait
			ackWait = w
			tick = max(ackWait/3, time.Millisecond)
			t.Reset(tick)
			if lowered {
				extend(time.Now())
			}
		case now := <-t.C:
			extend(now)
		}
	}
}

// ackWaitRefresh is how often a running Source re-reads its consumer's
// AckWait: one consumer info request a second per Run.
const ackWaitRefresh = time.Second

// watchAckWait reads the consumer's AckWait every ackWaitRefresh and sends
// it on waits, until ctx ends. A failed read is skipped: if the connection
// is gone, Run ends for that reason.
func watchAckWait(ctx context.Context, read func(context.Context) (time.Duration, error), waits chan<- time.Duration) {
	t := time.NewTicker(ackWaitRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, ackWaitRefresh)
		w, err := read(rctx)
		cancel()
		if err != nil {
			continue
		}
		select {
		case waits <- w:
		case <-ctx.Done():
			return
		}
	}
}

// isDone reports whether sink's run has been shut down.
func isDone[T any](sink fanin.Sink[T]) bool {
	select {
	case <-sink.Done():
		return true
	default:
		return false
	}
}

// metaOf reads the delivery metadata of m.
func metaOf(m jetstream.Msg) (Meta, error) {
	md, err := m.Metadata()
	if err != nil {
		return Meta{}, err
	}
	return Meta{
		ID:           m.Headers().Get(jetstream.MsgIDHeader),
		Subject:      m.Subject(),
		Stream:       md.Stream,
		Consumer:     md.Consumer,
		StreamSeq:    md.Sequence.Stream,
		ConsumerSeq:  md.Sequence.Consumer,
		NumDelivered: md.NumDelivered,
		Stored:       md.Timestamp,
	}, nil
}

// maxReason bounds a termination reason, which travels in a server
// advisory.
const maxReason = 200

// truncate cuts s to at most n bytes, on a UTF-8 character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Stats returns a snapshot of the Source's counts.
func (s *Source[M]) Stats() SourceStats {
	st := SourceStats{
		Runs:         s.stats.runs.Load(),
		Received:     s.stats.received.Load(),
		Redelivered:  s.stats.redelivered.Load(),
		HandedOver:   s.stats.handed.Load(),
		Acked:        s.stats.acked.Load(),
		Naked:        s.stats.naked.Load(),
		Termed:       s.stats.termed.Load(),
		Poison:       s.stats.poison.Load(),
		Returned:     s.stats.returned.Load(),
		Extended:     s.stats.extended.Load(),
		DialFailures: s.stats.dialFailures.Load(),
	}
	for _, sess := range s.openSessions() {
		if sess.isClosed() {
			continue // lost: the server redelivers what was open on it
		}
		sess.mu.Lock()
		st.Unsettled += len(sess.open)
		sess.mu.Unlock()
	}
	return st
}

// Close ends the Source for good, in this order: it marks the Source
// closed, so that Start and Run return [ErrClosed] from then on; it stops
// every Run in progress and waits for it to return; it naks every delivery
// still unsettled, so that the server delivers it again at once (a program
// that settles one at the same moment keeps its own reply, and later calls
// on it return [ErrSettled]); it waits for every AckSync in flight to be
// answered, and naks the delivery if the AckSync failed; and it closes
// every connection.
//
// Close returns nil once all that is done. If ctx ends first, Close stops
// waiting: it closes every connection at once, gives up what it had not
// given back yet without a reply (the server delivers it again after
// AckWait; an AckSync cut off fails, and the server may or may not have
// recorded its Ack), and returns ctx.Err(). Either way, when Close returns
// no connection of the Source is open and no delivery is unsettled. Close
// may be called again; it returns nil once the Runs it stopped have
// returned. Call it after the stream the Source feeds has been drained, so
// that the program's acks are not cut off.
func (s *Source[M]) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	runs := make([]*runCtl, 0, len(s.runs))
	for r := range s.runs {
		runs = append(runs, r)
	}
	prepared := s.prepared
	s.prepared = nil
	s.mu.Unlock()
	if prepared != nil {
		prepared.end()
	}
	for _, r := range runs {
		r.cancel()
	}
	for _, r := range runs {
		select {
		case <-r.done:
		case <-ctx.Done():
			for _, sess := range s.openSessions() {
				sess.abandon()
			}
			return ctx.Err()
		}
	}
	var err error
	for _, sess := range s.openSessions() {
		if err != nil {
			sess.abandon()
		} else {
			err = sess.giveBack(ctx)
		}
	}
	return err
}

// openSessions returns the sessions whose connection is open, so that the
// caller can visit them without holding s.mu.
func (s *sourceState) openSessions() []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.sessions))
}
