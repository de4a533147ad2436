package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fanin-go/fanin"
)

var (
	// ErrNoAddr is returned by [Handler.Start] when Config.Addr is empty.
	ErrNoAddr = errors.New("webhook: Config.Addr is empty")

	// ErrNotBound is returned by [Handler.Run] when no [Handler.Start]
	// has bound an address for it.
	ErrNotBound = errors.New("webhook: Run called before Start")
)

// writeTime is how long an answer may take to be written once Run's
// context has ended: an answer being written then, or begun later, gets a
// write deadline that far ahead, and Run waits that long, once the grace
// is over, for handlers to write their last answers. An answer is a few
// hundred bytes, or a reply: a client that reads takes far less. One that
// does not read would otherwise hold its handler, and Run, until the grace
// ended and every connection was closed.
//
// The deadline is not "now", which would free Run at once: a write that
// has not yet reached the socket when the deadline is set fails although
// its client reads, and a caller would miss the answer that says its
// message was accepted.
const writeTime = time.Second

// headerSlack is what net/http reads of a request's line and headers
// beyond its Server.MaxHeaderBytes (4096 bytes, "bufio slop" in its
// source): Run gives the server MaxHeaderBytes less this, so that a
// request with more than MaxHeaderBytes of them is refused, as documented.
const headerSlack = 4096

// server is the listener that Start binds for Run.
type server struct {
	mu sync.Mutex
	ln net.Listener // bound by Start, used by Run; guarded by mu
}

// Start binds Config.Addr, so that a fanin.Group counts h as running only
// once it can serve. It is the [fanin.Starter] half of h as an adapter. It
// returns [ErrNoAddr] if Config.Addr is empty, or the error of binding.
// A Start whose Run never came is undone by the next Start.
func (h *Handler) Start(ctx context.Context) error {
	if h.cfg.Addr == "" {
		return ErrNoAddr
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", h.cfg.Addr)
	if err != nil {
		return err
	}
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	if h.srv.ln != nil {
		h.srv.ln.Close()
	}
	h.srv.ln = ln
	return nil
}

// Addr returns the address the last Start bound, or nil before Start.
func (h *Handler) Addr() net.Addr {
	h.srv.mu.Lock()
	defer h.srv.mu.Unlock()
	if h.srv.ln == nil {
		return nil
	}
	return h.srv.ln.Addr()
}

// Run attaches h to s and serves on the address bound by Start until ctx
// ends, with the server limits of [Config]. It is the [fanin.Adapter]
// half of h, and returns [ErrNotBound] if Start has not bound an address.
//
// When ctx ends, Run shuts down in these steps, and returns nil (or, if
// the listener failed before ctx ended, the listener's error, after the
// same steps):
//
//  1. It stops accepting connections, and closes every connection that
//     is not serving a request: idle ones, and those still sending their
//     request's headers (slowloris clients among them).
//  2. Requests that have not yet placed their message in the stream end
//     at once: a body being read is cut off (a client stalled in the
//     middle of its body is answered 503 closed), and a send waiting for
//     room gives up (503 closed). Such a 503 closed means that the
//     request put nothing in the stream: a repeat of a delivery that an
//     earlier copy put there is refused alike, without the table of
//     deliveries being asked, and gets the first answer if it is retried
//     with this Handler within the window.
//  3. Callers whose messages are in the stream and who wait for a reply
//     keep waiting, up to Config.ShutdownGrace (5 seconds by default)
//     more, while the consumer drains what was accepted; those still
//     waiting then are answered 202 no_reply.
//  4. It closes every connection left and waits until net/http reports
//     each closed. When Run returns, no handler runs and every connection
//     is closed; the goroutine that net/http started for each connection
//     has made its last call into this package and has only to return (a
//     leak checker that retries, as goleak does, sees none).
//
// From the moment ctx ends, every answer must be written within 1 second
// of that moment, or of its own start if later: an answer whose client
// does not read it (its connection's buffers full) is then given up, and
// its connection closed.
//
// So Run returns, after ctx ends: at once if no reply is awaited and every
// client reads its answer; within 1 second if a client does not; within
// ShutdownGrace and 1 second if a reply is awaited. net/http adds one wait
// of its own: a connection whose request left more than 256 KiB of its
// body unread (a large body refused before it was read) stays open half a
// second after its answer, so that the client reads the answer before the
// connection is reset, and Run waits for it. Run may be called again after
// a new Start; two Runs at once are not supported.
func (h *Handler) Run(ctx context.Context, s fanin.Sink[Message]) error {
	h.srv.mu.Lock()
	ln := h.srv.ln
	h.srv.mu.Unlock()
	if ln == nil {
		return ErrNotBound
	}
	defer func() {
		h.srv.mu.Lock()
		if h.srv.ln == ln {
			h.srv.ln = nil
		}
		h.srv.mu.Unlock()
	}()
	h.Attach(s)

	rn := newRun(h)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: h.cfg.ReadHeaderTimeout,
		ReadTimeout:       h.cfg.ReadTimeout,
		IdleTimeout:       h.cfg.IdleTimeout,
		MaxHeaderBytes:    max(h.cfg.MaxHeaderBytes-headerSlack, 1),
		// No WriteTimeout: a caller may wait ResponseTimeout for a reply,
		// and an answer is a few hundred bytes.
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), runKey{}, rn)
		},
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ConnState: rn.connState,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error // Serve's, if the listener failed before ctx ended
	failed := false
	select {
	case err = <-served:
		failed = true
	case <-ctx.Done():
	}

	// The run is marked stopped before net/http may close a connection it
	// sees as idle: one whose next request is already read would
	// otherwise be served after its connection was closed, and its caller
	// would never hear that its message was accepted. Marked first, that
	// request is refused instead.
	idle := rn.stop()
	srv.SetKeepAlivesEnabled(false) // also closes idle connections
	ln.Close()
	for _, c := range idle {
		c.Close()
	}
	h.step("stopping")
	if !rn.waitHandlers(h.cfg.ShutdownGrace) {
		rn.endGrace()
		rn.waitHandlers(writeTime)
	}
	rn.endGrace()
	srv.Close()
	if !failed {
		<-served // Serve returns once the listener is closed
	}
	rn.waitConns()
	return err
}

