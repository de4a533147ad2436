package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var (
	// ErrNoSignature is returned by a [Verifier] whose scheme's headers are
	// all absent from the request, so that the handler tries the next
	// verifier. A request that no verifier recognises is answered 401.
	ErrNoSignature = errors.New("webhook: missing signature")

	// ErrBadSignature is returned by a [Verifier] when the request carries
	// its scheme's headers but they are malformed or no signature in them
	// matches a secret. The request is answered 401. The verifiers of this
	// package also return it, wrapped, for a header of their scheme that
	// the request carries more than once, which they never guess at; the
	// answer then names the header.
	ErrBadSignature = errors.New("webhook: invalid signature")

	// ErrStale is returned by a [Verifier] of a timestamped scheme when the
	// request's timestamp is outside the scheme's tolerance: a replay of an
	// old request, or a sender whose clock is wrong. The request is
	// answered 401.
	ErrStale = errors.New("webhook: timestamp outside the tolerance")

	// ErrBadSecret is returned by [StandardWebhooks] and [SignStandard] for
	// a secret that is not "whsec_" followed by standard base64, or that
	// decodes to nothing.
	ErrBadSecret = errors.New("webhook: secret is not whsec_ followed by base64")
)

// A Verifier checks that a request was signed by a known sender, in one
// signature scheme. [HMACSHA256], [GitHub] and [StandardWebhooks] are the
// schemes this package provides; [VerifierFunc] makes another from a
// function (see the example for Slack's scheme).
//
// Verify returns what it learned about the delivery and nil if the request
// is signed by one of its secrets. Otherwise it returns [ErrNoSignature]
// when none of its headers is present, [ErrStale] when a timestamp is
// outside its tolerance, and [ErrBadSignature] (or any other error, which
// the handler treats alike and never shows to the caller) otherwise; if
// [Request.Body] fails, Verify should return that error.
//
// A Verifier should check what it can from the headers before it calls
// Request.Body: a request refused on its headers alone is answered without
// its body being read. It must compare signatures in constant time (see
// crypto/hmac.Equal), and must not block: Run's shutdown waits for it.
// Verify is called from many goroutines at once, each with its own
// Request.
type Verifier interface {
	Verify(r *Request) (Delivery, error)
}

// VerifierFunc adapts a function to the [Verifier] interface.
type VerifierFunc func(r *Request) (Delivery, error)

// Verify calls f(r).
func (f VerifierFunc) Verify(r *Request) (Delivery, error) { return f(r) }

// A Delivery is what a [Verifier] learned about a request it verified.
type Delivery struct {
	// ID identifies the delivery; a sender that retries sends the same ID
	// again. The handler answers a repeated ID with the first delivery's
	// answer instead of sending it into the stream again. Empty if the
	// scheme has none; the handler then uses the Idempotency-Key header,
	// if the request has one. An ID set by a [VerifierFunc] is taken as
	// unsigned: together with the body, so that the same ID with another
	// body is another delivery (see the package documentation).
	ID string

	// Event is the kind of event, such as GitHub's "push"; empty if the
	// scheme does not say.
	Event string

	// Expires is the first instant at which the scheme refuses this same
	// request as stale; the handler remembers the delivery ID at least
	// until then (but at most a day longer than Config.DedupWindow). Zero
	// for schemes without a timestamp.
	Expires time.Time

	// Timestamp is when the sender signed the delivery, if the scheme
	// signs a timestamp (Standard Webhooks' webhook-timestamp); zero
	// otherwise. It is copied into Message.Timestamp.
	Timestamp time.Time

	// signedID reports that the scheme signs ID together with the body, so
	// that the ID names one delivery whatever the body; set only by this
	// package's verifiers.
	signedID bool

	// idSent reports that the request carried the scheme's delivery ID
	// header, even empty; an empty one is then a malformed ID, not none.
	idSent bool
}

// A Request is what a [Verifier] sees of an HTTP request: its headers, the
// time it arrived, and its body, read on demand. It is valid only during
// the call to Verify, and only for the goroutine that Verify runs in.
type Request struct {
	// Header is the request's header. A Verifier must not change it.
	Header http.Header

	// Now is the time the request arrived, by the handler's clock; compare
	// timestamps with Now, not with time.Now.
	Now time.Time

	body func() ([]byte, error) // reads the body once; set by the handler
}

