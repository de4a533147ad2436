package wsgate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/fanin-go/fanin"
)

// maxIDBytes bounds the ID a client gives a message.
const maxIDBytes = 128

// errDropped tells the writer that the frames it holds were dropped by a
// close that does not send them (a client too slow, bad input).
var errDropped = errors.New("wsgate: frame dropped by the close")

// conn is one WebSocket connection. Its goroutines: the HTTP handler's,
// which reads; a writer, which alone writes frames from the outbox; one
// relay per reply in progress, which moves chunks from the reply to the
// outbox; and at most one ping at a time. Nothing outside them ever
// writes to the socket, so a client that does not read holds only its own
// writer.
type conn struct {
	g      *Gateway
	id     ConnID
	user   string
	nc     net.Conn // the TCP connection, for deadlines
	ws     *websocket.Conn
	runCtx context.Context // Run's: ends at shutdown

	// limiter is the connection's own bucket for Config.RateLimit, nil
	// without it; only the reader uses it. One per connection, rather than
	// a fanin.KeyedLimiter of the gateway keyed by connection, so that it
	// goes with its connection: a keyed limiter cannot drop the bucket of
	// a connection that has closed, and with its keys bounded, the buckets
	// of connections that had left refused later ones.
	limiter *fanin.Limiter

	// hard ends the connection: the reader's Read (the library closes the
	// connection when its context ends), the relays and the ping. Only
	// the writer's exit and the reader's exit cancel it.
	hard    context.Context
	cancel  context.CancelFunc
	wake    chan struct{} // room for one signal: the outbox changed; never closed
	wg      sync.WaitGroup
	pinging atomic.Bool

	mu       sync.Mutex
	out      [][]byte             // frames to write, oldest first; guarded by mu
	inflight int                  // replies in progress; guarded by mu
	closing  bool                 // a close is decided; nothing more is queued; guarded by mu
	dropped  bool                 // and the frames not yet written are dropped; guarded by mu
	code     websocket.StatusCode // the close decided; guarded by mu
	reason   string               // guarded by mu
}

func (g *Gateway) mux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", servePage)
	m.HandleFunc("GET /ws", g.serveWS)
	return m
}

// serveWS upgrades one connection and serves it until it closes.
func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request) {
	var user string
	if g.cfg.Authenticate != nil {
		u, err := g.cfg.Authenticate(r)
		if err != nil {
			g.stats.refused.Add(1)
			http.Error(w, "wsgate: unauthorized: "+err.Error(), http.StatusUnauthorized)
			return
		}
		user = u
	}
	nc, _ := r.Context().Value(connKey{}).(net.Conn)
	c := &conn{g: g, id: ConnID(g.nextID.Add(1)), user: user, nc: nc, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	if g.stopping {
		g.mu.Unlock()
		http.Error(w, "wsgate: shutting down", http.StatusServiceUnavailable)
		return
	}
	full := len(g.conns) >= g.cfg.MaxConns
	if !full {
		g.conns[c.id] = c
	}
	runCtx := g.runCtx
	g.connsWG.Add(1)
	g.mu.Unlock()
	defer g.connsWG.Done()
	defer g.remove(c.id)

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:  g.cfg.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil { // Accept has answered: 403 for a foreign origin, 4xx for no upgrade
		g.stats.refused.Add(1)
		return
	}
	if full {
		g.stats.refused.Add(1)
		nc.SetDeadline(time.Now().Add(closeWait))
		ws.Close(websocket.StatusTryAgainLater, "too many connections")
		nc.Close()
		return
	}
	g.stats.accepted.Add(1)
	c.ws = ws
	c.runCtx = runCtx
	if len(g.cfg.RateLimit) > 0 {
		c.limiter = fanin.NewLimiter(g.cfg.RateLimit...)
	}
	c.hard, c.cancel = context.WithCancel(context.Background())
	c.serve()
}

// remove forgets connection id.
func (g *Gateway) remove(id ConnID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, id)
}

// serve reads messages until the connection ends, then waits for the
// connection's other goroutines.
func (c *conn) serve() {
	c.ws.SetReadLimit(c.g.cfg.MaxMessageBytes)
	c.wg.Go(c.writeLoop)
	defer func() {
		c.cancel()
		c.wg.Wait()
		c.nc.Close()
	}()
	for {
		typ, data, err := c.ws.Read(c.hard)
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				// The library has sent 1009 and closed.
				c.g.stats.bad.Add(1)
			}
			return
		}
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if closing {
			// Read on only to take the client's close frame.
			continue
		}
		c.receive(typ, data)
	}
}

