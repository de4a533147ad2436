package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Timing of [Publisher] retries. One attempt waits at most
// PublishAttemptTimeout for its PubAck; a failed attempt is retried after
// 50 ms, doubling up to 1 s, for as long as the caller's context lasts.
const (
	PublishAttemptTimeout = 2 * time.Second
	publishBackoffMin     = 50 * time.Millisecond
	publishBackoffMax     = time.Second
)

// ErrEmptyID is returned by [Publisher.Publish], [Publisher.Send] and
// [Publisher.TrySend] when the encode function gives a message an empty
// id. Without an id the stream cannot recognise a retried publish as a
// duplicate, and the Publisher retries: the message could be stored twice.
// An id made only of spaces, tabs and line breaks counts as empty: the
// Nats-Msg-Id header would carry it as "". Nothing is published. Like
// [ErrInvalidID], it matches fanin.ErrRefused: the same message would be
// refused again.
var ErrEmptyID = refusal("natsjs: message id is empty")

// ErrInvalidID is returned, wrapped with the id and the reason, by
// [Publisher.Publish], [Publisher.Send] and [Publisher.TrySend] when the
// encode function gives a message an id that the Nats-Msg-Id header would
// not carry exactly: one that begins or ends with a space, or holds an
// ASCII control character (a tab, a line break, NUL, DEL, ...). nats.go
// trims the blanks around a header value and turns line breaks into
// spaces, so two such ids could reach the stream as one, and the second
// message would be dropped as a duplicate of the first. Any other string,
// UTF-8 or not, is carried byte for byte, and [Meta].ID equals it.
// Nothing is published. It matches fanin.ErrRefused, so that a webhook
// handler answers a sender's delivery ID that cannot be carried 422
// refused rather than as a failure of its own.
var ErrInvalidID = refusal("natsjs: message id would be altered on the wire")

// DefaultMaxInFlight is the bound on concurrent publishes of a [Publisher]
// made with a maxInFlight of 0.
const DefaultMaxInFlight = 256

// A Publisher puts messages into a JetStream stream and reports success
// only once the stream has stored them: [Publisher.Publish] and
// [Publisher.Send] return nil if and only if a PubAck came back. Each
// message is published with its id, which must not be empty, in the
// Nats-Msg-Id header, so that the stream stores it at most once however
// often it is sent within the stream's duplicate window (Duplicates in
// jetstream.StreamConfig, 2 minutes by default). A message whose id the
// stream already holds is not stored again, whatever its content: Publish
// returns the first one's PubAck with Duplicate set, and Send returns nil
// although the stream holds the first message, not this one. The id must
// therefore name one message.
//
// A Publisher is a [fanin.Sink]: an ingress such as package webhook's
// Handler can be attached to one instead of to a local stream, and then
// answers "accepted" only for messages that are durable. At most
// maxInFlight publishes wait for their PubAck at once; further sends wait
// for a slot (Send) or are refused with [fanin.ErrFull] (TrySend).
//
// A transient failure (no PubAck within [PublishAttemptTimeout], no
// stream responding, a reconnecting connection) is retried with the same
// id until the caller's context ends; any other failure is returned at
// once. Either way the caller gets an error, never a silent drop. An error
// does not prove that the message was not stored: its PubAck may have been
// lost. A caller that sends it again with the same id within the duplicate
// window has it stored once.
//
// A Publisher does not own the JetStream connection: close that only
// after [Publisher.Close] has returned. It is safe for simultaneous use by
// multiple goroutines. Its zero value is not usable; call [NewPublisher].
type Publisher[M any] struct {
	js      jetstream.JetStream
	subject string
	encode  func(M) (id string, data []byte, err error)

	// slots is a semaphore: a publish holds one slot from before it is
	// sent until its PubAck or its failure.
	slots chan struct{}

	// done is closed by the first Close; blocked senders select on it.
	done chan struct{}

	published, duplicates, retries, failed, full atomic.Uint64 // see PublisherStats

	mu       sync.Mutex
	closed   bool          // set by Close; guarded by mu
	inflight int           // calls between enter and exit; guarded by mu
	idle     chan struct{} // closed once closed and inflight is 0; guarded by mu
}

