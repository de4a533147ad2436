package wsgate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/fanin-go/fanin"
)

// Defaults for the zero fields of a [Config].
const (
	DefaultMaxConns        = 1024
	DefaultMaxMessageBytes = 4 << 10
	DefaultMaxInflight     = 8
	DefaultMaxPending      = 10_000
	DefaultOutbox          = 512
	DefaultReplyBuffer     = 256
	DefaultSendTimeout     = 5 * time.Second
	DefaultReplyTimeout    = 2 * time.Minute
	DefaultWriteTimeout    = 10 * time.Second
	DefaultPingInterval    = 30 * time.Second
	DefaultPongTimeout     = 10 * time.Second
	DefaultHandshakeTime   = 5 * time.Second
	DefaultShutdownGrace   = 2 * time.Second
)

// closeWait bounds each connection's close once it is decided: the frames
// already queued and the close frame must be written, and the client's
// close frame read, within this time, or the connection is dropped.
const closeWait = time.Second

var (
	// ErrNoAddr is returned by [Gateway.Start] when Config.Addr is empty.
	ErrNoAddr = errors.New("wsgate: Config.Addr is empty")

	// ErrNotBound is returned by [Gateway.Run] when no [Gateway.Start] has
	// bound an address for it.
	ErrNotBound = errors.New("wsgate: Run called before Start")

	// ErrNoConn is returned by [Gateway.Push] when no open connection has
	// the given ID: it never existed, or it has closed or is closing.
	ErrNoConn = errors.New("wsgate: no such connection")

	// ErrOutboxFull is returned by [Gateway.Push] when the connection's
	// outbox was full: the client does not read fast enough, and the
	// connection is being closed with 1008 "too slow".
	ErrOutboxFull = errors.New("wsgate: client outbox full; connection closed")
)

// Config configures a [Gateway]. Every field is optional; a zero field
// takes its default.
type Config struct {
	// Name is the adapter's name in a fanin.Group; default "wsgate".
	Name string

	// Addr is where Run serves, such as "127.0.0.1:8080".
	Addr string

	// OriginPatterns lists the other origins whose pages may connect, as
	// host patterns of path.Match ("chat.example.com", "*.example.com"),
	// or "scheme://host" patterns. A page of the gateway's own host is
	// always allowed; any other cross-site WebSocket is refused 403.
	OriginPatterns []string

	// Authenticate, if set, is called with the upgrade request before the
	// connection is accepted (a browser cannot set headers on a WebSocket:
	// use a cookie or a query parameter). It returns the user, which every
	// message of the connection carries, or an error, and the request is
	// then refused 401 with the error's text. It runs in the request's
	// goroutine, before the upgrade, and should not block long.
	Authenticate func(r *http.Request) (user string, err error)

	// MaxConns bounds the open connections; one more is accepted and
	// closed at once with 1013 "too many connections".
	MaxConns int

	// MaxMessageBytes bounds an inbound message; a larger one closes its
	// connection with 1009.
	MaxMessageBytes int64

	// RateLimit, if set, limits the messages of each connection: every
	// connection has a fanin.Limiter of its own with these bands, made
	// full when it is accepted and gone with it, so that what one
	// connection spends, or spent before it closed, never counts against
	// another. A connection over it is closed with 1008 "rate limit
	// exceeded". It limits a connection, not a person: a client that
	// connects again starts with full buckets (Authenticate and the
	// program's own limiter keyed by user can limit people).
	RateLimit []fanin.Band

	// MaxInflight bounds the messages of one connection whose replies have
	// not ended; one more is refused "too_many_pending". MaxPending
	// bounds them over all connections.
	MaxInflight int
	MaxPending  int

	// Outbox is how many frames may wait to be written to one client. A
	// client whose outbox is full when a frame is added is closed with
	// 1008 "too slow": nothing the program does ever waits for a client.
	Outbox int

	// WriteBuffer, if set, is the size in bytes of each connection's
	// kernel send buffer (SO_SNDBUF). Unset, the system's applies, which
	// Linux grows up to 4 MiB: a client that never reads then holds that
	// much kernel memory, and its outbox fills only after it. A smaller
	// buffer finds such a client sooner; 64 KiB costs a client that reads
	// nothing on a fast network.
	WriteBuffer int

	// ReplyBuffer is how many chunks of one reply may wait between the
	// program and the connection's outbox (see fanin.PendingStreams).
	ReplyBuffer int

	// SendTimeout bounds how long an inbound message waits for room in
	// the stream; after it the message is refused "busy".
	SendTimeout time.Duration

	// ReplyTimeout bounds how long a reply may take from its message's
	// arrival to its end; a reply not ended by then is given up, and the
	// client is sent an error "timeout".
	ReplyTimeout time.Duration

	// WriteTimeout bounds the write of one frame to a client (an answer's
	// chunk, a push): the connection is dropped if the frame is not
	// written within it. It also bounds the answer to a request that is
	// not a WebSocket (the page, a refusal before the upgrade). The
	// WebSocket library bounds the frames it writes itself (pings, pongs,
	// the close) at 5 seconds each.
	WriteTimeout time.Duration

	// PingInterval is how often each connection is pinged, and
	// PongTimeout how long its pong may take; a connection that does not
	// answer is closed with 1008 "ping timeout". The pong is read by the
	// connection's reader, which waits up to SendTimeout for room in the
	// stream: PongTimeout must be longer than SendTimeout.
	PingInterval time.Duration
	PongTimeout  time.Duration

	// HandshakeTimeout bounds reading a request, the upgrade request
	// among them, and how long a connection may be idle between two
	// requests that are not WebSockets.
	HandshakeTimeout time.Duration

	// ShutdownGrace is how long replies in progress may go on once Run's
	// context has ended; a negative value means none.
	ShutdownGrace time.Duration
}

