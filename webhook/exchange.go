package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/fanin-go/fanin"
)

// Reasons a body was not read.
var (
	errNoPlace = errors.New("webhook: too many requests being verified")
	errCut     = errors.New("webhook: shut down while the body was read")
)

// An exchange is one request and its answer. Only the goroutine serving
// the request uses it, except for cut, which Run calls when its context
// ends.
type exchange struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	rc    *http.ResponseController
	run   *run      // the Run serving the request; nil when mounted elsewhere
	start time.Time // arrival by the handler's clock, for timestamps
	began time.Time // arrival by the wall clock, for I/O deadlines

	read     bool // readBody ran: body and bodyErr are its result
	body     []byte
	bodyErr  error
	placed   bool  // holds a place of MaxVerifying
	held     int64 // bytes counted in Handler.unverified until release
	replayed bool  // the answer is a repeat of a delivery's first answer

	// Under Run, intake is the request's context, canceled also when Run's
	// context ends, so that a send waiting for room gives up.
	intake     context.Context
	stopIntake context.CancelFunc

	mu         sync.Mutex         // between the request's goroutine and Run stopping
	reading    bool               // the body is being read; guarded by mu
	writing    bool               // the answer is being written; guarded by mu
	cutOff     bool               // Run's context ended; guarded by mu
	graceEnded bool               // Run's ShutdownGrace is over; guarded by mu
	endWait    context.CancelFunc // ends the wait for a reply; guarded by mu
}

// readBody reads the body once, with the handler's limits, and holds a
// place of MaxVerifying until release.
func (x *exchange) readBody() ([]byte, error) {
	if x.read {
		return x.body, x.bodyErr
	}
	x.read = true
	h := x.h
	if h.verifying.Add(1) > int64(h.cfg.MaxVerifying) {
		h.verifying.Add(-1)
		x.bodyErr = errNoPlace
		return nil, x.bodyErr
	}
	x.placed = true
	// The deadline is set before reading is marked, so that a cut, which
	// sets a deadline in the past while reading is marked, always has the
	// last word. A writer without deadlines (a test recorder) leaves the
	// read bounded only by the server.
	_ = x.rc.SetReadDeadline(x.began.Add(h.cfg.ReadTimeout))
	x.mu.Lock()
	if x.cutOff {
		x.mu.Unlock()
		x.bodyErr = errCut
		return nil, x.bodyErr
	}
	x.reading = true
	x.mu.Unlock()

	h.step("read body")
	body, err := readAll(x.w, x.r, h.cfg.MaxBodyBytes, x.hold)

	x.mu.Lock()
	x.reading = false
	cut := x.cutOff
	x.mu.Unlock()
	if !cut {
		// A deadline left in place would also end the server's read that
		// watches for the client going away, which cancels the request's
		// context: a caller waiting for a reply longer than ReadTimeout
		// would be answered "canceled".
		_ = x.rc.SetReadDeadline(time.Time{})
	}
	if err != nil && cut {
		err = errCut
	}
	x.body, x.bodyErr = body, err
	return body, err
}

// cut ends the intake of the request, because Run's context ended: a body
// read in progress fails at once, a send gives up, and an answer being
// written must be written within writeTime. Run calls it; it never blocks,
// and it starts no goroutine.
func (x *exchange) cut() {
	x.mu.Lock()
	x.cutOff = true
	// Setting a deadline does not block.
	if x.reading {
		_ = x.rc.SetReadDeadline(time.Now())
	}
	if x.writing {
		_ = x.rc.SetWriteDeadline(time.Now().Add(writeTime))
	}
	x.mu.Unlock()
	x.stopIntake()
}

// waitFor records cancel as the end of the request's wait for a reply, or
// calls it at once if Run's grace is already over; waitFor(nil) clears it.
func (x *exchange) waitFor(cancel context.CancelFunc) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.endWait = cancel
	if cancel != nil && x.graceEnded {
		cancel() // cancel does not block
	}
}

// endGrace ends the request's wait for a reply, because Run's
// ShutdownGrace is over.
func (x *exchange) endGrace() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.graceEnded = true
	if x.endWait != nil {
		x.endWait()
	}
}

// hold counts n more bytes (fewer, if negative) of the body's buffers as
// held before verification.
func (x *exchange) hold(n int64) {
	x.held += n
	x.h.unverified.Add(n)
}

// release gives back the place of MaxVerifying, if readBody took one, and
// stops counting the body's bytes as unverified.
func (x *exchange) release() {
	if x.held != 0 {
		x.h.unverified.Add(-x.held)
		x.held = 0
	}
	if x.placed {
		x.placed = false
		x.h.verifying.Add(-1)
	}
}

// bodyFailed answers a request whose body could not be read.
func (x *exchange) bodyFailed() outcome {
	var tooBig *http.MaxBytesError
	switch err := x.bodyErr; {
	case err == errNoPlace:
		return failRetry(http.StatusServiceUnavailable, "busy", "too many requests being verified; retry later", time.Second)
	case err == errCut:
		return fail(http.StatusServiceUnavailable, "closed", "the webhook is shutting down")
	case errors.As(err, &tooBig):
		return fail(http.StatusRequestEntityTooLarge, "too_large", "body over "+strconv.FormatInt(x.h.cfg.MaxBodyBytes, 10)+" bytes")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fail(http.StatusRequestTimeout, "request_timeout", "the body did not arrive within "+x.h.cfg.ReadTimeout.String())
	}
	return fail(http.StatusBadRequest, "bad_request", "could not read the body")
}

