// Package webhook is a signed HTTP ingress for fanin: senders POST
// webhooks, the handler verifies who signed them, and each delivery goes
// into a fanin stream for the consumer loop, once. A caller may also wait
// for the consumer's reply.
//
// A [Handler] is an [net/http.Handler] that can be mounted in a program's
// own server, or run as an adapter of a [fanin.Group], which serves it on
// its own address with the server limits of [Config]. Through [fanin.Map]
// it joins a Group of the program's own message type.
//
// It is not a webhook sender, nor a general HTTP API: every request must
// be signed by a scheme it knows, and every answer it writes is the one
// JSON shape below.
//
// # Verification
//
// [Config].Verifiers lists the schemes accepted, several at once: a
// request is verified if any of them verifies it. Each takes several
// secrets, so that secrets rotate without downtime.
//
//   - [StandardWebhooks] (standardwebhooks.com): webhook-id,
//     webhook-timestamp and webhook-signature ("v1,<base64>" entries over
//     "id.timestamp.body"), secrets written whsec_<base64>, a tolerance of
//     5 minutes both ways. The ID and the timestamp are signed, so this is
//     the scheme that stops replays.
//   - [HMACSHA256]: "sha256=<hex>" of the body in a header of one's
//     choosing, and [GitHub], that scheme in X-Hub-Signature-256 with the
//     delivery ID from X-GitHub-Delivery and the event from X-GitHub-Event.
//     These sign the body only.
//   - Any other scheme, such as Slack's or Stripe's, in a few lines with
//     [VerifierFunc]; see its example.
//
// Without a verifier the handler answers every request 503: it never
// accepts unsigned messages. Signatures are compared in constant time. A
// verifier checks the headers first: a request without a signature header
// of any scheme, with a malformed one, or with a stale timestamp is
// refused before its body is read.
//
// The handler never picks one of several copies of a header it acts on:
// a scheme does not verify a request that carries its signature, delivery
// ID, timestamp or event header more than once, whichever copy is right,
// and if no other scheme verifies it, it is refused 401 naming the header
// ("X-Hub-Signature-256 sent more than once"); a request that carries
// Content-Type more than once is refused 415 (outside raw mode), and one
// that carries Idempotency-Key (whatever the scheme) or the header of
// [ByHeader] more than once is refused 400, each naming the header. GitHub and Standard Webhooks send each header once. Only
// webhook-signature may come in several lines: it is a list of
// signatures, and the entries of all its lines count as one list.
//
// # Payloads
//
// By default a request's body is one JSON object, with Content-Type
// application/json:
//
//	{"sender": "alice", "content": "hello", "thread": "t1",
//	 "metadata": {"lang": "en"}, "wait_for_response": false}
//
// A Standard Webhooks sender's own payload needs no configuration: a body
// verified by [StandardWebhooks] that has no "sender" member (such as the
// specification's {"type", "timestamp", "data"}) is an event, delivered
// with the verified bytes in [Message].Body, its event type, delivery ID
// and signed timestamp; it must be JSON (else 400), and never waits for a
// reply. A body of another shape under another scheme is refused 400,
// with a reason that names [Config].Raw.
//
// With [Config].Raw the body can be anything (a GitHub event, a Standard
// Webhooks payload, a form): the message carries the verified bytes in
// [Message].Body, with the delivery's event type, ID and timestamp and the
// headers named in [Config].Headers. Raw deliveries never wait for a
// reply.
//
// # Repeated deliveries and replays
//
// A request with a delivery ID (webhook-id, X-GitHub-Delivery, or an
// Idempotency-Key header) whose message entered the stream is remembered
// for [Config].DedupWindow (10 minutes by default), and for a Standard
// Webhooks delivery at least until its timestamp is stale. Whether a
// request is a repeat is judged as of its arrival, however slowly its
// body then comes (at most ReadTimeout: see Bounded before verification),
// so each ID stays in the table ReadTimeout longer. A repeat that arrived
// within that time is not sent again: it gets the first delivery's answer, same
// message_id, with the header Idempotent-Replayed: true. Where that answer
// is not true of a repeat, it gets 202 reply_not_kept instead, with the
// message_id and the reason: when the first caller left before the reply
// (its 499 canceled was answered to nobody, and the reply, if one came,
// went nowhere), and when the reply is not kept (all kept replies together
// are at most 1 MiB). Copies that arrive while the first is still in
// flight wait for its outcome and share it, each holding a place of
// [Config].MaxPending as a caller waiting for a reply does (over it, 429
// too_many_pending), but not its body; 50 concurrent copies put exactly
// one message in the stream. A first delivery that was refused
// (busy, closed, rate limited, malformed) is not remembered, so a retry
// can succeed; copies that waited for it share its refusal, without
// Idempotent-Replayed, which marks only answers about a message in the
// stream, except when the first caller left before its message was placed:
// a copy whose own caller is still there gets 503 busy with Retry-After.
//
// One delivery ID is one delivery, whichever verifier accepted it: IDs
// are not kept apart by verifier or secret. An ID that the scheme signs
// with the body (Standard Webhooks') names one delivery: the same ID with
// another body is answered 422 id_reused. An ID that no signature covers
// (X-GitHub-Delivery, Idempotency-Key, and a [VerifierFunc]'s Delivery.ID)
// is taken together with the body, apart from signed IDs: the same ID with
// another body is another delivery, so that a holder of one
// captured request, who can send its body under any ID, cannot have a
// genuine delivery refused as a reuse of its ID; and such IDs take at most
// half of the table, so that made-up ones cannot fill it and have a
// delivery with a signed ID refused (deliveries with unsigned IDs are
// answered 503 busy while their half is full). A repeat with a signed ID
// that is fresh for longer than the first copy (a Standard Webhooks retry,
// re-signed later) keeps the ID until it is stale too, so that a replay of
// the retry is answered from the table as well. A delivery ID, Idempotency-Key included,
// quoted ("key") or not, must be 1 to 256 visible ASCII characters: an
// empty one is refused 400 like any malformed ID, never taken as no ID.
// Idempotency-Key is checked so whatever the scheme; a scheme's own ID,
// if it has one, is the one used.
//
// The table holds at most [Config].MaxDeliveries IDs (100,000 by default,
// about 240 bytes each: 24 MB), plus at most 1 MiB of replies kept for
// repeats of deliveries that waited for one. It holds each ID for its
// window and ReadTimeout more, so it takes MaxDeliveries new IDs per
// DedupWindow + ReadTimeout (10 min 10 s by default), unsigned ones half
// of that (at least one). When it is full of
// IDs it must keep, a new ID is answered 503 busy with Retry-After rather
// than let through unremembered.
//
// With Standard Webhooks, a captured request replayed within the tolerance
// gets the first answer from the table, and one replayed later is stale:
// no replay reaches the stream, whatever DedupWindow, the sender's clock
// or the pace of the replay's body. The HMAC schemes cannot tell a replay from
// a new request; their delivery IDs (GitHub's header, Idempotency-Key) are
// not signed, so they deduplicate a sender's own retries, not an
// attacker's replays.
//
// # Bounded before verification
//
// Work done for a caller not yet verified is bounded:
//
//   - At most [Config].MaxVerifying bodies (32 by default) are read and
//     verified at once; over it a request is answered 503 busy at once,
//     with Retry-After, unread. Unverified bodies hold at most
//     MaxVerifying * MaxBodyBytes (32 MiB by default) of buffers, with or
//     without a Content-Length: a buffer grows up to MaxBodyBytes and no
//     further. Requests refused on their headers take no place.
//   - [Config].AddrLimit, if set, limits each remote address (IPv6 by /64)
//     before verification, tracking at most [Config].MaxAddrs addresses.
//   - A body must arrive within [Config].ReadTimeout (10 s), or the
//     request is answered 408, also when mounted in a server of one's own.
//     Where a middleware's wrapper of the ResponseWriter hides the
//     connection, the read itself is bounded only by the server (see
//     ReadTimeout), but a body that took longer than ReadTimeout by the
//     handler's clock is answered 408 all the same, and not delivered.
//   - Under Run, the server reads headers for at most ReadHeaderTimeout
//     (5 s) and at most MaxHeaderBytes (16 KiB, request line included;
//     see [Config].MaxHeaderBytes for a request pipelined behind
//     another), closes idle connections after IdleTimeout (60 s), and
//     keeps at most MaxConns (1024) connections, closing new ones over it
//     at once. A connection that has sent as many headers as
//     MaxHeaderBytes lets through holds about 37 KB of heap and stack
//     (measured: 36 to 37 KB with 16 KiB), so MaxConns bounds them to
//     about 38 MB. One whose client does not read its answer (its socket
//     buffers full) holds its handler, blocked writing, until the client
//     reads or Run gives the answer up at shutdown, but not its body: 18
//     to 35 KB measured.
//     MaxConns bounds memory, not who gets in: enough slow or refused
//     connections (net/http keeps a connection whose body was left unread
//     for half a second after the answer) fill it, and new connections, a
//     signed caller's among them, are then closed until some end. A
//     per-address connection limit belongs in a proxy in front.
//
// Measured on a 2-core machine shared with other work, not under -race,
// with 64 connections posting 1 MiB bodies in a loop and MaxVerifying 8:
// unsigned bodies were refused unread and every signed request was
// accepted (p99 0.13 to 0.25 s); with a bogus signature header on each
// body, the heap peaked at 27 to 30 MB (8 MiB of bodies live, the rest
// garbage not yet collected) and signed callers were answered with p99
// 0.18 s on a quiet machine, 1.3 s on a loaded one, where some were
// answered 503 busy; the same flood from an address held by AddrLimit
// left every signed request accepted (p99 0.10 to 0.25 s).
//
// The rate limit of [Config].RateLimit comes after verification, so an
// unsigned flood cannot use up a caller's budget. [Config].RateKey picks
// what it counts by; see [ByRemoteAddr], [ByHeader] and [ByField] for
// what each can be trusted for.
//
// # Answers
//
// Every answer the handler writes, success or failure, has one JSON shape:
//
//	{"message_id": "...", "status": "accepted", "response": "", "error": ""}
//
// The checks run in this order, and the first that fails answers:
//
//	405 method_not_allowed      not a POST
//	503 unavailable             no verifier configured
//	415 unsupported_media_type  Content-Type is not application/json, or is sent
//	                            more than once (not in raw mode)
//	429 rate_limited            over AddrLimit, with Retry-After (503 busy if
//	                            MaxAddrs addresses are tracked and none is idle)
//	401 unauthorized            before the body is read: "missing signature",
//	                            "timestamp outside the tolerance", a scheme's header
//	                            "sent more than once", or "invalid signature" for a
//	                            signature header that is malformed
//	503 busy                    MaxVerifying bodies being verified, with Retry-After
//	413 too_large               body over MaxBodyBytes, read with a hard cap
//	408 request_timeout         body not received within ReadTimeout
//	401 unauthorized            "invalid signature": once the body is read, no
//	                            signature matches it
//	400 bad_request             body unreadable, or a malformed Idempotency-Key
//	                            (whatever the scheme) or delivery ID (an empty
//	                            one among them), or Idempotency-Key sent twice
//	(a repeated delivery ID gets the first answer here, or 202
//	reply_not_kept: see Repeated deliveries)
//	429 too_many_pending        a copy that would wait for the outcome of its first
//	                            while MaxPending callers wait, with Retry-After
//	422 id_reused               the signed delivery ID came with another body
//	503 busy                    the table of delivery IDs is full, with Retry-After
//	400 bad_request             not the JSON message shape (nor, under Standard
//	                            Webhooks, a JSON event), or an empty raw body;
//	                            a short reason in the package's words
//	413 too_large               content over MaxContentBytes (unless it can be truncated)
//	400 bad_request             the header of ByHeader sent more than once
//	429 rate_limited            over RateLimit for its RateKey, with Retry-After
//	503 not_started             no run attached yet
//	503 closed                  the run was shut down
//	429 too_many_pending        MaxPending callers already wait, with Retry-After
//	503 busy                    buffer still full after SendTimeout, with Retry-After
//	422 refused                 the sink refused the message itself for good
//	                            (an error matching fanin.ErrRefused, such as
//	                            natsjs.ErrReplyWanted), with the sink's reason
//	500 send_failed             the stream refused the message for another reason
//	                            (the program's sink failed), without Retry-After
//	499 canceled                the client left before its message was placed
//	202 accepted                in the stream
//	200 replied                 in the stream, and the reply is in "response"
//	504 timeout                 in the stream, but no reply within ResponseTimeout
//	202 no_reply                in the stream, but the run ended before the reply
//	499 canceled                in the stream, but the client left before the reply
//	202 reply_not_kept          a repeat: in the stream, but the reply cannot be repeated
//
// A request whose body was left unread is answered with Connection: close.
// A timeout or a shutdown is never reported as "replied", and "accepted"
// always means the message is in the stream. Only answers worth retrying
// soon (busy, rate_limited, too_many_pending) carry Retry-After.
//
// Some requests never reach the handler: the server refuses them itself,
// in its own plain text, and closes the connection. Under Run, net/http
// answers
//
//	400  a malformed request line, header name or value, or Content-Length;
//	     a missing, repeated or malformed Host
//	417  an Expect header other than 100-continue (with an empty body)
//	431  request line and headers over MaxHeaderBytes
//	501  a Transfer-Encoding other than chunked
//	505  an HTTP version other than 1.x
//
// and closes, without an answer, a connection over MaxConns or one that
// sends no whole request line and headers within ReadHeaderTimeout. A
// request with "Expect: 100-continue" gets net/http's interim "100
// Continue" when the handler reads its body, before its answer. Mounted in
// a program's own server, that server (and its middleware) answers such
// requests as it does.
//
// # Shutdown and replies
//
// [Handler.Run] ends every connection it started when its context ends:
// requests that have not placed their message are cut off and answered 503
// closed (a client stalled in the middle of its body among them), and
// connections still sending headers are closed; see Run for the steps. A
// caller whose message is in the stream when the run ends keeps waiting
// for its reply while the consumer drains what was accepted: mounted in a
// program's server, up to ResponseTimeout; under Run, up to ShutdownGrace
// (5 s) more, so that a Group's shutdown is never held longer. If no reply
// comes it is answered 202 no_reply, with its message_id. Once the run's
// context has ended, an answer must be written within 1 second of that
// end, or of its own start if later, or it is given up and its connection
// closed, so that a client that does not read cannot hold Run; see Run for
// when it returns.
//
// # Example
//
//	sw, err := webhook.StandardWebhooks(os.Getenv("WEBHOOK_SECRET"))
//	...
//	h := webhook.New(webhook.Config{
//		Verifiers: []webhook.Verifier{sw},
//		Raw:       true,
//		Addr:      "127.0.0.1:8080",
//	})
//	var g fanin.Group[Event]
//	g.Add(ctx, fanin.Map(h, func(m webhook.Message) Event { ... }))
package webhook