type (
	runKey  struct{} // the *run, in the server's base context
	connKey struct{} // the net.Conn, in each connection's context
)

// runOf returns the Run serving r, or nil if h is mounted elsewhere.
func runOf(r *http.Request) *run {
	rn, _ := r.Context().Value(runKey{}).(*run)
	return rn
}

// run is one Run of a handler: its connections and requests, and the two
// moments of its shutdown, when intake stops and when the grace for
// replies ends. Run tells each request in flight of both itself, by
// calling its cut and endGrace: no goroutine waits for either moment.
type run struct {
	maxConns int

	mu         sync.Mutex
	conns      map[net.Conn]*connInfo // open connections; guarded by mu
	requests   map[*exchange]struct{} // requests being served; guarded by mu
	stopped    bool                   // guarded by mu
	graceEnded bool                   // guarded by mu
	idle       chan struct{}          // closed when stopped with no request; guarded by mu
	gone       chan struct{}          // closed when stopped with no connection; guarded by mu
}

// connInfo is what a run knows of one connection. A connection is
// "active" from the first byte of a request until its answer is written;
// serving and served tell apart the three parts of that time: reading the
// headers, in the handler, writing the answer out.
type connInfo struct {
	state   http.ConnState
	serving bool // a handler runs for its request
	served  bool // the handler of its request has returned
}

func newRun(h *Handler) *run {
	return &run{maxConns: h.cfg.MaxConns, conns: map[net.Conn]*connInfo{}, requests: map[*exchange]struct{}{}}
}