// late answers a request whose body took longer than ReadTimeout, by the
// handler's clock, where no read deadline stopped it.
func (x *exchange) late() outcome {
	x.bodyErr = os.ErrDeadlineExceeded // the connection is not reused
	return x.bodyFailed()
}

// sendFailed answers a send that did not place the message, saying what
// happened: only a full buffer is worth retrying soon.
func (x *exchange) sendFailed(err error) outcome {
	switch {
	case errors.Is(err, fanin.ErrClosed) || x.stopping():
		return fail(http.StatusServiceUnavailable, "closed", "the stream is shut down")
	case errors.Is(err, fanin.ErrNotStarted):
		return fail(http.StatusServiceUnavailable, "not_started", "the stream is not started")
	case errors.Is(err, fanin.ErrRefused):
		// The sink says that the message itself is at fault: the caller
		// must change it, so the answer is a 4xx with the sink's reason,
		// and a retry of the same request would be refused alike.
		return fail(http.StatusUnprocessableEntity, "refused", err.Error())
	case x.r.Context().Err() != nil:
		// Nobody reads this answer, but it is true.
		return fail(statusClientClosed, "canceled", "client closed the request")
	case errors.Is(err, context.DeadlineExceeded):
		// The buffer stayed full for SendTimeout.
		return failRetry(http.StatusServiceUnavailable, "busy", "the stream is full; retry later", time.Second)
	}
	// The sink refused the message for a reason of its own (a program's
	// conversion or encoding failed): a retry would fail alike.
	return fail(http.StatusInternalServerError, "send_failed", "the stream refused the message")
}

// stopping reports whether the Run serving the request is shutting down.
func (x *exchange) stopping() bool {
	return x.run != nil && x.intake.Err() != nil
}

// runEnded reports whether the run that s sends into has ended, or the Run
// serving the request is shutting down.
func (x *exchange) runEnded(s fanin.Sink[Message]) bool {
	select {
	case <-s.Done():
		return true
	default:
		return x.stopping()
	}
}

// write sends the answer. Under Run it flushes, so that the answer is on
// the wire when the handler returns and Run may close the connection; once
// Run's context has ended, the answer must be written within writeTime,
// or the write fails and the connection closes.
func (x *exchange) write(out outcome) {
	// A client that does not read its answer (its socket buffers full)
	// keeps the handler here: the body, up to MaxBodyBytes, must not be
	// held meanwhile, or such clients would hold MaxConns bodies where
	// MaxVerifying promises at most that many. The message, if sent, has
	// its own reference.
	x.body = nil
	if x.run != nil {
		// Marked under the lock that cut takes, so that either cut sees
		// the write or the write sees the cut: the deadline is set once.
		x.mu.Lock()
		x.writing = true
		if x.cutOff {
			_ = x.rc.SetWriteDeadline(time.Now().Add(writeTime))
		}
		x.mu.Unlock()
	}
	b, _ := json.Marshal(out.ans) // four strings: cannot fail
	b = append(b, '\n')
	hd := x.w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	if out.retry > 0 {
		hd.Set("Retry-After", retryAfter(out.retry))
	}
	if out.code == http.StatusMethodNotAllowed {
		hd.Set("Allow", http.MethodPost)
	}
	if x.replayed {
		hd.Set("Idempotent-Replayed", "true")
	}
	// A body left unread, or read only in part, is not worth reading on to
	// keep the connection: the server closes it after the answer.
	if x.bodyErr != nil || (!x.read && x.r.ContentLength != 0) {
		hd.Set("Connection", "close")
	}
	x.h.countAnswer(out.code, out.ans.Status)
	x.h.step("writing")
	x.w.WriteHeader(out.code)
	_, _ = x.w.Write(b)
	if x.run != nil {
		_ = x.rc.Flush()
	}
}

// readAll reads at most max bytes of r's body, failing with an
// *http.MaxBytesError beyond that. A body of known length is read into one
// buffer of that length; past the cap the server is told to close the
// connection rather than read on. hold is told of the bytes of each buffer
// as it is made, and of those of a buffer let go for a larger one.
func readAll(w http.ResponseWriter, r *http.Request, max int64, hold func(n int64)) ([]byte, error) {
	if r.ContentLength > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	body := http.MaxBytesReader(w, r.Body, max)
	if r.ContentLength < 0 {
		return readGrowing(body, max, hold)
	}
	hold(r.ContentLength)
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// readGrowing reads body, which fails past max bytes, into a buffer that
// doubles as it fills but never grows past max bytes, so that a body
// stalled at max holds exactly max. io.ReadAll's growth would leave up to
// a quarter more, unused, for every body being read.
func readGrowing(body io.Reader, max int64, hold func(n int64)) ([]byte, error) {
	buf := make([]byte, 0, min(max, 512))
	hold(int64(cap(buf)))
	for {
		if len(buf) == cap(buf) {
			if int64(cap(buf)) == max {
				// Full: one more byte, read apart, says whether the body
				// ends here or is over max.
				var one [1]byte
				n, err := body.Read(one[:])
				if n > 0 {
					return nil, &http.MaxBytesError{Limit: max}
				}
				if err == io.EOF {
					return buf, nil
				}
				if err != nil {
					return nil, err
				}
				continue
			}
			grown := append(make([]byte, 0, min(max, 2*int64(cap(buf)))), buf...)
			hold(int64(cap(grown) - cap(buf)))
			buf = grown
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
