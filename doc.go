// Package fanin merges the messages of many producers into one bounded stream
// for one consumer, and can always be shut down.
//
// A program that talks to the world through several adapters (an HTTP
// webhook, a websocket, a chat bridge, a plugin runtime) usually feeds one
// consumer loop. Each adapter sends into a bounded buffer. When the consumer
// falls behind the buffer fills and senders block; fanin is built so that
// this can never stop the program from shutting down or restarting.
//
// # Two ways in
//
// A [Channel] is one buffer: many senders, one consumer reading a Go
// channel. It is started, shut down and started again, any number of times;
// each [Channel.Start] begins a run and returns that run's stream:
//
//	var c fanin.Channel[Message] // or fanin.New[Message](capacity)
//	stream, err := c.Start()
//	go func() {
//		for m := range stream {
//			handle(m)
//		}
//	}()
//	err = c.Send(ctx, m)  // waits for room
//	err = c.TrySend(m)    // never waits; ErrFull when there is no room
//	err = c.Shutdown(ctx) // wakes blocked senders, then closes stream
//
// A [Group] runs named adapters and supervises them. Each adapter sends into
// a bounded lane of its own, so one that floods fills only its own lane, and
// the consumer receives from the lanes in a fair, weighted order:
//
//	var g fanin.Group[Event]
//	g.Add(ctx, fanin.Map(webhookHandler, toEvent)) // an adapter of another type
//	g.Add(ctx, fanin.AdapterFunc("ticker", tick), fanin.WithRestart(fanin.RestartAlways))
//	err := g.Run(ctx, func(e Event) error { ...; return nil }) // until ctx ends, or a failure ends the run
//
// or, for a consumer that wants the stream itself, [Group.Start] returns a
// [Stream] to receive from, and [Group.Shutdown] ends the run.
//
// Adapters send through a [Sink], which [*Sender] and every lane implement,
// so an adapter can be tested against a fake and joins a group of another
// message type through [Map], with no goroutine and no second buffer.
//
// # Guarantees
//
//   - Send and TrySend return nil if and only if the value was placed in the
//     stream; a consumer that reads the stream until its end receives it
//     exactly once. Any error means the value was not placed and will never
//     be received. Nothing accepted is lost; nothing rejected is delivered.
//   - Send waits only while the buffer (or lane) is full, and stops waiting
//     when its context ends (ctx.Err()) or the run is shut down
//     ([ErrClosed]). No lock is held while it waits, so Start, Shutdown and
//     every other sender proceed.
//   - Shutdown stops intake at once, wakes every blocked sender with
//     ErrClosed, and ends the stream after the last send in flight has
//     returned. It never waits for the consumer or for room. Values already
//     buffered are received before the end.
//   - No method panics under any interleaving: a stream is closed only when
//     no send on it is possible.
//   - Channel and the limiters start no goroutines. A Group runs each
//     adapter in one goroutine of its own, and no goroutine of the group
//     outlives Shutdown; the fair merge runs in the consumer's goroutine.
//
// # Supervision
//
// A panic in an adapter's Start or Run is recovered in that adapter's
// goroutine and recorded as a [*PanicError] with its stack, as net/http
// recovers a panic in one request; the adapter's [RestartPolicy] decides
// what follows, with exponential backoff and an intensity limit named as
// Erlang/OTP names them. A failure never stays both silent and final: an
// adapter over its intensity ends the run with an [*AdapterError] that
// [Group.Run] returns and [Stream.Err] reports, unless it was added
// [WithKeepTrying], and then it is restarted for as long as the run lasts;
// [WithFailFast] makes a failed first Start end the run at once.
// The end of a run is bounded: Run drains for at most DrainTimeout, and
// what it does not handle goes to Group.Abandon and is counted. [Group.Stats] and [Channel.Stats] return counters
// in the spirit of database/sql's DBStats, and a Group can log its events
// to a [log/slog.Logger] and deliver them on a channel.
//
// # Around the stream
//
// [Pending] matches replies to requests through a [Reply] handle that a
// message of any type can carry, and never leaks a waiter;
// [PendingStreams] does the same for answers streamed chunk by chunk
// through a [StreamReply], and never lets a slow requester hold the
// consumer. [Limiter] is a
// token bucket with several bands taken atomically, [SendBatch] sends a
// batch taking one token right before each value, and [KeyedLimiter] keeps
// one bucket per key in bounded memory. Package webhook builds an HTTP
// ingress on all of these, and module wsgate a WebSocket gateway.
//
// # Why not a lock
//
// The design this package replaces kept the sender behind a read-write lock
// and held the read lock across the blocking send. With the buffer full, the
// send never finished, so shutdown and restart could never take the write
// lock, and a write-preferring lock (sync.RWMutex is one) then also blocked
// every new sender: the whole process froze. fanin publishes each run in an
// atomic pointer and counts sends in flight in an atomic word per Sender
// instead, and Shutdown wakes blocked senders through a channel that it
// closes.
package fanin
