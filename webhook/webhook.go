package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fanin-go/fanin"
)

// Defaults for the zero fields of a [Config]. MaxContentBytes, MaxPending
// and ResponseTimeout are the reference system's values.
const (
	DefaultMaxBodyBytes    = 1 << 20 // 1 MiB
	DefaultMaxContentBytes = 32 << 10
	DefaultSendTimeout     = 5 * time.Second
	DefaultResponseTimeout = 60 * time.Second
	DefaultMaxPending      = 100
	DefaultMaxCallers      = 10_000
	DefaultSignatureHeader = "X-Signature-256"
)

// Config configures a [Handler]. Only Secret is required; a zero field takes
// its default.
type Config struct {
	// Secret is the HMAC-SHA256 key callers sign bodies with. Without it
	// the handler answers every request 503 unavailable: it never accepts
	// unsigned messages.
	Secret []byte

	// Name is the adapter's name in a fanin.Group; default "webhook".
	Name string

	// Addr is where Run serves, such as "127.0.0.1:8080"; used only when
	// the handler runs as an adapter of a fanin.Group.
	Addr string

	// SignatureHeader carries "sha256=<hex>"; default DefaultSignatureHeader.
	SignatureHeader string

	// MaxBodyBytes caps the request body, read with a hard limit.
	MaxBodyBytes int64

	// MaxContentBytes caps the message content, in bytes. Longer content is
	// refused with 413, or, with TruncateContent, cut at the last whole
	// UTF-8 character that fits.
	MaxContentBytes int
	TruncateContent bool

	// RateLimit, if set, limits each sender separately; MaxCallers bounds
	// how many senders are tracked at once (see fanin.KeyedLimiter).
	RateLimit  []fanin.Band
	MaxCallers int

	// SendTimeout is how long a request waits for room in a full buffer
	// before it is answered 503 busy; the request's own context bounds it
	// too.
	SendTimeout time.Duration

	// ResponseTimeout is how long a request that waits for a reply waits;
	// MaxPending is how many may wait at once.
	ResponseTimeout time.Duration
	MaxPending      int
}

// Message is what the handler sends into the stream.
type Message struct {
	ID       string            // assigned by the handler, returned to the caller
	Sender   string            // who sent it, as the signed request says
	Content  string            // the text; at most MaxContentBytes
	Thread   string            // optional
	Metadata map[string]string // optional

	// Reply answers the caller when it waits for a reply: Reply.Wanted
	// reports whether it does, and Reply.Resolve delivers the answer and
	// reports whether the caller received it. Copy it into a message of the
	// program's own type (see fanin.Map) to answer from there.
	Reply fanin.Reply[string]
}

// maxSenderBytes bounds the sender name, which keys the rate limiter.
const maxSenderBytes = 256

// statusClientClosed answers a request whose client went away while it
// waited for a reply; nobody reads it, but logs do (nginx uses 499 alike).
const statusClientClosed = 499

// request is the JSON a caller posts.
type request struct {
	Sender          string            `json:"sender"`
	Content         string            `json:"content"`
	Thread          string            `json:"thread"`
	Metadata        map[string]string `json:"metadata"`
	WaitForResponse bool              `json:"wait_for_response"`
}

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
// A Handler is safe for simultaneous use by multiple goroutines. Its zero
// value is not usable; call [New].
type Handler struct {
	cfg     Config
	limiter *fanin.KeyedLimiter[string] // nil: no rate limit
	pending *fanin.Pending[string]
	sender  atomic.Pointer[fanin.Sink[Message]] // the attached run; nil before Attach

	mu sync.Mutex
	ln net.Listener // bound by Start, taken by Run; guarded by mu
}