// NewRequest returns a Request for a Verifier to check, for testing a
// Verifier without a server, or for using one in a handler of one's own.
func NewRequest(header http.Header, body []byte, now time.Time) *Request {
	return &Request{Header: header, Now: now, body: func() ([]byte, error) { return body, nil }}
}

// Body returns the request's body, reading it on the first call, with the
// handler's limits: at most Config.MaxBodyBytes, within
// Config.ReadTimeout, and only while fewer than Config.MaxVerifying
// requests are being read. If reading fails, Body returns an error, the
// same on every call, and the Verifier should return it.
func (r *Request) Body() ([]byte, error) {
	if r.body == nil {
		return nil, nil
	}
	return r.body()
}

// DefaultSignatureHeader is the header that [HMACSHA256] reads when it is
// given none.
const DefaultSignatureHeader = "X-Signature-256"

// HMACSHA256 returns a [Verifier] for a signature "sha256=<hex>" in header,
// the HMAC-SHA256 of the body under one of secrets, compared in constant
// time. An empty header means [DefaultSignatureHeader]. Several secrets
// are valid at once, so that a secret can be rotated without downtime:
// add the new one, move the senders over, remove the old one.
//
// The scheme signs the body only. It has no timestamp, so it cannot tell a
// replayed request from a new one; a delivery is deduplicated only through
// an Idempotency-Key header, which the sender does not sign. Prefer
// [StandardWebhooks] when the sender offers it.
//
// HMACSHA256 panics if no secret is given or a secret is empty.
func HMACSHA256(header string, secrets ...[]byte) Verifier {
	if header == "" {
		header = DefaultSignatureHeader
	}
	return &hmacVerifier{header: http.CanonicalHeaderKey(header), keys: cloneSecrets("HMACSHA256", secrets)}
}

// GitHub returns a [Verifier] for GitHub's webhooks: [HMACSHA256] in the
// X-Hub-Signature-256 header, with the delivery ID taken from
// X-GitHub-Delivery and the event from X-GitHub-Event. GitHub signs only
// the body, not those headers, so the delivery ID deduplicates GitHub's
// own redeliveries but cannot stop a replay by someone who captured a
// request; it is taken together with the body, so that such a person
// cannot spoil the ID of a genuine delivery either. An X-GitHub-Delivery
// that is there but empty or blank is refused 400 as a malformed ID. It
// panics if no secret is given or a secret is empty.
func GitHub(secrets ...[]byte) Verifier {
	return &hmacVerifier{
		header:      "X-Hub-Signature-256",
		idHeader:    "X-GitHub-Delivery",
		eventHeader: "X-GitHub-Event",
		keys:        cloneSecrets("GitHub", secrets),
	}
}

func cloneSecrets(caller string, secrets [][]byte) [][]byte {
	if len(secrets) == 0 {
		panic("webhook: " + caller + " called with no secret")
	}
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		if len(s) == 0 {
			panic(fmt.Sprintf("webhook: %s called with an empty secret (secret %d)", caller, i))
		}
		keys[i] = append([]byte(nil), s...)
	}
	return keys
}

// schemeOf names v's scheme, as Stats.VerifyFailures counts it.
func schemeOf(v Verifier) string {
	switch v := v.(type) {
	case *hmacVerifier:
		if v.idHeader != "" {
			return "github"
		}
		return "hmac-sha256"
	case *standardVerifier:
		return "standard-webhooks"
	}
	return "custom"
}

type hmacVerifier struct {
	header, idHeader, eventHeader string
	keys                          [][]byte
}

func (v *hmacVerifier) Verify(r *Request) (Delivery, error) {
	value, err := single(r.Header, v.header)
	if err != nil {
		return Delivery{}, err
	}
	if value == "" {
		return Delivery{}, ErrNoSignature
	}
	var d Delivery
	if v.idHeader != "" {
		if d.ID, err = single(r.Header, v.idHeader); err != nil {
			return Delivery{}, err
		}
		d.idSent = len(r.Header.Values(v.idHeader)) > 0
		if d.Event, err = single(r.Header, v.eventHeader); err != nil {
			return Delivery{}, err
		}
	}
	hexSig, ok := strings.CutPrefix(value, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return Delivery{}, ErrBadSignature
	}
	var sig [sha256.Size]byte
	if _, err := hex.Decode(sig[:], []byte(hexSig)); err != nil {
		return Delivery{}, ErrBadSignature
	}
	body, err := r.Body()
	if err != nil {
		return Delivery{}, err
	}
	for _, key := range v.keys {
		if hmac.Equal(sig[:], Sign(key, body)) {
			return d, nil
		}
	}
	return Delivery{}, ErrBadSignature
}

