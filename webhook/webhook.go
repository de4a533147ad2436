package webhook

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanin-go/fanin"
)

// Defaults for the zero fields of a [Config]. MaxContentBytes, MaxPending
// and ResponseTimeout are the reference system's values; the others are
// this package's choices, explained at each field.
const (
	DefaultMaxBodyBytes      = 1 << 20 // 1 MiB
	DefaultMaxContentBytes   = 32 << 10
	DefaultSendTimeout       = 5 * time.Second
	DefaultResponseTimeout   = 60 * time.Second
	DefaultMaxPending        = 100
	DefaultMaxCallers        = 10_000
	DefaultMaxVerifying      = 32
	DefaultMaxAddrs          = 10_000
	DefaultReadTimeout       = 10 * time.Second
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultMaxConns          = 1024
	DefaultDedupWindow       = 10 * time.Minute
	DefaultMaxDeliveries     = 100_000
	DefaultShutdownGrace     = 5 * time.Second
)

// Config configures a [Handler]. Only Verifiers is required; a zero field
// takes its default.
type Config struct {
	// Verifiers check who signed each request: [HMACSHA256], [GitHub],
	// [StandardWebhooks], or a [VerifierFunc] of one's own. A request is
	// verified if any one of them verifies it, so several schemes can be
	// served at once. Without a verifier the handler answers every request
	// 503 unavailable: it never accepts unsigned messages.
	Verifiers []Verifier

	// Name is the adapter's name in a fanin.Group; default "webhook".
	Name string

	// Addr is where Run serves, such as "127.0.0.1:8080"; used only when
	// the handler runs as an adapter of a fanin.Group.
	Addr string

	// Raw selects the raw payload mode: the message carries the verified
	// body bytes as they came, in Message.Body, whatever their shape and
	// content type, so that GitHub's and Standard Webhooks events flow
	// through. Without Raw the body must be the JSON message shape of the
	// package documentation.
	Raw bool

	// Headers names request headers to copy into Message.Header, such as
	// "Content-Type" or "User-Agent". Only the signature of a scheme that
	// signs a header vouches for it: Standard Webhooks signs webhook-id and
	// webhook-timestamp, the HMAC schemes sign no header.
	Headers []string

	// MaxBodyBytes caps the request body, read with a hard limit.
	MaxBodyBytes int64

	// MaxContentBytes caps the content of a JSON message, in bytes. Longer
	// content is refused with 413, or, with TruncateContent, cut at the
	// last whole UTF-8 character that fits; content whose first character
	// does not fit is refused even then, so that no message is empty.
	MaxContentBytes int
	TruncateContent bool

	// RateLimit, if set, limits each caller separately after verification,
	// keyed as RateKey says; MaxCallers bounds how many keys are tracked at
	// once (see fanin.KeyedLimiter).
	RateLimit  []fanin.Band
	RateKey    RateKey
	MaxCallers int

	// MaxVerifying caps the requests whose bodies are being read and
	// verified at once; a request over the cap is answered 503 busy at
	// once, with Retry-After, before its body is read. The buffers of
	// unverified bodies hold at most MaxVerifying * MaxBodyBytes (32 MiB by
	// default), with or without a Content-Length: a buffer grows up to
	// MaxBodyBytes and no further. Requests that carry no signature header
	// of any verifier are refused before they take a place.
	MaxVerifying int

	// AddrLimit, if set, limits each remote address before verification
	// (IPv6 addresses by their /64 prefix, keyed as [ByRemoteAddr] says),
	// so that one source of unsigned requests cannot take every place of
	// MaxVerifying; MaxAddrs bounds how many addresses are tracked at once.
	AddrLimit []fanin.Band
	MaxAddrs  int

	// ReadTimeout bounds reading a request's body, through
	// http.ResponseController, whether the handler serves on its own (Run)
	// or mounted in a program's server; a body not received in time is
	// answered 408. Run also sets it as the server's ReadTimeout.
	//
	// Mounted behind a middleware whose ResponseWriter wrapper hides the
	// connection (it has no Unwrap method that returns the writer it
	// wraps), the handler cannot set the deadline: the body is then bounded
	// only by the server's own http.Server.ReadTimeout, whose expiry is
	// answered 408 alike, and without one not at all, while the request
	// holds a place of MaxVerifying. Give such a wrapper an Unwrap method,
	// or set the server's ReadTimeout. Either way, a body that arrives
	// more than ReadTimeout after its request, by the handler's clock
	// (Clock), is answered 408 and not delivered: whether a delivery is a
	// repeat is judged as of its arrival (see DedupWindow).
	ReadTimeout time.Duration

	// ReadHeaderTimeout, IdleTimeout and MaxHeaderBytes configure the
	// server that Run starts (see net/http.Server); MaxConns caps the
	// connections it keeps open at once, closing new ones over the cap at
	// once. A program that mounts the handler in its own server sets
	// these on that server.
	//
	// MaxHeaderBytes bounds a request's line and headers together, as they
	// arrive: Run takes off the 4 KiB that net/http reads beyond its own
	// MaxHeaderBytes, so that a request with more is answered 431, down to
	// net/http's least, 4 KiB + 1 byte. net/http may also have read up to
	// 4 KiB of a request ahead, with the body of the one before it on the
	// same connection, and does not count those: a request pipelined
	// behind another can have that much more.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	MaxConns          int

	// DedupWindow is how long a delivery ID is remembered after its
	// message entered the stream, at least (see Delivery.Expires); a
	// repeat that arrives within it gets the first answer and is not sent
	// again, however slowly its body then comes. Because a body may take
	// up to ReadTimeout, an ID stays in the table ReadTimeout after it
	// expires. MaxDeliveries caps the IDs held at once, and IDs that no
	// signature covers take at most half of it; a new ID over its cap is
	// answered 503 busy until one leaves, so the table takes MaxDeliveries
	// new IDs per DedupWindow + ReadTimeout (unsigned ones: half, at least
	// one). The default
	// window, 10 minutes, is twice the Standard Webhooks tolerance: a
	// signed request is fresh for 10 minutes in all; Standard Webhooks IDs
	// are kept until stale whatever the window.
	DedupWindow   time.Duration
	MaxDeliveries int

	// SendTimeout is how long a request waits for room in a full buffer
	// before it is answered 503 busy; the request's own context bounds it
	// too.
	SendTimeout time.Duration

	// ResponseTimeout is how long a request that waits for a reply waits.
	// MaxPending is how many callers may wait at once: for a reply, or
	// for the outcome of an earlier copy of their delivery still in
	// flight; one over it is answered 429 too_many_pending.
	ResponseTimeout time.Duration
	MaxPending      int

	// Clock, if set, is the handler's clock: requests' arrival times, by
	// which timestamps are judged fresh or stale and the table of
	// deliveries remembers and forgets IDs. Nil means time.Now. Set it in
	// tests, for instance to the time of a recorded request such as the
	// Standard Webhooks test vector; I/O deadlines (ReadTimeout and the
	// others) always follow the wall clock.
	Clock func() time.Time

	// ShutdownGrace is how long Run, once its context ends, lets callers
	// whose messages are in the stream keep waiting for their replies while
	// the consumer drains; after it they are answered no_reply. A negative
	// value answers them at once.
	ShutdownGrace time.Duration
}