// ConnID identifies one connection of a [Gateway]; IDs are never reused
// by a Gateway.
type ConnID uint64

// A Message is what a client sent, as the gateway delivers it to the
// stream. The program streams its answer through Reply: any number of
// Reply.Send and then Reply.End (or Reply.Fail); each ends up as a frame
// on the connection. It must end every reply it is given; one not ended
// within ReplyTimeout is given up.
type Message struct {
	Conn  ConnID                    // the connection it came on; Push answers it alone
	User  string                    // what Config.Authenticate returned; "" without it
	ID    string                    // the client's ID for the message, echoed in the reply's frames
	Text  string                    // what the client wrote
	Reply fanin.StreamReply[string] // the answer's way back
}

// Stats are a Gateway's counters: totals since New, and Conns, a gauge.
type Stats struct {
	Conns       int    // open now
	Accepted    uint64 // connections accepted
	Refused     uint64 // upgrades refused: origin (403), Authenticate (401), MaxConns (1013)
	Messages    uint64 // messages placed in the stream
	Rejected    uint64 // messages refused: busy, too_many_pending, going_away, closed
	Replies     uint64 // replies that reached their client whole
	RepliesCut  uint64 // replies given up: failed, timed out, overflowed, or their client left
	SlowClosed  uint64 // connections closed 1008 "too slow"
	RateClosed  uint64 // connections closed 1008 "rate limit exceeded"
	BadInput    uint64 // connections closed for a bad message: 1003, 1007, 1009
	PingClosed  uint64 // connections closed 1008 "ping timeout"
	Pushed      uint64 // pushed frames queued
	PushDropped uint64 // pushes to a connection that was closing
}

// Gateway is a WebSocket gateway between browsers and a fanin stream: an
// adapter of a fanin.Group (after fanin.Map to the program's type) that
// serves a chat page at "/" and WebSockets at "/ws", delivers each message
// a client sends as a [Message], streams the program's replies back on
// the same connection, and lets the program push text to one connection
// ([Gateway.Push]) or all ([Gateway.Broadcast]).
//
// Nothing the program does waits for a client: every connection has an
// outbox of Config.Outbox frames written by a goroutine of its own, and a
// client whose outbox overflows is closed. See the package documentation
// for the protocol, the limits and the close codes.
//
// A Gateway is safe for simultaneous use by multiple goroutines and must
// not be copied after first use. Its zero value is not usable; call [New].
type Gateway struct {
	cfg     Config
	pending atomic.Pointer[fanin.PendingStreams[string]] // one per Run
	nextID  atomic.Uint64
	sink    atomic.Pointer[fanin.Sink[Message]]

	mu       sync.Mutex
	ln       net.Listener     // bound by Start, used by Run; guarded by mu
	conns    map[ConnID]*conn // open connections; guarded by mu
	stopping bool             // set when Run's context ended; guarded by mu
	runCtx   context.Context  // the context of the Run in progress; guarded by mu
	// Both are added to only under mu while !stopping, so that no Add
	// races the Waits of Run, which come after stopping is set.
	connsWG sync.WaitGroup // every connection's goroutines
	replyWG sync.WaitGroup // every reply in progress
	stats   counters
}

type counters struct {
	accepted, refused, messages, rejected, replies, repliesCut atomic.Uint64
	slow, rate, bad, ping, pushed, pushDropped                 atomic.Uint64
}