// A headerError is a verifier's refusal of a request that carries a header
// of its scheme more than once. Taking one of the values would let a
// proxy or a server that reads another disagree on what was verified, so
// the request is refused, and the answer says why.
type headerError struct {
	name string
}

func (e *headerError) Error() string {
	return "webhook: invalid signature: " + e.reason()
}

// reason is the error text of the handler's answer.
func (e *headerError) reason() string { return e.name + " sent more than once" }

// Is makes a headerError an [ErrBadSignature].
func (e *headerError) Is(target error) bool { return target == ErrBadSignature }

// single returns the value of the header name, "" if the request has none,
// or a *headerError if it has several.
func single(h http.Header, name string) (string, error) {
	switch vs := h.Values(name); len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", &headerError{name: name}
}

// Sign returns the HMAC-SHA256 of body under secret: the signature that
// [HMACSHA256] and [GitHub] check, hex-encoded after "sha256=".
func Sign(secret, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

// Standard Webhooks (standardwebhooks.com): the headers, the secret
// prefix, and the tolerance the specification's libraries use.
const (
	standardID        = "webhook-id" // spelled as the specification does; looked up canonically
	standardTimestamp = "webhook-timestamp"
	standardSignature = "webhook-signature"
	standardPrefix    = "whsec_"
	standardTolerance = 5 * time.Minute
)

// maxDeliveryIDBytes bounds a delivery ID: it is a key of the table of
// recent deliveries, and an unbounded key would make its memory unbounded.
const maxDeliveryIDBytes = 256

// StandardWebhooks returns a [Verifier] for the Standard Webhooks
// specification (standardwebhooks.com). A request carries webhook-id,
// webhook-timestamp (Unix seconds) and webhook-signature, a space-separated
// list of "v1,<base64>" entries, each an HMAC-SHA256 of
// "<id>.<timestamp>.<body>"; it is verified if any entry matches any of
// secrets, so that the sender and the receiver can each rotate secrets
// without downtime. Entries of other versions (such as the asymmetric
// "v1a") are ignored, and so are v1 entries that are not 32 bytes in
// canonical base64 (with padding, its unused bits zero): a header with no
// other entry is refused as malformed.
//
// A request whose timestamp is more than 5 minutes from the handler's
// clock, in either direction, is refused with [ErrStale]: compared in whole
// seconds, exactly 5 minutes is accepted and 5 minutes and 1 second is
// not. Because the ID and the timestamp are signed, a replay within the
// tolerance is answered from the handler's table of recent deliveries,
// which keeps every ID at least until its timestamp is stale, and a later
// replay is stale: no replay reaches the stream.
//
// IDs must be 1 to 256 visible ASCII characters without ".", which the
// specification asks of senders so that the signed content cannot be
// split differently. The delivery's Event is the "type" member of a JSON
// object body, matched exactly (case included), if the body has one, and
// only one, and it is a string, whatever its length; its Timestamp is the
// signed webhook-timestamp. Because the ID is signed with the body, one ID
// is one delivery: the same ID with another body is answered 422
// id_reused.
//
// Each secret is written "whsec_" followed by standard base64, as the
// specification serializes them; the prefix may be left out. StandardWebhooks
// returns [ErrBadSecret] if a secret is not of that form, or if no secret
// is given.
func StandardWebhooks(secrets ...string) (Verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret given", ErrBadSecret)
	}
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		key, err := decodeStandardSecret(s)
		if err != nil {
			return nil, fmt.Errorf("%w (secret %d)", err, i)
		}
		keys[i] = key
	}
	return &standardVerifier{keys: keys}, nil
}

