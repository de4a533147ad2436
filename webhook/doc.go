// Package webhook is an HTTP ingress for fanin: callers POST JSON messages,
// signed with a shared secret, and the messages go into a fanin stream for
// the consumer loop. A caller may also wait for the consumer's reply.
//
// A [Handler] is an [net/http.Handler] that can be used alone, mounted in a
// program's own server, or run as an adapter of a [fanin.Group], which
// serves it on its own address.
//
// # Requests
//
// A request is a POST with Content-Type application/json and a body such as
//
//	{"sender": "alice", "content": "hello", "thread": "t1",
//	 "metadata": {"lang": "en"}, "wait_for_response": false}
//
// signed with HMAC-SHA256 over the raw body, in the header
// X-Signature-256: sha256=<hex>. Every answer, success or failure, has one
// JSON shape:
//
//	{"message_id": "...", "status": "accepted", "response": "", "error": ""}
//
// The checks run in this order, and the first that fails answers:
//
//	405 method_not_allowed      not a POST
//	503 unavailable             no secret configured: the handler never fails open
//	415 unsupported_media_type  Content-Type is not application/json
//	413 too_large               body over MaxBodyBytes, read with a hard cap
//	401 unauthorized            signature missing or wrong (compared in constant time)
//	400 bad_request             not one JSON object of the message shape with a
//	                            sender (at most 256 bytes) and content; a short reason
//	413 too_large               content over MaxContentBytes (unless TruncateContent)
//	429 rate_limited            over the caller's rate (per sender), with Retry-After
//	503 not_started             no run attached yet
//	429 too_many_pending        MaxPending callers already wait for replies, with Retry-After
//	503 closed                  the run was shut down
//	503 busy                    buffer still full after SendTimeout, with Retry-After
//	202 accepted                in the stream
//	200 replied                 in the stream, and the reply is in "response"
//	504 timeout                 in the stream, but no reply within ResponseTimeout
//	202 no_reply                in the stream, but the run ended before the reply
//	499 canceled                in the stream, but the client left before the reply
//
// Rate limiting comes after authentication, so a flood of unsigned requests
// cannot use up a real caller's budget. A timeout or a shutdown is never
// reported as "replied", and "accepted" always means the message is in the
// stream.
package webhook