// Message is what the handler sends into the stream.
type Message struct {
	ID string // assigned by the handler, returned to the caller

	// The JSON message shape; empty in raw mode.
	Sender   string            // who sent it, as the signed request says
	Content  string            // the text; at most MaxContentBytes, never empty in a JSON message
	Thread   string            // optional
	Metadata map[string]string // optional

	// Body is the verified request body as it came, never empty: in raw
	// mode, and for a Standard Webhooks event outside it (see the package
	// documentation, Payloads); nil for a JSON message.
	Body []byte

	Event      string      // the event type, if the scheme gives one (see Delivery)
	DeliveryID string      // the sender's delivery ID, if any
	Timestamp  time.Time   // when the sender signed it, if the scheme signs a timestamp (see Delivery)
	Header     http.Header // the headers named in Config.Headers that the request had

	// Reply answers the caller when it waits for a reply: Reply.Wanted
	// reports whether it does, and Reply.Resolve delivers the answer and
	// reports whether the caller received it. Copy it into a message of the
	// program's own type (see fanin.Map) to answer from there.
	Reply fanin.Reply[string]
}

// A RateKey says what Config.RateLimit counts by: [ByRemoteAddr],
// [ByHeader] or [ByField]. The zero RateKey counts JSON messages by their
// Message.Sender, as the message shape is decoded, and raw messages by
// remote address.
type RateKey struct {
	kind rateKind
	name string
}