func decodeStandardSecret(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, standardPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// SignStandard returns the webhook-signature entry "v1,<base64>" that a
// Standard Webhooks sender sends for a delivery with the given id,
// timestamp and body, under secret (written as for [StandardWebhooks]).
// It returns [ErrBadSecret] for a malformed secret.
func SignStandard(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := decodeStandardSecret(secret)
	if err != nil {
		return "", err
	}
	mac := standardMAC(hmac.New(sha256.New, key), id, strconv.FormatInt(timestamp.Unix(), 10), body)
	return "v1," + base64.StdEncoding.EncodeToString(mac), nil
}

// standardMAC returns the HMAC of "<id>.<ts>.<body>", written piece by
// piece so that the body is not copied.
func standardMAC(mac hash.Hash, id, ts string, body []byte) []byte {
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

type standardVerifier struct {
	keys [][]byte
}

func (v *standardVerifier) Verify(r *Request) (Delivery, error) {
	id, err := single(r.Header, standardID)
	if err != nil {
		return Delivery{}, err
	}
	ts, err := single(r.Header, standardTimestamp)
	if err != nil {
		return Delivery{}, err
	}
	// Signatures are a list, so a proxy may split one header into several
	// lines: the entries of all of them count, as in one line. Taking any
	// entry that matches is what the list means, so there is nothing to
	// disagree on, unlike a second ID or timestamp.
	sigs := strings.Join(r.Header.Values(standardSignature), " ")
	if id == "" && ts == "" && sigs == "" {
		return Delivery{}, ErrNoSignature
	}
	// A "." in the ID would let id.timestamp.body be split another way
	// under the same signature: refused like a forgery. Any other
	// malformed ID is judged once the signature is, and answered 400.
	if strings.Contains(id, ".") {
		return Delivery{}, ErrBadSignature
	}
	sec, ok := parseUnix(ts)
	if !ok {
		return Delivery{}, ErrBadSignature
	}
	// Whole seconds both ways, as the header has them. Written as two
	// comparisons with now, which cannot overflow, rather than a
	// difference, which can for absurd timestamps.
	now, tol := r.Now.Unix(), int64(standardTolerance/time.Second)
	if sec < now-tol || sec > now+tol {
		return Delivery{}, ErrStale
	}
	// The entries are scanned twice, decoding each into an array on the
	// stack: once to refuse a header without a well-formed v1 entry before
	// the body is read, once to compare. Collecting them in a slice would
	// let an unverified caller make the handler allocate for every entry
	// of a header as large as the server allows.
	if !hasEntry(sigs, nil) {
		return Delivery{}, ErrBadSignature
	}
	body, err := r.Body()
	if err != nil {
		return Delivery{}, err
	}
	for _, key := range v.keys {
		got := standardMAC(hmac.New(sha256.New, key), id, ts, body)
		if hasEntry(sigs, got) {
			// Fresh up to and including sec+tol: stale from a second later.
			return Delivery{ID: id, Event: eventType(body), Expires: time.Unix(sec+tol+1, 0),
				Timestamp: time.Unix(sec, 0), signedID: true, idSent: true}, nil
		}
	}
	return Delivery{}, ErrBadSignature
}

// hasEntry reports whether the space-separated webhook-signature entries
// in sigs include a well-formed "v1,<base64>" one, and, if mac is not nil,
// one whose signature equals mac, compared in constant time.
func hasEntry(sigs string, mac []byte) bool {
	for entry := range strings.FieldsSeq(sigs) {
		b64, ok := strings.CutPrefix(entry, "v1,")
		if !ok || len(b64) != base64.StdEncoding.EncodedLen(sha256.Size) {
			continue
		}
		// Strict: an entry whose unused padding bits are set is not what
		// any sender writes, and the specification's libraries compare the
		// encoded text, which such an entry does not match.
		var sig [sha256.Size + 2]byte // room for the padding's decoded bits
		n, err := strictBase64.Decode(sig[:], []byte(b64))
		if err != nil || n != sha256.Size {
			continue
		}
		if mac == nil || hmac.Equal(sig[:n], mac) {
			return true
		}
	}
	return false
}

// strictBase64 decodes signature entries, refusing set padding bits.
var strictBase64 = base64.StdEncoding.Strict()

// parseUnix parses a timestamp header: decimal digits only, no sign, at
// most 18 of them so that it fits an int64 with room to add a tolerance.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// validDeliveryID reports whether id is 1 to maxDeliveryIDBytes visible
// ASCII characters.
func validDeliveryID(id string) bool {
	if id == "" || len(id) > maxDeliveryIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// eventType returns the "type" member of a JSON object body, the place
// the Standard Webhooks specification recommends for the event type, or
// "" if there is not exactly one, or it is not a string. The name is
// matched exactly: a "TYPE" member is another member. The body bounds its
// length.
func eventType(body []byte) string {
	v, ok := member(body, "type")
	var s string
	if !ok || json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}