// connState tracks connections for Run; net/http calls it on every change
// of a connection's state.
func (rn *run) connState(c net.Conn, st http.ConnState) {
	closeIt := false
	rn.mu.Lock()
	switch st {
	case http.StateNew:
		// Over the cap, or after the stop, the connection is closed at
		// once; it is tracked until net/http reports it closed.
		closeIt = rn.stopped || len(rn.conns) >= rn.maxConns
		rn.conns[c] = &connInfo{state: st}
	case http.StateActive, http.StateIdle:
		if ci := rn.conns[c]; ci != nil {
			ci.state, ci.serving, ci.served = st, false, false
		}
		closeIt = rn.stopped
	case http.StateHijacked, http.StateClosed:
		delete(rn.conns, c)
		if rn.stopped && len(rn.conns) == 0 && rn.gone != nil {
			close(rn.gone)
			rn.gone = nil
		}
	}
	rn.mu.Unlock()
	if closeIt {
		c.Close()
	}
}

// enter counts a request in and reports whether the run still takes
// requests; leave must follow either way.
func (rn *run) enter(x *exchange) bool {
	c, _ := x.r.Context().Value(connKey{}).(net.Conn)
	x.run = rn
	x.intake, x.stopIntake = context.WithCancel(x.r.Context())
	rn.mu.Lock()
	rn.requests[x] = struct{}{}
	if ci := rn.conns[c]; ci != nil {
		ci.serving = true
	}
	stopped, graceEnded := rn.stopped, rn.graceEnded
	rn.mu.Unlock()
	// A request that came in after a step of the shutdown has missed it:
	// it takes the step itself.
	if stopped {
		x.cut()
	}
	if graceEnded {
		x.endGrace()
	}
	return !stopped
}

// leave counts a request out.
func (rn *run) leave(x *exchange) {
	x.stopIntake()
	c, _ := x.r.Context().Value(connKey{}).(net.Conn)
	rn.mu.Lock()
	defer rn.mu.Unlock()
	delete(rn.requests, x)
	if ci := rn.conns[c]; ci != nil {
		ci.serving, ci.served = false, true
	}
	if rn.stopped && len(rn.requests) == 0 && rn.idle != nil {
		close(rn.idle)
		rn.idle = nil
	}
}

// stop marks the run stopped, ends the intake of every request in flight,
// and returns the connections to close: those serving no request (idle,
// or still sending a request's headers, which net/http reports as idle or
// new). One whose handler has returned is writing its answer out, and
// closes by itself after it, keep-alives being off.
func (rn *run) stop() []net.Conn {
	rn.mu.Lock()
	rn.stopped = true
	var conns []net.Conn
	for c, ci := range rn.conns {
		if ci.state != http.StateActive || (!ci.serving && !ci.served) {
			conns = append(conns, c)
		}
	}
	requests := make([]*exchange, 0, len(rn.requests))
	for x := range rn.requests {
		requests = append(requests, x)
	}
	rn.mu.Unlock()
	// Outside the lock: cut takes each request's own lock. A request that
	// leaves meanwhile is cut for nothing, which is harmless.
	for _, x := range requests {
		x.cut()
	}
	return conns
}

// endGrace ends the wait for a reply of every request in flight.
func (rn *run) endGrace() {
	rn.mu.Lock()
	rn.graceEnded = true
	requests := make([]*exchange, 0, len(rn.requests))
	for x := range rn.requests {
		requests = append(requests, x)
	}
	rn.mu.Unlock()
	for _, x := range requests {
		x.endGrace()
	}
}

// waitHandlers waits up to d for every request to be served, and reports
// whether they were.
func (rn *run) waitHandlers(d time.Duration) bool {
	rn.mu.Lock()
	if len(rn.requests) == 0 {
		rn.mu.Unlock()
		return true
	}
	if rn.idle == nil {
		rn.idle = make(chan struct{})
	}
	idle := rn.idle
	rn.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}

// waitConns waits until every connection of the run has ended. Run calls
// it after closing them all, so it does not wait long.
func (rn *run) waitConns() {
	rn.mu.Lock()
	if len(rn.conns) == 0 {
		rn.mu.Unlock()
		return
	}
	if rn.gone == nil {
		rn.gone = make(chan struct{})
	}
	gone := rn.gone
	rn.mu.Unlock()
	<-gone
}