// New returns a Gateway with cfg, its zero fields set to their defaults.
// It panics if a bound or a duration of cfg is negative (ShutdownGrace
// excepted, where negative means none), or if a band of RateLimit is not
// valid (as fanin.NewLimiter does), since no gateway could work with it.
func New(cfg Config) *Gateway {
	for name, v := range map[string]int64{
		"MaxConns": int64(cfg.MaxConns), "MaxMessageBytes": cfg.MaxMessageBytes,
		"MaxInflight": int64(cfg.MaxInflight), "MaxPending": int64(cfg.MaxPending),
		"Outbox": int64(cfg.Outbox), "ReplyBuffer": int64(cfg.ReplyBuffer), "WriteBuffer": int64(cfg.WriteBuffer),
		"SendTimeout": int64(cfg.SendTimeout), "ReplyTimeout": int64(cfg.ReplyTimeout),
		"WriteTimeout": int64(cfg.WriteTimeout), "PingInterval": int64(cfg.PingInterval),
		"PongTimeout": int64(cfg.PongTimeout), "HandshakeTimeout": int64(cfg.HandshakeTimeout),
	} {
		if v < 0 {
			panic(fmt.Sprintf("wsgate: New called with Config.%s %d; it must not be negative", name, v))
		}
	}
	cfg.Name = cmp.Or(cfg.Name, "wsgate")
	cfg.MaxConns = cmp.Or(cfg.MaxConns, DefaultMaxConns)
	cfg.MaxMessageBytes = cmp.Or(cfg.MaxMessageBytes, DefaultMaxMessageBytes)
	cfg.MaxInflight = cmp.Or(cfg.MaxInflight, DefaultMaxInflight)
	cfg.MaxPending = cmp.Or(cfg.MaxPending, DefaultMaxPending)
	cfg.Outbox = cmp.Or(cfg.Outbox, DefaultOutbox)
	cfg.ReplyBuffer = cmp.Or(cfg.ReplyBuffer, DefaultReplyBuffer)
	cfg.SendTimeout = cmp.Or(cfg.SendTimeout, DefaultSendTimeout)
	cfg.ReplyTimeout = cmp.Or(cfg.ReplyTimeout, DefaultReplyTimeout)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.PingInterval = cmp.Or(cfg.PingInterval, DefaultPingInterval)
	cfg.PongTimeout = cmp.Or(cfg.PongTimeout, DefaultPongTimeout)
	cfg.HandshakeTimeout = cmp.Or(cfg.HandshakeTimeout, DefaultHandshakeTime)
	switch {
	case cfg.ShutdownGrace == 0:
		cfg.ShutdownGrace = DefaultShutdownGrace
	case cfg.ShutdownGrace < 0:
		cfg.ShutdownGrace = 0
	}
	g := &Gateway{
		cfg:   cfg,
		conns: map[ConnID]*conn{},
	}
	if len(cfg.RateLimit) > 0 {
		// Each connection makes its limiter from these bands: a copy, so
		// that the caller's slice may change, checked here, so that a bad
		// band panics in New rather than in a connection's handler.
		g.cfg.RateLimit = slices.Clone(cfg.RateLimit)
		fanin.NewLimiter(g.cfg.RateLimit...)
	}
	return g
}

// Name returns the gateway's name as an adapter of a fanin.Group.
func (g *Gateway) Name() string { return g.cfg.Name }

// Start binds Config.Addr, so that a fanin.Group counts g as running only
// once it can serve; with fanin.WithFailFast an address in use ends the
// run at once. It is the fanin.Starter half of g as an adapter. It returns
// [ErrNoAddr] if Config.Addr is empty, or the error of binding. A Start
// whose Run never came is undone by the next Start.
func (g *Gateway) Start(ctx context.Context) error {
	if g.cfg.Addr == "" {
		return ErrNoAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", g.cfg.Addr)
	if err != nil {
		return err
	}
	g.mu.Lock()
	old := g.ln
	g.ln = ln
	g.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Addr returns the address the last Start bound, or nil before Start.
func (g *Gateway) Addr() net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln == nil {
		return nil
	}
	return g.ln.Addr()
}

// Stats returns the gateway's counters.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	n := len(g.conns)
	g.mu.Unlock()
	c := &g.stats
	return Stats{
		Conns: n, Accepted: c.accepted.Load(), Refused: c.refused.Load(),
		Messages: c.messages.Load(), Rejected: c.rejected.Load(),
		Replies: c.replies.Load(), RepliesCut: c.repliesCut.Load(),
		SlowClosed: c.slow.Load(), RateClosed: c.rate.Load(), BadInput: c.bad.Load(),
		PingClosed: c.ping.Load(), Pushed: c.pushed.Load(), PushDropped: c.pushDropped.Load(),
	}
}

type connKey struct{} // the net.Conn, in each connection's context