type rateKind int8

const (
	keyDefault rateKind = iota
	keyRemote
	keyHeader
	keyField
)

// ByRemoteAddr counts requests by the address that connected
// (http.Request.RemoteAddr), IPv6 addresses by their /64 prefix. The IP
// counts alike with or without a port and brackets, as a middleware that
// rewrites RemoteAddr may leave it; a RemoteAddr that is not an IP counts
// as written. The address cannot be forged over TCP, but it is the last
// hop's: behind a proxy every caller shares the proxy's address, and a
// sender that retries from a pool of addresses gets a budget for each.
func ByRemoteAddr() RateKey { return RateKey{kind: keyRemote} }

// ByHeader counts requests by the value of the named header; a request
// without it counts under the empty key. No scheme in this package signs
// it, so a caller can write any value: use it only for a header that a
// proxy in front of the handler sets itself, replacing the caller's, such
// as the client address a trusted load balancer writes. A request that
// carries the header more than once is refused 400: one of the values is
// not the proxy's. It panics if name is empty.
func ByHeader(name string) RateKey {
	if name == "" {
		panic("webhook: ByHeader called with an empty name")
	}
	return RateKey{kind: keyHeader, name: textproto.CanonicalMIMEHeaderKey(name)}
}

// ByField counts requests by a field of the verified JSON body, named by a
// dot-separated path such as "sender" or "repository.full_name", in raw
// mode and out of it alike. Names are matched exactly, case included; a
// body without the field, with one of the path's names twice in an
// object, or not JSON, counts under the empty key. The field is signed,
// so it is what a holder of the secret says: it separates well-behaved
// senders that share a secret, but one that misbehaves can write
// another's name. It panics if path is empty or has an empty part.
func ByField(path string) RateKey {
	if path == "" || strings.Contains("."+path+".", "..") {
		panic(fmt.Sprintf("webhook: ByField called with path %q; it must be names separated by single dots", path))
	}
	return RateKey{kind: keyField, name: path}
}

// statusClientClosed answers a request whose client went away while it
// waited for a reply; nobody reads it, but logs do (nginx uses 499 alike).
const statusClientClosed = 499

// answer is the one JSON shape of every response.
type answer struct {
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Response  string `json:"response"`
	Error     string `json:"error"`
}

// A Handler receives webhook messages and sends them into the fanin stream
// it is attached to. Attach it to a run with [Handler.Attach], or add it to
// a [fanin.Group], whose runs attach it through [Handler.Run].
//
// A Handler is safe for simultaneous use by multiple goroutines and must
// not be copied after first use. Its zero value is not usable; call [New].
type Handler struct {
	cfg       Config
	now       func() time.Time // the clock of timestamps and of the delivery table; tests replace it
	limiter   *fanin.KeyedLimiter[string]
	addrs     *fanin.KeyedLimiter[string] // nil: no limit before verification
	pending   *fanin.Pending[string]
	dedup     *dedup
	verifying atomic.Int64                        // requests holding a place of MaxVerifying
	waiting   atomic.Int64                        // callers holding a place of MaxPending
	sender    atomic.Pointer[fanin.Sink[Message]] // the attached run; nil before Attach
	schemes   []string                            // the scheme of each of cfg.Verifiers, for Stats

	unverified atomic.Int64  // bytes of bodies read and not yet verified or refused
	dedupHits  atomic.Uint64 // repeats answered with the first copy's answer

	statsMu  sync.Mutex
	answers  map[Answer]uint64 // guarded by statsMu
	failures map[string]uint64 // verification failures by scheme; guarded by statsMu

	// hook, if set, is told of steps a test must wait for; nil outside
	// tests.
	hook func(step string)

	srv server // Start and Run
}