// New returns a Handler with the given configuration. It panics if a
// numeric field is negative or a rate band is invalid (see
// fanin.NewKeyedLimiter).
func New(cfg Config) *Handler {
	if cfg.MaxBodyBytes < 0 || cfg.MaxContentBytes < 0 || cfg.MaxCallers < 0 ||
		cfg.SendTimeout < 0 || cfg.ResponseTimeout < 0 || cfg.MaxPending < 0 {
		panic("webhook: New called with a negative limit")
	}
	cfg.Name = cmpOr(cfg.Name, "webhook")
	cfg.SignatureHeader = cmpOr(cfg.SignatureHeader, DefaultSignatureHeader)
	cfg.MaxBodyBytes = cmpOr(cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	cfg.MaxContentBytes = cmpOr(cfg.MaxContentBytes, DefaultMaxContentBytes)
	cfg.MaxCallers = cmpOr(cfg.MaxCallers, DefaultMaxCallers)
	cfg.SendTimeout = cmpOr(cfg.SendTimeout, DefaultSendTimeout)
	cfg.ResponseTimeout = cmpOr(cfg.ResponseTimeout, DefaultResponseTimeout)
	cfg.MaxPending = cmpOr(cfg.MaxPending, DefaultMaxPending)
	cfg.Secret = bytes.Clone(cfg.Secret)
	h := &Handler{cfg: cfg, pending: fanin.NewPending[string](cfg.MaxPending)}
	if len(cfg.RateLimit) > 0 {
		h.limiter = fanin.NewKeyedLimiter[string](cfg.MaxCallers, cfg.RateLimit...)
	}
	return h
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Attach makes h send into s's run from now on. Until the first Attach,
// requests are answered 503 not_started; once s's run is shut down, 503
// closed, until another Attach.
func (h *Handler) Attach(s fanin.Sink[Message]) {
	h.sender.Store(&s)
}

// Name returns the name of h as an adapter of a fanin.Group.
func (h *Handler) Name() string { return h.cfg.Name }

// Start binds Config.Addr, so that a fanin.Group counts h as running only
// once it can serve. It is the [fanin.Starter] half of h as an adapter.
func (h *Handler) Start(ctx context.Context) error {
	if h.cfg.Addr == "" {
		return errors.New("webhook: Config.Addr is empty")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", h.cfg.Addr)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln != nil {
		h.ln.Close() // a Start whose Run never came
	}
	h.ln = ln
	return nil
}

// Addr returns the address the last Start bound, or nil before Start.
func (h *Handler) Addr() net.Addr {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln == nil {
		return nil
	}
	return h.ln.Addr()
}

// Run attaches h to s and serves on the address bound by Start until ctx
// ends. Then it stops accepting connections and waits for the requests in
// flight: those blocked on a full buffer are woken when the group shuts the
// channel down, and those waiting for a reply are answered no_reply when
// the run ends, so each gets a definite answer. It is the [fanin.Adapter]
// half of h.
func (h *Handler) Run(ctx context.Context, s fanin.Sink[Message]) error {
	h.mu.Lock()
	ln := h.ln
	h.mu.Unlock()
	if ln == nil {
		return errors.New("webhook: Run called before Start")
	}
	h.Attach(s)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// In-flight requests end promptly once the run is shut down, which the
	// group does right after canceling ctx; the bound is a safety net.
	stopCtx, cancel := context.WithTimeout(context.Background(), h.cfg.SendTimeout+5*time.Second)
	defer cancel()
	err := srv.Shutdown(stopCtx) // closes ln
	<-served
	h.mu.Lock()
	if h.ln == ln {
		h.ln = nil
	}
	h.mu.Unlock()
	return err
}

// ServeHTTP handles one webhook request; see the package documentation for
// the checks and their answers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	code, a, retry := h.serve(w, r)
	w.Header().Set("Content-Type", "application/json")
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	}
	if code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(a)
}

