// Package wsgate is a WebSocket gateway between browsers and an agent fed
// by a fanin stream: people type on a page, the agent receives each message
// through a fanin.Group, and its answer streams back word by word on the
// same connection. The program can also push text to one connection or to
// every one.
//
// A [Gateway] is a fanin adapter of [Message] values; a program of another
// message type joins it with fanin.Map:
//
//	gw := wsgate.New(wsgate.Config{Addr: "127.0.0.1:8080"})
//	var g fanin.Group[Event]
//	g.Add(ctx, fanin.Map(gw, toEvent), fanin.WithFailFast())
//	g.Run(ctx, func(e Event) error {
//		go answer(e.Reply, e.Text) // Reply.Send each word, then Reply.End
//		return nil
//	})
//
// It serves a chat page at "/" and WebSockets at "/ws".
//
// # Nothing the agent does waits for a client
//
// A reply's chunks go from the program into a fanin.StreamReply, whose
// Send never waits; a relay goroutine of the connection moves them into the
// connection's outbox, a queue of at most Config.Outbox frames (512) that
// one writer goroutine per connection writes to the socket. [Gateway.Push]
// and [Gateway.Broadcast] add to outboxes and return. When a frame finds
// an outbox full, the client is too slow: its connection is closed with
// 1008 "too slow: outbox full", counted in [Stats].SlowClosed, and the
// frame being written to it is given 1 second more before the socket is
// closed. No lock is held while anything is written to a socket.
//
// # Protocol
//
// Every message is a JSON text frame. A client sends
//
//	{"id": "m1", "text": "hello"}
//
// where id (at most 128 bytes, optional) names the message in the frames
// that answer it:
//
//	{"type": "accepted", "id": "m1"}               in the stream
//	{"type": "chunk", "id": "m1", "text": "Hel"}   a piece of the reply
//	{"type": "end", "id": "m1"}                    the reply is whole
//	{"type": "error", "id": "m1", "error": "..."}  the reply ended unfinished:
//	                                               timeout, going_away, overflow,
//	                                               or "failed: " and Fail's error
//	{"type": "refused", "id": "m1", "error": "..."} not in the stream: busy,
//	                                               too_many_pending, going_away,
//	                                               send_failed
//	{"type": "push", "text": "..."}                pushed by the program
//
// "accepted" always means the message is in the stream, and "refused" that
// it is not and never will be.
//
// # Refusals and close codes
//
// Before the upgrade, over HTTP (no connection is given to the caller):
//
//	403  the page's Origin is not the gateway's host nor in OriginPatterns
//	401  Config.Authenticate returned an error (its text follows)
//	426  not a WebSocket upgrade request
//	503  the gateway is shutting down
//
// A connection that is not a WebSocket (the page, or any request before
// the upgrade) is bounded by time, not counted in MaxConns: each request
// must come whole within HandshakeTimeout (5 s) and its answer be written
// within WriteTimeout (10 s), and the connection is closed when it is
// idle for HandshakeTimeout between requests.
//
// After the upgrade, these are every close code the gateway sends, with
// their reasons:
//
//	1013 "too many connections"         over MaxConns (1024)
//	1009                                a message over MaxMessageBytes (4 KiB)
//	1003 "binary messages ..."          a binary message
//	1007 "message is not valid UTF-8"   a text message that is not UTF-8
//	1007 "message is not {...}"         not the JSON shape above
//	1002                                a frame that breaks RFC 6455 (an
//	                                    unknown opcode, a fragmented control
//	                                    frame, a bad close frame, ...)
//	1008 "rate limit exceeded"          over RateLimit, a limit of the
//	                                    connection's own
//	1008 "too slow: outbox full"        the client does not read fast enough
//	1008 "ping timeout"                 no pong within PongTimeout (10 s) of a
//	                                    ping; pings go every PingInterval (30 s)
//	1001 "server shutting down"         Run's context ended
//	the client's own code               the client closed first: its close
//	                                    is echoed
//
// A connection that has decided to close queues nothing more, sends what
// it still holds (nothing, for a client closed for what it did) and its
// close frame, and reads nothing but the client's close frame; it is
// dropped if that does not complete within about 2 seconds. A connection
// whose frame cannot be written within WriteTimeout, or whose socket
// fails, is dropped without a close frame. No refusal of one client is
// seen by any other.
package wsgate