// New returns a Handler with the given configuration. It panics if a
// numeric field other than ShutdownGrace is negative, if a verifier is
// nil, or if a rate band is invalid (see fanin.NewKeyedLimiter).
func New(cfg Config) *Handler {
	if cfg.MaxBodyBytes < 0 || cfg.MaxContentBytes < 0 || cfg.MaxCallers < 0 ||
		cfg.SendTimeout < 0 || cfg.ResponseTimeout < 0 || cfg.MaxPending < 0 ||
		cfg.MaxVerifying < 0 || cfg.MaxAddrs < 0 || cfg.ReadTimeout < 0 ||
		cfg.ReadHeaderTimeout < 0 || cfg.IdleTimeout < 0 || cfg.MaxHeaderBytes < 0 ||
		cfg.MaxConns < 0 || cfg.DedupWindow < 0 || cfg.MaxDeliveries < 0 {
		panic("webhook: New called with a negative limit")
	}
	cfg.Verifiers = append([]Verifier(nil), cfg.Verifiers...)
	for i, v := range cfg.Verifiers {
		if v == nil {
			panic(fmt.Sprintf("webhook: New called with a nil verifier (Verifiers[%d])", i))
		}
	}
	cfg.Headers = append([]string(nil), cfg.Headers...)
	for i, name := range cfg.Headers {
		cfg.Headers[i] = textproto.CanonicalMIMEHeaderKey(name)
	}
	cfg.Name = cmp.Or(cfg.Name, "webhook")
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	cfg.MaxContentBytes = cmp.Or(cfg.MaxContentBytes, DefaultMaxContentBytes)
	cfg.MaxCallers = cmp.Or(cfg.MaxCallers, DefaultMaxCallers)
	cfg.MaxVerifying = cmp.Or(cfg.MaxVerifying, DefaultMaxVerifying)
	cfg.MaxAddrs = cmp.Or(cfg.MaxAddrs, DefaultMaxAddrs)
	cfg.ReadTimeout = cmp.Or(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.ReadHeaderTimeout = cmp.Or(cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.MaxHeaderBytes = cmp.Or(cfg.MaxHeaderBytes, DefaultMaxHeaderBytes)
	cfg.MaxConns = cmp.Or(cfg.MaxConns, DefaultMaxConns)
	cfg.DedupWindow = cmp.Or(cfg.DedupWindow, DefaultDedupWindow)
	cfg.MaxDeliveries = cmp.Or(cfg.MaxDeliveries, DefaultMaxDeliveries)
	cfg.SendTimeout = cmp.Or(cfg.SendTimeout, DefaultSendTimeout)
	cfg.ResponseTimeout = cmp.Or(cfg.ResponseTimeout, DefaultResponseTimeout)
	cfg.MaxPending = cmp.Or(cfg.MaxPending, DefaultMaxPending)
	switch {
	case cfg.ShutdownGrace == 0:
		cfg.ShutdownGrace = DefaultShutdownGrace
	case cfg.ShutdownGrace < 0:
		cfg.ShutdownGrace = 0
	}
	h := &Handler{
		cfg:      cfg,
		now:      cfg.Clock,
		pending:  fanin.NewPending[string](cfg.MaxPending),
		dedup:    newDedup(cfg.DedupWindow, cfg.ReadTimeout, cfg.MaxDeliveries),
		answers:  make(map[Answer]uint64),
		failures: make(map[string]uint64),
	}
	h.schemes = make([]string, len(cfg.Verifiers))
	for i, v := range cfg.Verifiers {
		h.schemes[i] = schemeOf(v)
	}
	if len(cfg.RateLimit) > 0 {
		h.limiter = fanin.NewKeyedLimiter[string](cfg.MaxCallers, cfg.RateLimit...)
	}
	if len(cfg.AddrLimit) > 0 {
		h.addrs = fanin.NewKeyedLimiter[string](cfg.MaxAddrs, cfg.AddrLimit...)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// Attach makes h send into s's run from now on. Until the first Attach,
// requests are answered 503 not_started; once s's run is shut down, 503
// closed, until another Attach.
func (h *Handler) Attach(s fanin.Sink[Message]) {
	h.sender.Store(&s)
}

// Name returns the name of h as an adapter of a fanin.Group.
func (h *Handler) Name() string { return h.cfg.Name }

func (h *Handler) step(s string) {
	if h.hook != nil {
		h.hook(s)
	}
}

// ServeHTTP handles one webhook request; see the package documentation for
// the checks and their answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{h: h, w: w, r: r, rc: http.NewResponseController(w), start: h.now(), began: time.Now()}
	if rn := runOf(r); rn != nil {
		serving := rn.enter(x)
		defer rn.leave(x)
		if !serving {
			x.write(fail(http.StatusServiceUnavailable, "closed", "the webhook is shutting down"))
			return
		}
	}
	x.write(h.serve(x))
}

// fail builds a refusal: nothing entered the stream.
func fail(code int, status, msg string) outcome {
	return outcome{code: code, ans: answer{Status: status, Error: msg}}
}

// failRetry builds a refusal that says when to retry.
func failRetry(code int, status, msg string, retry time.Duration) outcome {
	out := fail(code, status, msg)
	out.retry = max(retry, time.Second)
	return out
}

// delivered builds the answer for a message that is in the stream.
func delivered(code int, status, id, response, msg string) outcome {
	return outcome{code: code, ans: answer{MessageID: id, Status: status, Response: response, Error: msg}, inStream: true}
}

func (h *Handler) serve(x *exchange) outcome {
	r := x.r
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
	}
	if len(h.cfg.Verifiers) == 0 {
		return fail(http.StatusServiceUnavailable, "unavailable", "no verifier configured")
	}
	if !h.cfg.Raw {
		switch ct := r.Header.Values("Content-Type"); {
		case len(ct) > 1:
			return fail(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type sent more than once")
		case len(ct) == 0 || !isJSON(ct[0]):
			return fail(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		}
	}
	if h.addrs != nil {
		if retry, err := h.addrs.Take(addrKey(r.RemoteAddr)); err != nil {
			if errors.Is(err, fanin.ErrTooManyKeys) {
				return failRetry(http.StatusServiceUnavailable, "busy", "too many callers; retry later", retry)
			}
			return failRetry(http.StatusTooManyRequests, "rate_limited", "too many requests from this address", retry)
		}
	}
	d, out, ok := h.verify(x)
	if !ok {
		return out
	}
	// Where the handler could not set a read deadline (mounted behind a
	// wrapper that hides the connection), the body may have taken longer
	// than ReadTimeout: it is refused as if the deadline had held, so that
	// every request is judged as of an arrival at most ReadTimeout ago.
	if h.now().Sub(x.start) > h.cfg.ReadTimeout {
		return x.late()
	}
	// Idempotency-Key is checked whether or not the scheme has an ID of its
	// own, which takes precedence: a malformed or repeated one is refused.
	key, problem := idempotencyKey(r.Header)
	if problem != "" {
		return fail(http.StatusBadRequest, "bad_request", problem)
	}
	id := d.ID
	if !d.idSent && id == "" {
		id = key
	}
	if (d.idSent || id != "") && !validDeliveryID(id) {
		return fail(http.StatusBadRequest, "bad_request", badDeliveryID)
	}
	if id == "" {
		return h.deliver(x, d, "")
	}

	bodyHash := maphash.Bytes(h.dedup.body, x.body)
	e, done, c, retry := h.dedup.claim(h.dedup.key(d.signedID, id, bodyHash), bodyHash, d.signedID, d.Expires, x.start, h.now)
	switch c {
	case claimLate:
		return x.late()
	case claimConflict:
		return fail(http.StatusUnprocessableEntity, "id_reused", "this delivery ID was used for another body")
	case claimFull:
		return failRetry(http.StatusServiceUnavailable, "busy", "too many recent deliveries to remember; retry later", retry)
	case claimRepeat:
		h.dedupHits.Add(1)
		select {
		case <-done:
		default:
			// The first copy is in flight: this one waits for its outcome,
			// as a caller waits for a reply, and holds a place of
			// MaxPending, but not its body, which it no longer needs.
			x.body = nil
			if !h.takeWaiting() {
				return tooManyPending()
			}
			defer h.waiting.Add(-1)
			h.step("repeat waits")
			select {
			case <-done:
			case <-r.Context().Done():
				return fail(statusClientClosed, "canceled", "client closed the request")
			}
		}
		if e.out.code == statusClientClosed && !e.out.inStream {
			// The first copy's caller left before its message was
			// placed; this caller did not: nothing is in the stream, and
			// a retry is a new delivery.
			return failRetry(http.StatusServiceUnavailable, "busy", "the first copy's caller left before it was placed; retry", time.Second)
		}
		// Marked only if the shared answer is about a message in the
		// stream: a refusal of the first copy is shared, but there is no
		// delivery to replay, and a retry is a new one.
		x.replayed = e.out.inStream
		return e.out
	}
	// Whatever happens to the first request, a panic included (net/http
	// recovers those), its repeats must be woken and its entry settled.
	settled := false
	defer func() {
		if !settled {
			h.dedup.finish(e, failRetry(http.StatusServiceUnavailable, "busy", "the first delivery failed; retry", time.Second), false, h.now(), time.Time{})
		}
	}()
	out = h.deliver(x, d, id)
	h.dedup.finish(e, out, out.inStream, h.now(), d.Expires)
	settled = true
	return out
}

// An Answer is an HTTP status code and the status word of the JSON answer
// the handler wrote with it, such as 202 "accepted" or 401
// "unauthorized"; the package documentation lists them.
type Answer struct {
	Code   int
	Status string
}

// Stats are a [Handler]'s counts since [New], in the spirit of
// database/sql's DBStats: counters that only grow, and gauges of the
// moment. Every map is a copy that the caller may keep.
type Stats struct {
	// Answers counts the answers written, by code and status. Their sum
	// is the requests served.
	Answers map[Answer]uint64
	// VerifyFailures counts requests answered 401 that carried a scheme's
	// headers and were refused by it (a bad signature, a stale timestamp,
	// a header sent more than once), by scheme: "hmac-sha256", "github",
	// "standard-webhooks", or "custom" for a VerifierFunc or a Verifier of
	// another package. A request that carried no scheme's headers is
	// counted only in Answers.
	VerifyFailures map[string]uint64
	// DedupHits counts requests that repeated a delivery ID already in the
	// table of deliveries and were answered with the first copy's answer,
	// or waited for it; none of them sent a message.
	DedupHits uint64

	Verifying       int   // now: requests holding a place of MaxVerifying
	UnverifiedBytes int64 // now: bytes of the buffers of bodies read or being read and not yet verified; at most MaxVerifying * MaxBodyBytes
	Waiting         int   // now: callers holding a place of MaxPending

	RateLimit fanin.LimiterStats // the per-caller limit of Config.RateLimit; zero without one
	AddrLimit fanin.LimiterStats // the per-address limit of Config.AddrLimit; zero without one
}

// Stats returns a snapshot of h's counts. It takes a lock that each
// request holds only to count its answer.
func (h *Handler) Stats() Stats {
	h.statsMu.Lock()
	st := Stats{Answers: maps.Clone(h.answers), VerifyFailures: maps.Clone(h.failures)}
	h.statsMu.Unlock()
	st.DedupHits = h.dedupHits.Load()
	st.Verifying = int(h.verifying.Load())
	st.UnverifiedBytes = h.unverified.Load()
	st.Waiting = int(h.waiting.Load())
	if h.limiter != nil {
		st.RateLimit = h.limiter.Stats()
	}
	if h.addrs != nil {
		st.AddrLimit = h.addrs.Stats()
	}
	return st
}

// countAnswer counts an answer about to be written.
func (h *Handler) countAnswer(code int, status string) {
	h.statsMu.Lock()
	h.answers[Answer{code, status}]++
	h.statsMu.Unlock()
}

// takeWaiting takes a place of MaxPending, for a caller about to wait for
// a reply or for the outcome of an earlier copy of its delivery, and
// reports whether there was one; the caller gives it back with
// h.waiting.Add(-1).
func (h *Handler) takeWaiting() bool {
	if h.waiting.Add(1) > int64(h.cfg.MaxPending) {
		h.waiting.Add(-1)
		return false
	}
	return true
}

// tooManyPending answers a caller over MaxPending.
func tooManyPending() outcome {
	return failRetry(http.StatusTooManyRequests, "too_many_pending", "too many callers wait for replies", time.Second)
}

// verify runs the verifiers until one verifies the request, and returns
// what it learned; or the answer to a request that none verified.
func (h *Handler) verify(x *exchange) (Delivery, outcome, bool) {
	req := &Request{Header: x.r.Header, Now: x.start, body: x.readBody}
	// The place taken by reading the body is given back once the request
	// is verified or refused; a panicking verifier must give it back too.
	defer x.release()
	// The answer reports the most telling refusal: a stale timestamp, then
	// a header sent more than once, then a bad signature, then none.
	const (
		none = iota
		bad
		repeated
		stale
	)
	worst, msg := none, "missing signature"
	var failed []string // schemes whose headers the request carried, and that refused it
	for i, v := range h.cfg.Verifiers {
		d, err := v.Verify(req)
		if err == nil {
			// A verifier may judge by headers alone; the message needs
			// the body all the same.
			if _, err := x.readBody(); err == nil {
				return d, outcome{}, true
			}
		}
		if x.bodyErr != nil {
			return Delivery{}, x.bodyFailed(), false
		}
		var he *headerError
		switch {
		case errors.Is(err, ErrStale):
			if worst < stale {
				worst, msg = stale, "timestamp outside the tolerance"
			}
		case errors.As(err, &he):
			if worst < repeated {
				worst, msg = repeated, he.reason()
			}
		case !errors.Is(err, ErrNoSignature):
			if worst < bad {
				worst, msg = bad, "invalid signature"
			}
		}
		if !errors.Is(err, ErrNoSignature) {
			failed = append(failed, h.schemes[i])
		}
	}
	if len(failed) > 0 {
		h.statsMu.Lock()
		for _, s := range failed {
			h.failures[s]++
		}
		h.statsMu.Unlock()
	}
	return Delivery{}, fail(http.StatusUnauthorized, "unauthorized", msg), false
}

// deliver builds the message of a verified request and sends it into the
// stream, waiting for the reply if the caller asked for one.
func (h *Handler) deliver(x *exchange, d Delivery, deliveryID string) outcome {
	m := Message{Event: d.Event, DeliveryID: deliveryID, Timestamp: d.Timestamp, Header: h.keptHeaders(x.r.Header)}
	var (
		wait   bool
		sender string
	)
	switch {
	case h.cfg.Raw:
		if len(x.body) == 0 {
			return fail(http.StatusBadRequest, "bad_request", "the body is empty")
		}
		m.Body = x.body
	case d.signedID && !hasMember(x.body, "sender"):
		// A Standard Webhooks sender's own payload ({"type", "timestamp",
		// "data"} or any other JSON): an event, delivered as it came.
		if !json.Valid(x.body) {
			return fail(http.StatusBadRequest, "bad_request", "invalid JSON")
		}
		m.Body = x.body
	default:
		req, err := decodeJSON(x.body)
		if err != nil {
			return fail(http.StatusBadRequest, "bad_request", err.Error())
		}
		if len(req.Content) > h.cfg.MaxContentBytes {
			cut := truncate(req.Content, h.cfg.MaxContentBytes)
			if !h.cfg.TruncateContent || cut == "" {
				return fail(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("content over %d bytes", h.cfg.MaxContentBytes))
			}
			req.Content = cut
		}
		m.Sender, m.Content, m.Thread, m.Metadata = req.Sender, req.Content, req.Thread, req.Metadata
		wait, sender = req.WaitForResponse, req.Sender
	}
	if h.limiter != nil {
		key, problem := h.rateKey(x, sender)
		if problem != "" {
			return fail(http.StatusBadRequest, "bad_request", problem)
		}
		if retry, err := h.limiter.Take(key); err != nil {
			return failRetry(http.StatusTooManyRequests, "rate_limited", "over the caller's rate", retry)
		}
	}
	sp := h.sender.Load()
	if sp == nil {
		return fail(http.StatusServiceUnavailable, "not_started", "the stream is not started")
	}
	s := *sp
	m.ID = rand.Text()
	if !wait {
		if err := h.send(x, s, m); err != nil {
			return x.sendFailed(err)
		}
		return delivered(http.StatusAccepted, "accepted", m.ID, "", "")
	}

	// A run that was shut down will take nothing: that, not a full table
	// of waiting callers, is what the caller must hear.
	if x.runEnded(s) {
		return x.sendFailed(fanin.ErrClosed)
	}
	if !h.takeWaiting() {
		return tooManyPending()
	}
	defer h.waiting.Add(-1)

	// The wait ends with the reply, at ResponseTimeout, when the client
	// goes away, or, under Run, ShutdownGrace after Run's context ended:
	// Run then calls cancel itself, so no goroutine waits for that moment.
	ctx, cancel := context.WithTimeout(x.r.Context(), h.cfg.ResponseTimeout)
	defer cancel()
	if x.run != nil {
		x.waitFor(cancel)
		defer x.waitFor(nil)
	}
	sent := false
	reply, err := h.pending.Request(ctx, func(r fanin.Reply[string]) error {
		m.Reply = r
		err := h.send(x, s, m)
		sent = err == nil
		return err
	})
	switch {
	case err == nil:
		return delivered(http.StatusOK, "replied", m.ID, reply, "")
	case errors.Is(err, fanin.ErrTooManyPending):
		// Not reached while MaxPending places bound Pending, which has as
		// many; kept so that a change there cannot answer "accepted".
		return tooManyPending()
	case !sent:
		return x.sendFailed(err)
	case x.r.Context().Err() != nil:
		// The client is gone; nobody reads this answer, but it is true.
		return delivered(statusClientClosed, "canceled", m.ID, "", "client closed the request")
	case x.runEnded(s):
		return delivered(http.StatusAccepted, "no_reply", m.ID, "", "the run ended before the reply")
	}
	return delivered(http.StatusGatewayTimeout, "timeout", m.ID, "", "no reply in time")
}

// send puts m in the stream, waiting at most SendTimeout for room; under
// Run it also stops waiting when Run's context ends.
func (h *Handler) send(x *exchange, s fanin.Sink[Message], m Message) error {
	parent := x.r.Context()
	if x.run != nil {
		parent = x.intake
	}
	ctx, cancel := context.WithTimeout(parent, h.cfg.SendTimeout)
	defer cancel()
	h.step("send")
	if err := s.Send(ctx, m); err != nil {
		return err
	}
	h.step("sent")
	return nil
}

// keptHeaders copies the headers named in Config.Headers.
func (h *Handler) keptHeaders(in http.Header) http.Header {
	var out http.Header
	for _, name := range h.cfg.Headers {
		if vs := in[name]; len(vs) > 0 {
			if out == nil {
				out = make(http.Header, len(h.cfg.Headers))
			}
			out[name] = append([]string(nil), vs...)
		}
	}
	return out
}

// maxKeyBytes bounds a rate-limit key: a longer one is replaced by a hash
// of it, so that the limiter's bounded key count also bounds its memory.
const maxKeyBytes = 64

// rateKey returns the key the caller's rate is counted by, or why the
// request has none: its ByHeader header is there more than once, and which
// value a proxy wrote cannot be told.
func (h *Handler) rateKey(x *exchange, sender string) (key, problem string) {
	var k string
	switch kind := h.cfg.RateKey.kind; {
	case kind == keyRemote || (kind == keyDefault && sender == ""):
		k = addrKey(x.r.RemoteAddr)
	case kind == keyDefault:
		k = sender
	case kind == keyHeader:
		vs := x.r.Header[h.cfg.RateKey.name]
		if len(vs) > 1 {
			return "", h.cfg.RateKey.name + " sent more than once"
		}
		if len(vs) == 1 {
			k = vs[0]
		}
	default:
		k = fieldValue(x.body, h.cfg.RateKey.name)
	}
	return boundKey(k), ""
}

// boundKey returns k, or, if it is longer than maxKeyBytes, a hash of it.
func boundKey(k string) string {
	if len(k) > maxKeyBytes {
		sum := maphash.String(keySeed, k)
		k = fmt.Sprintf("#%016x%d", sum, len(k))
	}
	return k
}

// keySeed hashes long rate-limit keys.
var keySeed = maphash.MakeSeed()

// badDeliveryID answers a request whose delivery ID is malformed.
var badDeliveryID = fmt.Sprintf("delivery ID must be 1 to %d visible ASCII characters", maxDeliveryIDBytes)

// idempotencyKey returns the Idempotency-Key header, with the quotes of
// the structured-field form ("key") removed, or "" if the request has
// none; or why the header is refused. A header that is there but empty,
// quoted or not, or there more than once, is refused: the sender asked for
// the delivery to be deduplicated, and taking it as no key would let
// every copy in.
func idempotencyKey(h http.Header) (key, problem string) {
	vs := h["Idempotency-Key"]
	switch len(vs) {
	case 0:
		return "", ""
	case 1:
	default:
		return "", "Idempotency-Key sent more than once"
	}
	k := vs[0]
	if len(k) >= 2 && k[0] == '"' && k[len(k)-1] == '"' {
		k = k[1 : len(k)-1]
	}
	if !validDeliveryID(k) {
		return "", badDeliveryID
	}
	return k, ""
}

// retryAfter formats a Retry-After value: whole seconds, rounded up.
func retryAfter(d time.Duration) string {
	return fmt.Sprint(int64(math.Ceil(d.Seconds())))
}