// NewPublisher returns a Publisher that publishes each message on subject,
// which a stream must capture. encode turns a message into its id and its
// payload; the id must be unique per message (the stream drops a second
// message with the same id as a duplicate), not empty or blank (refused
// with [ErrEmptyID]), and free of surrounding spaces and control
// characters (refused with [ErrInvalidID]). At most maxInFlight publishes
// are in flight at once; 0 means [DefaultMaxInFlight].
//
// NewPublisher panics if js or encode is nil, subject is empty or
// maxInFlight is negative.
func NewPublisher[M any](js jetstream.JetStream, subject string, maxInFlight int, encode func(M) (id string, data []byte, err error)) *Publisher[M] {
	switch {
	case js == nil:
		panic("natsjs: NewPublisher called with a nil JetStream")
	case subject == "":
		panic("natsjs: NewPublisher called with an empty subject")
	case encode == nil:
		panic("natsjs: NewPublisher called with a nil encode function")
	case maxInFlight < 0:
		panic("natsjs: NewPublisher called with a negative maxInFlight")
	case maxInFlight == 0:
		maxInFlight = DefaultMaxInFlight
	}
	return &Publisher[M]{
		js:      js,
		subject: subject,
		encode:  encode,
		slots:   make(chan struct{}, maxInFlight),
		done:    make(chan struct{}),
		idle:    make(chan struct{}),
	}
}

// Publish encodes m, publishes it and waits for the stream's PubAck, which
// it returns; PubAck.Duplicate reports that the stream already held a
// message with m's id, and PubAck.Sequence is that message's sequence. It
// waits for an in-flight slot first.
//
// Publish returns [fanin.ErrClosed] after Close, and if Close is called
// while it waits for a slot; the encode error, [ErrEmptyID] or
// [ErrInvalidID], at once; ctx.Err() if ctx ends before a slot is free;
// and otherwise the last publish error (wrapped; the context's error if
// ctx ended during retries). An error means the message may or may not be
// stored; see [Publisher].
//
// The errors that the same message would meet again, whenever it was
// sent, match fanin.ErrRefused, so that a webhook handler answers them 422
// refused rather than as a failure of its own: an error of the encode
// function (wrapped; errors.Is and errors.As still find it), which is
// taken as the message's fault; [ErrReplyWanted], [ErrEmptyID] and
// [ErrInvalidID]; and a message larger than the server's max_payload
// (nats.ErrMaxPayload, 1 MiB by default) or the stream's MaxMsgSize
// (jetstream.ErrStreamMessageExceedsMaximum), wrapped. None of them
// stores anything.
func (p *Publisher[M]) Publish(ctx context.Context, m M) (*jetstream.PubAck, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.exit()
	id, msg, err := p.message(m)
	if err != nil {
		return nil, err
	}
	select {
	case p.slots <- struct{}{}:
	case <-p.done:
		return nil, fanin.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.slots }()
	if p.isClosing() {
		return nil, fanin.ErrClosed
	}
	return p.publish(ctx, id, msg)
}

// Send publishes m and returns nil once the stream holds a message under
// m's id: m, or the message first stored under that id if the stream held
// one already (see [Publisher]). It is [Publisher.Publish] without the
// PubAck, and makes a Publisher a [fanin.Sink].
func (p *Publisher[M]) Send(ctx context.Context, m M) error {
	_, err := p.Publish(ctx, m)
	return err
}

// TrySend publishes m if an in-flight slot is free now, and returns
// [fanin.ErrFull] at once if none is. Unlike a local stream's TrySend it
// does wait, for the PubAck: at most [PublishAttemptTimeout] in all,
// retrying a transient failure within that time. It returns nil if and
// only if a PubAck came back: the stream then holds m, or the message
// first stored under m's id if the stream held one already (see
// [Publisher]). Its other errors are those of [Publisher.Publish].
func (p *Publisher[M]) TrySend(m M) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.exit()
	id, msg, err := p.message(m)
	if err != nil {
		return err
	}
	select {
	case p.slots <- struct{}{}:
	default:
		p.full.Add(1)
		return fanin.ErrFull
	}
	defer func() { <-p.slots }()
	if p.isClosing() {
		return fanin.ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), PublishAttemptTimeout)
	defer cancel()
	_, err = p.publish(ctx, id, msg)
	return err
}