// fail builds a failure answer.
func fail(code int, status, msg string) (int, answer, time.Duration) {
	return code, answer{Status: status, Error: msg}, 0
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (int, answer, time.Duration) {
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
	}
	if len(h.cfg.Secret) == 0 {
		return fail(http.StatusServiceUnavailable, "unavailable", "no secret configured")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return fail(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	}
	body, err := readBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fail(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", h.cfg.MaxBodyBytes))
		}
		return fail(http.StatusBadRequest, "bad_request", "could not read body")
	}
	if !h.signed(body, r.Header.Get(h.cfg.SignatureHeader)) {
		return fail(http.StatusUnauthorized, "unauthorized", "missing or invalid signature")
	}
	req, err := decode(body)
	if err != nil {
		return fail(http.StatusBadRequest, "bad_request", truncate(err.Error(), 200))
	}
	if len(req.Content) > h.cfg.MaxContentBytes {
		if !h.cfg.TruncateContent {
			return fail(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("content over %d bytes", h.cfg.MaxContentBytes))
		}
		req.Content = truncate(req.Content, h.cfg.MaxContentBytes)
	}
	if h.limiter != nil {
		if retry, err := h.limiter.Take(req.Sender); err != nil {
			code, a, _ := fail(http.StatusTooManyRequests, "rate_limited", err.Error())
			return code, a, retry
		}
	}
	sp := h.sender.Load()
	if sp == nil {
		return fail(http.StatusServiceUnavailable, "not_started", fanin.ErrNotStarted.Error())
	}
	s := *sp

	m := Message{ID: rand.Text(), Sender: req.Sender, Content: req.Content, Thread: req.Thread, Metadata: req.Metadata}
	if !req.WaitForResponse {
		if err := h.send(r.Context(), s, m); err != nil {
			return sendFailed(err)
		}
		return http.StatusAccepted, answer{MessageID: m.ID, Status: "accepted"}, 0
	}

	// The wait ends at ResponseTimeout, when the client goes away, or when
	// the run is shut down; a small goroutine turns the last into a
	// cancellation, and ends with the request.
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.ResponseTimeout)
	defer cancel()
	runEnded := make(chan struct{})
	go func() {
		select {
		case <-s.Done():
			close(runEnded)
			cancel()
		case <-ctx.Done():
		}
	}()
	sent := false
	reply, err := h.pending.Request(ctx, func(r fanin.Reply[string]) error {
		m.Reply = r
		err := h.send(ctx, s, m)
		sent = err == nil
		return err
	})
	switch {
	case err == nil:
		return http.StatusOK, answer{MessageID: m.ID, Status: "replied", Response: reply}, 0
	case errors.Is(err, fanin.ErrTooManyPending):
		code, a, _ := fail(http.StatusTooManyRequests, "too_many_pending", err.Error())
		return code, a, time.Second
	case !sent:
		return sendFailed(err)
	}
	cancel() // stop the watcher before looking at runEnded
	select {
	case <-runEnded:
		return http.StatusAccepted, answer{MessageID: m.ID, Status: "no_reply", Error: "the run ended before the reply"}, 0
	default:
	}
	if r.Context().Err() != nil {
		// The client is gone; nobody reads this answer, but it is true.
		return statusClientClosed, answer{MessageID: m.ID, Status: "canceled", Error: "client closed the request"}, 0
	}
	return http.StatusGatewayTimeout, answer{MessageID: m.ID, Status: "timeout", Error: "no reply in time"}, 0
}

// send puts m in the stream, waiting at most SendTimeout for room.
func (h *Handler) send(ctx context.Context, s fanin.Sink[Message], m Message) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.SendTimeout)
	defer cancel()
	return s.Send(ctx, m)
}

// sendFailed answers a send that did not place the message.
func sendFailed(err error) (int, answer, time.Duration) {
	switch {
	case errors.Is(err, fanin.ErrClosed):
		return fail(http.StatusServiceUnavailable, "closed", err.Error())
	case errors.Is(err, fanin.ErrNotStarted):
		return fail(http.StatusServiceUnavailable, "not_started", err.Error())
	default: // the buffer stayed full for SendTimeout, or the client left
		code, a, _ := fail(http.StatusServiceUnavailable, "busy", "the stream is full; retry later")
		return code, a, time.Second
	}
}

// readBody reads at most max bytes of r's body, failing with an
// *http.MaxBytesError beyond that; it never buffers more than max+1 bytes,
// and past the cap it tells the server to close the connection rather
// than read on.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, &http.MaxBytesError{Limit: max}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, max))
}

// signed reports whether header is "sha256=" followed by the hex HMAC of
// body, comparing in constant time.
func (h *Handler) signed(body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, Sign(h.cfg.Secret, body))
}

// Sign returns the HMAC-SHA256 of body under secret: the signature a caller
// sends, hex-encoded after "sha256=".
func Sign(secret, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

// decode parses a request body: one JSON object of the request shape, with
// a non-empty sender of at most maxSenderBytes and a non-empty content, and
// nothing after it.
func decode(body []byte) (request, error) {
	var req request
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return request{}, fmt.Errorf("invalid JSON: %v", err)
	}
	if dec.More() {
		return request{}, errors.New("invalid JSON: data after the object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return request{}, errors.New("invalid JSON: data after the object")
	}
	switch {
	case strings.TrimSpace(req.Sender) == "":
		return request{}, errors.New(`"sender" is required`)
	case len(req.Sender) > maxSenderBytes:
		// The sender is a rate-limit key: an unbounded key would let the
		// limiter's bounded slot count hold unbounded memory.
		return request{}, fmt.Errorf(`"sender" is over %d bytes`, maxSenderBytes)
	case req.Content == "":
		return request{}, errors.New(`"content" is required`)
	}
	return req, nil
}

// truncate returns s cut to at most n bytes without splitting a UTF-8
// character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