// receive handles one message.
func (c *conn) receive(typ websocket.MessageType, data []byte) {
	g := c.g
	if typ != websocket.MessageText {
		c.badInput(websocket.StatusUnsupportedData, "binary messages are not accepted: send JSON text")
		return
	}
	if !utf8.Valid(data) {
		c.badInput(websocket.StatusInvalidFramePayloadData, "message is not valid UTF-8")
		return
	}
	var in inbound
	if err := json.Unmarshal(data, &in); err != nil || in.Text == nil || (in.ID != nil && len(*in.ID) > maxIDBytes) {
		c.badInput(websocket.StatusInvalidFramePayloadData, `message is not {"id": "...", "text": "..."}`)
		return
	}
	if !c.limiter.Allow() { // a nil limiter (no RateLimit) allows every message
		if c.closeWith(websocket.StatusPolicyViolation, "rate limit exceeded", true) {
			g.stats.rate.Add(1)
		}
		return
	}
	var id string
	if in.ID != nil {
		id = *in.ID
	}
	c.deliver(id, *in.Text)
}

// badInput closes the connection for a message it cannot take.
func (c *conn) badInput(code websocket.StatusCode, reason string) {
	if c.closeWith(code, reason, true) {
		c.g.stats.bad.Add(1)
	}
}

// deliver places one message in the stream and starts relaying its reply.
func (c *conn) deliver(id, text string) {
	g := c.g
	c.mu.Lock()
	over := c.inflight >= g.cfg.MaxInflight
	if !over {
		c.inflight++
	}
	c.mu.Unlock()
	if over {
		c.refuse(id, "too_many_pending")
		return
	}
	g.mu.Lock()
	if g.stopping {
		g.mu.Unlock()
		c.replyDone()
		c.refuse(id, "going_away")
		return
	}
	g.replyWG.Add(1)
	g.mu.Unlock()

	sink := *g.sink.Load()
	rd, err := g.pending.Load().Open(func(r fanin.StreamReply[string]) error {
		// Bounded by SendTimeout, the shutdown, and the connection.
		ctx, cancel := context.WithTimeout(c.runCtx, g.cfg.SendTimeout)
		defer cancel()
		stop := context.AfterFunc(c.hard, cancel)
		defer stop()
		return sink.Send(ctx, Message{Conn: c.id, User: c.user, ID: id, Text: text, Reply: r})
	})
	if err != nil {
		c.replyDone()
		g.replyWG.Done()
		switch {
		case errors.Is(err, fanin.ErrTooManyPending):
			c.refuse(id, "too_many_pending")
		case errors.Is(err, context.DeadlineExceeded):
			c.refuse(id, "busy")
		case errors.Is(err, fanin.ErrClosed) || c.runCtx.Err() != nil:
			c.refuse(id, "going_away")
		default:
			c.refuse(id, "send_failed")
		}
		return
	}
	g.stats.messages.Add(1)
	c.push(encode(frame{Type: "accepted", ID: id}), false)
	c.wg.Go(func() {
		defer g.replyWG.Done()
		defer c.replyDone()
		c.relay(id, rd)
	})
}

func (c *conn) replyDone() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
}

// refuse tells the client its message was not placed in the stream.
func (c *conn) refuse(id, reason string) {
	c.g.stats.rejected.Add(1)
	c.push(encode(frame{Type: "refused", ID: id, Error: reason}), false)
}

// relay moves the reply's chunks to the outbox until its end, and gives
// the reply up if the connection ends or ReplyTimeout passes.
func (c *conn) relay(id string, rd *fanin.ReplyReader[string]) {
	g := c.g
	ctx, cancel := context.WithTimeout(c.hard, g.cfg.ReplyTimeout)
	defer cancel()
	defer rd.Close()
	for {
		chunk, err := rd.Next(ctx)
		var f frame
		switch {
		case err == nil:
			if c.push(encode(frame{Type: "chunk", ID: id, Text: chunk}), false) != nil {
				g.stats.repliesCut.Add(1)
				return
			}
			continue
		case err == io.EOF:
			if c.push(encode(frame{Type: "end", ID: id}), false) == nil {
				g.stats.replies.Add(1)
			} else {
				g.stats.repliesCut.Add(1)
			}
			return
		case c.hard.Err() != nil: // the connection is gone: nobody to tell
			g.stats.repliesCut.Add(1)
			return
		case errors.Is(err, context.DeadlineExceeded):
			f = frame{Type: "error", ID: id, Error: "timeout"}
		case errors.Is(err, fanin.ErrClosed):
			f = frame{Type: "error", ID: id, Error: "going_away"}
		case errors.Is(err, fanin.ErrReplyOverflow):
			f = frame{Type: "error", ID: id, Error: "overflow"}
		default: // Fail's error, which the program chose to show
			f = frame{Type: "error", ID: id, Error: "failed: " + err.Error()}
		}
		g.stats.repliesCut.Add(1)
		c.push(encode(f), false)
		return
	}
}