// isClosing reports whether Close has been called. A call that got its
// slot checks it before sending: when a slot frees as Close begins, the
// select that waits for both may pick the slot, and the call must still
// return ErrClosed, as Close promises to every call waiting for a slot.
func (p *Publisher[M]) isClosing() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done returns a channel that is closed when Close is first called.
func (p *Publisher[M]) Done() <-chan struct{} { return p.done }

// Close stops the Publisher: every Publish, Send or TrySend that begins
// afterwards, or that is waiting for a slot, returns [fanin.ErrClosed], and
// Done is closed. Close then waits until the publishes already sent have
// their PubAck or have failed, so that the caller may close the connection
// without cutting one off. It returns nil once none is left, or ctx.Err()
// if ctx ends first; the publishes in flight still finish. Close is
// idempotent and safe to call concurrently with every other method.
func (p *Publisher[M]) Close(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
		if p.inflight == 0 {
			close(p.idle)
		}
	}
	p.mu.Unlock()
	select {
	case <-p.idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enter counts a call in, or returns ErrClosed after Close. A mutex (not
// an atomic word, as in fanin.Sender) is enough here: every call then waits
// a network round trip, which dwarfs the lock.
func (p *Publisher[M]) enter() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fanin.ErrClosed
	}
	p.inflight++
	return nil
}

// exit counts a call out; the last one out after Close wakes Close.
func (p *Publisher[M]) exit() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if p.closed && p.inflight == 0 {
		close(p.idle)
	}
}

// message encodes m into the message to publish, under its id.
func (p *Publisher[M]) message(m M) (string, *nats.Msg, error) {
	id, data, err := p.encode(m)
	if err != nil {
		if errors.Is(err, fanin.ErrRefused) {
			return "", nil, err
		}
		return "", nil, refuse("natsjs: encode", err)
	}
	if err := checkID(id); err != nil {
		return "", nil, err
	}
	msg := &nats.Msg{Subject: p.subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	return id, msg, nil
}

// checkID returns nil if the Nats-Msg-Id header carries id exactly, and
// otherwise why not.
func checkID(id string) error {
	if strings.Trim(id, " \t\r\n") == "" {
		return ErrEmptyID
	}
	for i := range len(id) {
		if c := id[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %q holds the control character %q at byte %d", ErrInvalidID, id, c, i)
		}
	}
	if id[0] == ' ' || id[len(id)-1] == ' ' {
		return fmt.Errorf("%w: %q begins or ends with a space", ErrInvalidID, id)
	}
	return nil
}

// publish publishes msg until a PubAck comes, a permanent error happens or
// ctx ends. Every attempt carries the same id, so retries are stored at
// most once within the duplicate window.
func (p *Publisher[M]) publish(ctx context.Context, id string, msg *nats.Msg) (*jetstream.PubAck, error) {
	backoff := publishBackoffMin
	for {
		actx, cancel := context.WithTimeout(ctx, PublishAttemptTimeout)
		ack, err := p.js.PublishMsg(actx, msg)
		cancel()
		if err == nil {
			if ack.Duplicate {
				p.duplicates.Add(1)
			} else {
				p.published.Add(1)
			}
			return ack, nil
		}
		if ctx.Err() != nil {
			p.failed.Add(1)
			return nil, fmt.Errorf("natsjs: publish %q: %w (last attempt: %v)", id, ctx.Err(), err)
		}
		if tooLarge(err) {
			p.failed.Add(1)
			return nil, refuse(fmt.Sprintf("natsjs: publish %q", id), err)
		}
		if !transient(err) {
			p.failed.Add(1)
			return nil, fmt.Errorf("natsjs: publish %q: %w", id, err)
		}
		p.retries.Add(1)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			p.failed.Add(1)
			return nil, fmt.Errorf("natsjs: publish %q: %w (last attempt: %v)", id, ctx.Err(), err)
		}
		backoff = min(2*backoff, publishBackoffMax)
	}
}