// Run serves on the address bound by Start until ctx ends, delivering
// messages into s. It is the fanin.Adapter half of g, and returns
// [ErrNotBound] if Start has not bound an address, or the listener's
// error if it failed (after the same shutdown).
//
// When ctx ends, Run shuts down in these steps:
//
//  1. It stops accepting connections; new messages are refused
//     "going_away".
//  2. Replies in progress go on for up to Config.ShutdownGrace (2 s by
//     default) while the consumer drains the stream.
//  3. Replies still in progress then end with an error frame
//     "going_away", and every connection is sent what its outbox holds
//     and a close frame 1001 "server shutting down".
//  4. Each connection has 1 second to write what it holds, and 1 more
//     for the close handshake; one whose client has not completed them
//     by then is dropped.
//
// So Run returns within ShutdownGrace and about 2 seconds of ctx's end,
// with every connection closed and every goroutine it started returned.
// Run may be called again after a new Start; two Runs at once are not
// supported.
func (g *Gateway) Run(ctx context.Context, s fanin.Sink[Message]) error {
	pending := fanin.NewPendingStreams[string](g.cfg.MaxPending, g.cfg.ReplyBuffer)
	g.mu.Lock()
	ln := g.ln
	if ln != nil {
		g.stopping = false
		g.runCtx = ctx
		g.pending.Store(pending)
	}
	g.mu.Unlock()
	if ln == nil {
		return ErrNotBound
	}
	defer func() {
		g.mu.Lock()
		if g.ln == ln {
			g.ln = nil
		}
		g.mu.Unlock()
	}()
	g.sink.Store(&s)

	srv := &http.Server{
		Handler:           g.mux(),
		ReadHeaderTimeout: g.cfg.HandshakeTimeout,
		ReadTimeout:       g.cfg.HandshakeTimeout,
		// Bounds the answer to a plain HTTP request (the page, a refusal
		// before the upgrade) to a client that reads it slowly or not at
		// all; such a connection is not counted in MaxConns, so only time
		// bounds it. An upgraded connection does not keep it: net/http
		// clears a connection's deadlines when it is hijacked, and the
		// writer sets a deadline for each frame.
		WriteTimeout:   g.cfg.WriteTimeout,
		MaxHeaderBytes: 8 << 10,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*net.TCPConn); ok && g.cfg.WriteBuffer > 0 {
				tc.SetWriteBuffer(g.cfg.WriteBuffer)
			}
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
	}

	g.mu.Lock()
	g.stopping = true
	g.mu.Unlock()
	// Closes the listener and every connection net/http still owns: those
	// sending their upgrade request. Upgraded connections are the
	// gateway's, closed below.
	srv.Close()
	if err == nil {
		<-served
	}

	replies := make(chan struct{})
	go func() { g.replyWG.Wait(); close(replies) }()
	grace := time.NewTimer(g.cfg.ShutdownGrace)
	select {
	case <-replies:
	case <-grace.C:
	}
	grace.Stop()
	pending.Close() // every reply left ends "going_away"; relays return
	<-replies

	for _, c := range g.snapshot() {
		c.closeWith(websocket.StatusGoingAway, "server shutting down", false)
	}
	g.connsWG.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// snapshot returns the open connections.
func (g *Gateway) snapshot() []*conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	cs := make([]*conn, 0, len(g.conns))
	for _, c := range g.conns {
		cs = append(cs, c)
	}
	return cs
}

// Push queues text for the connection id, as a frame
// {"type":"push","text":...}. It never waits: it returns nil if the frame
// is queued, [ErrNoConn] if id is not an open connection, or
// [ErrOutboxFull] if the connection's outbox was full, which closes it.
func (g *Gateway) Push(id ConnID, text string) error {
	g.mu.Lock()
	c := g.conns[id]
	g.mu.Unlock()
	if c == nil {
		return ErrNoConn
	}
	return c.push(encode(frame{Type: "push", Text: text}), true)
}

// Broadcast queues text for every open connection, as Push does, and
// returns how many connections it was queued for. It never waits for any
// client: one whose outbox is full is closed instead.
func (g *Gateway) Broadcast(text string) int {
	f := encode(frame{Type: "push", Text: text}) // one encoding, shared by every outbox
	n := 0
	for _, c := range g.snapshot() {
		if c.push(f, true) == nil {
			n++
		}
	}
	return n
}

// frame is what the gateway sends; see the package documentation.
type frame struct {
	Type  string `json:"type"`
	ID    string `json:"id,omitempty"`
	Text  string `json:"text,omitempty"`
	Error string `json:"error,omitempty"`
}

// inbound is what a client sends.
type inbound struct {
	ID   *string `json:"id"`
	Text *string `json:"text"`
}

func encode(f frame) []byte {
	b, err := json.Marshal(f)
	if err != nil { // strings only: cannot happen
		panic(fmt.Sprintf("wsgate: encoding a frame: %v", err))
	}
	return b
}