// push queues frame f. It never blocks. If the outbox is full, the
// connection is closed 1008 "too slow" and push returns ErrOutboxFull; if
// a close is already decided, ErrNoConn.
func (c *conn) push(f []byte, isPush bool) error {
	g := c.g
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		if isPush {
			g.stats.pushDropped.Add(1)
		}
		return ErrNoConn
	}
	if len(c.out) >= g.cfg.Outbox {
		c.decideCloseLocked(websocket.StatusPolicyViolation, "too slow: outbox full", true)
		c.mu.Unlock()
		g.stats.slow.Add(1)
		c.signal()
		return ErrOutboxFull
	}
	c.out = append(c.out, f)
	c.mu.Unlock()
	if isPush {
		g.stats.pushed.Add(1)
	}
	c.signal()
	return nil
}

// closeWith decides to close the connection with code and reason, after
// the frames already queued unless drop; it never blocks. The writer
// sends the frames and the close frame; it is given closeWait for it.
// It reports whether it decided, false if a close was decided already.
func (c *conn) closeWith(code websocket.StatusCode, reason string, drop bool) bool {
	c.mu.Lock()
	decided := !c.closing
	if decided {
		c.decideCloseLocked(code, reason, drop)
	}
	c.mu.Unlock()
	c.signal()
	return decided
}

// decideCloseLocked records the close; requires c.mu held and !c.closing.
func (c *conn) decideCloseLocked(code websocket.StatusCode, reason string, drop bool) {
	c.closing, c.code, c.reason, c.dropped = true, code, reason, drop
	if drop {
		c.out = nil
	}
	// A frame being written to a client that does not read would hold
	// the writer for up to WriteTimeout: give it closeWait instead.
	// Setting a deadline does not block.
	c.nc.SetWriteDeadline(time.Now().Add(closeWait))
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // a signal is pending: the writer will see everything queued
	}
}

// writeLoop writes the outbox to the socket, pings, and closes the
// connection once a close is decided.
func (c *conn) writeLoop() {
	defer c.cancel()
	tick := time.NewTicker(c.g.cfg.PingInterval)
	defer tick.Stop()
	var spare [][]byte
	for {
		select {
		case <-c.wake:
		case <-tick.C:
			c.ping()
			continue
		case <-c.hard.Done():
			return
		}
		c.mu.Lock()
		batch := c.out
		c.out = spare
		closing, code, reason := c.closing, c.code, c.reason
		c.mu.Unlock()
		for i, f := range batch {
			batch[i] = nil
			if err := c.write(f); err == errDropped {
				// The rest of the batch is dropped too; the close that
				// dropped it has signalled, so the next turn closes.
				clear(batch[i:])
				break
			} else if err != nil {
				return
			}
		}
		// Keep a small outbox for the next batch; let a large one go, so
		// that an idle connection holds little.
		spare = nil
		if cap(batch) <= 16 {
			spare = batch[:0]
		}
		if closing {
			c.nc.SetDeadline(time.Now().Add(closeWait))
			c.ws.Close(code, reason)
			return
		}
	}
}

// write writes one frame, within WriteTimeout, or closeWait once a close
// is decided.
func (c *conn) write(f []byte) error {
	c.mu.Lock()
	if c.dropped {
		c.mu.Unlock()
		return errDropped
	}
	if !c.closing {
		c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteTimeout))
	}
	c.mu.Unlock()
	err := c.ws.Write(context.Background(), websocket.MessageText, f)
	// The deadline is this frame's alone. Left on the socket, it would
	// fail whatever the library writes next once it has passed (a ping,
	// a pong, the echo of a close), and so drop a healthy connection that
	// had been idle for WriteTimeout. The library bounds those writes
	// itself, with contexts of 5 seconds. A close decided meanwhile has
	// set its own deadline, which stays.
	c.mu.Lock()
	if !c.closing {
		c.nc.SetWriteDeadline(time.Time{})
	}
	c.mu.Unlock()
	return err
}

// ping checks that the client answers, in a goroutine of its own: the
// library's Ping waits for the pong, which the reader reads.
func (c *conn) ping() {
	if !c.pinging.CompareAndSwap(false, true) {
		return
	}
	c.wg.Go(func() {
		defer c.pinging.Store(false)
		ctx, cancel := context.WithTimeout(c.hard, c.g.cfg.PongTimeout)
		defer cancel()
		if err := c.ws.Ping(ctx); err != nil && c.hard.Err() == nil &&
			c.closeWith(websocket.StatusPolicyViolation, "ping timeout", true) {
			c.g.stats.ping.Add(1)
		}
	})
}