// PublisherStats are a [Publisher]'s counts since it was made, in the
// spirit of database/sql's DBStats.
type PublisherStats struct {
	Published  uint64 // messages the stream stored: a PubAck that was not a duplicate
	Duplicates uint64 // PubAcks that said the stream already held a message with the id
	Retries    uint64 // attempts that failed transiently and were sent again
	Failed     uint64 // publishes that ended in an error after they were sent (the message may be stored)
	Full       uint64 // TrySend calls refused with fanin.ErrFull
	InFlight   int    // now: publishes holding an in-flight slot
}

// Stats returns a snapshot of p's counts.
func (p *Publisher[M]) Stats() PublisherStats {
	return PublisherStats{
		Published:  p.published.Load(),
		Duplicates: p.duplicates.Load(),
		Retries:    p.retries.Load(),
		Failed:     p.failed.Load(),
		Full:       p.full.Load(),
		InFlight:   len(p.slots),
	}
}

// tooLarge reports whether a publish failed because the message is larger
// than the server's max_payload (the client refuses it before sending) or
// the stream's MaxMsgSize: it can never be stored, so the failure is the
// message's, and the stream cannot hold it.
func tooLarge(err error) bool {
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum)
}

// transient reports whether a publish that failed with err may succeed if
// sent again: no answer in time, nobody answering (the stream is being
// restored or its leader elected), or a connection that is reconnecting.
// A closed connection, a refusal by the stream (wrong subject, limits) or
// a bad message is permanent.
func transient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrReconnectBufExceeded)
}

// ErrReplyWanted is returned by the encode function of [EncodeJSON], and
// so by [Publisher.Send], for a message that waits for a reply: one that
// holds, where its JSON encoding would reach it, a reply handle whose
// Wanted method reports true, such as the fanin.Reply of a webhook.Message
// whose caller waits for the agent's answer. The handle lives in the
// ingress process and cannot cross the stream (it would be encoded as {}),
// so the caller would wait in vain. Nothing is published. A program that
// carries replies across machines its own way encodes with a function of
// its own. It matches fanin.ErrRefused, so that a webhook handler answers
// such a request at once with 422 refused and this error's text, not 500
// or 503: the request, not the service, is at fault, and a retry would
// fail alike.
var ErrReplyWanted = refusal("natsjs: the message waits for a reply, which cannot cross the stream")

// refusal returns a sentinel error with text msg that also matches
// fanin.ErrRefused: a message refused for what it is, not for the state
// of the stream. A pointer, so that each sentinel equals only itself.
func refusal(msg string) error { return &refusedError{msg: msg} }

// refuse returns err, with msg before its text, as an error that also
// matches fanin.ErrRefused: a failure that sending the same message again
// would meet again. err stays matchable with errors.Is and errors.As.
func refuse(msg string, err error) error { return &refusedError{msg: msg, err: err} }

type refusedError struct {
	msg string
	err error // the cause, if any
}

func (e *refusedError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}
func (e *refusedError) Is(target error) bool { return target == fanin.ErrRefused }
func (e *refusedError) Unwrap() error        { return e.err }

// replyWanter is a reply handle, such as fanin.Reply.
type replyWanter interface{ Wanted() bool }

// EncodeJSON returns an encode function for [NewPublisher] that publishes
// a message as its JSON encoding, with the id that id returns.
//
// It refuses a message that waits for a reply with [ErrReplyWanted]: one
// that holds a reply handle (a value with a method Wanted() bool, such as
// fanin.Reply) whose Wanted reports true, anywhere its JSON encoding would
// reach: the message itself, an exported field, a field promoted from an
// exported embedded struct (such as a webhook.Message embedded in a struct
// of the program's), through pointers, through interfaces (the value an
// `any` holds is checked), and in the elements of slices, arrays and maps.
// A handle that does not want a reply (the zero fanin.Reply) is encoded as
// JSON encodes it, as {}. Not checked: fields promoted from an embedded
// struct of an unexported type, which reflection cannot read, and what
// lies more than 1000 pointers, interfaces or elements deep. The handles
// a type can hold are found once per type, by reflection, so a message
// type that can hold none (no handle, no interface among its fields)
// costs nothing more than its encoding.
//
// A message that encoding/json cannot encode (a NaN, a channel, a cycle)
// is refused with the encoding error wrapped in an error that also
// matches fanin.ErrRefused.
func EncodeJSON[M any](id func(M) string) func(M) (string, []byte, error) {
	check := checkerFor(reflect.TypeFor[M]())
	return func(m M) (string, []byte, error) {
		if check != nil && check(reflect.ValueOf(&m).Elem(), 0) {
			return "", nil, ErrReplyWanted
		}
		data, err := json.Marshal(m)
		if err != nil {
			return "", nil, refuse("natsjs: encode", err)
		}
		return id(m), data, nil
	}
}

// A checker reports whether v, a value of the type it was made for, holds
// a reply handle that wants a reply; depth counts the pointers,
// interfaces and elements passed through to reach v.
type checker func(v reflect.Value, depth int) bool

// maxCheckDepth bounds the walk of a checker, so that a cyclic value ends
// it; encoding/json refuses such a value anyway.
const maxCheckDepth = 1000

// checkers caches checkerFor by type: a *checker, nil for a type that can
// hold no handle.
var checkers sync.Map // reflect.Type -> *checker

var wanterType = reflect.TypeFor[replyWanter]()

// checkerFor returns the checker of values of type t, or nil if no value
// of type t can hold a reply handle.
func checkerFor(t reflect.Type) checker {
	if c, ok := checkers.Load(t); ok {
		return *c.(*checker)
	}
	var c checker
	if canHold(t, map[reflect.Type]bool{}) {
		c = buildChecker(t)
	}
	checkers.Store(t, &c)
	return c
}

// canHold reports whether a value of type t can hold a reply handle where
// JSON would reach it; seen holds the types already being looked at, so
// that a recursive type ends the search.
func canHold(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t.Kind() == reflect.Interface || t.Implements(wanterType) {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return canHold(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && canHold(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// buildChecker makes the checker of t, which canHold. The checkers of the
// types within t are looked up when a value is checked, not now, so that
// a recursive type needs no special case.
func buildChecker(t reflect.Type) checker {
	var self checker
	if t.Kind() != reflect.Interface && t.Implements(wanterType) {
		self = func(v reflect.Value, _ int) bool {
			if t.Kind() == reflect.Pointer && v.IsNil() {
				return false
			}
			return v.Interface().(replyWanter).Wanted()
		}
	}
	var inner checker
	switch t.Kind() {
	case reflect.Interface:
		inner = func(v reflect.Value, depth int) bool {
			if v.IsNil() || depth >= maxCheckDepth {
				return false
			}
			e := v.Elem()
			c := checkerFor(e.Type())
			return c != nil && c(e, depth+1)
		}
	case reflect.Pointer:
		inner = func(v reflect.Value, depth int) bool {
			if v.IsNil() || depth >= maxCheckDepth {
				return false
			}
			c := checkerFor(t.Elem())
			return c != nil && c(v.Elem(), depth+1)
		}
	case reflect.Slice, reflect.Array:
		inner = func(v reflect.Value, depth int) bool {
			c := checkerFor(t.Elem())
			if c == nil || depth >= maxCheckDepth {
				return false
			}
			for i := range v.Len() {
				if c(v.Index(i), depth+1) {
					return true
				}
			}
			return false
		}
	case reflect.Map:
		inner = func(v reflect.Value, depth int) bool {
			c := checkerFor(t.Elem())
			if c == nil || depth >= maxCheckDepth {
				return false
			}
			for it := v.MapRange(); it.Next(); {
				if c(it.Value(), depth+1) {
					return true
				}
			}
			return false
		}
	case reflect.Struct:
		var fields []int
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && canHold(f.Type, map[reflect.Type]bool{}) {
				fields = append(fields, i)
			}
		}
		inner = func(v reflect.Value, depth int) bool {
			for _, i := range fields {
				if c := checkerFor(t.Field(i).Type); c != nil && c(v.Field(i), depth) {
					return true
				}
			}
			return false
		}
	}
	switch {
	case self == nil:
		return inner
	case inner == nil:
		return self
	}
	return func(v reflect.Value, depth int) bool { return self(v, depth) || inner(v, depth) }
}

// DecodeJSON is a decode function for [NewSource] that reads a payload
// written by [EncodeJSON].
func DecodeJSON[M any](data []byte) (M, error) {
	var m M
	err := json.Unmarshal(data, &m)
	return m, err
}
