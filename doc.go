// Package fanin merges the messages of many producers into one bounded stream
// for one consumer, and can always be shut down.
//
// A program that talks to the world through several adapters (an HTTP
// webhook, a websocket, a chat bridge, a plugin runtime) usually feeds one
// consumer loop. Each adapter sends into a shared, buffered stream. When the
// consumer falls behind the buffer fills and senders block; fanin is built so
// that this can never stop the program from shutting down or restarting the
// stream.
//
// # Lifecycle
//
// A [Channel] is started, shut down and started again, any number of times.
// Each [Channel.Start] begins a run and returns that run's stream; the
// consumer reads it until it is closed:
//
//	var c fanin.Channel[Message] // or fanin.New[Message](capacity)
//	stream, err := c.Start()
//	...
//	go func() {
//		for m := range stream {
//			handle(m)
//		}
//	}()
//	...
//	err = c.Send(ctx, m)      // waits for room
//	err = c.TrySend(m)        // never waits; ErrFull when there is no room
//	err = c.Shutdown(ctx)     // wakes blocked senders, then closes stream
//
// An adapter that sends for the whole run takes a [Sender] from
// [Channel.Sender]. A Sender is bound to its run: after that run is shut down
// it returns [ErrClosed] for ever, and its [Sender.Done] channel is closed.
//
// # Guarantees
//
//   - Send and TrySend return nil if and only if the value was placed in the
//     stream; a consumer that reads the stream until it is closed receives it
//     exactly once. Any error means the value was not placed and will never be
//     received. Nothing accepted is lost; nothing rejected is delivered.
//   - Send waits only while the buffer is full, and stops waiting when its
//     context ends (ctx.Err()) or the run is shut down ([ErrClosed]). No lock
//     is held while it waits, so Start, Shutdown and every other sender proceed.
//   - Shutdown stops intake at once, wakes every blocked sender with ErrClosed
//     and closes the stream after the last send in flight has returned. It
//     never waits for the consumer or for room in the buffer. Values already
//     buffered are received before the close.
//   - No method panics under any interleaving: the stream is closed only
//     when no send on it is possible.
//   - Channel and the limiters start no goroutines; a Group runs each adapter
//     in a goroutine and waits for all of them in Shutdown.
//
// # Around the channel
//
// A [Group] runs named adapters (anything with Name and Run) that all send
// into one Channel, and adds, removes and replaces them while it runs; a
// replacement starts before the adapter it replaces stops. [Pending]
// matches replies to requests for callers that wait for the consumer's
// answer, and never leaks a waiter. [Limiter] is a token bucket with
// several bands taken atomically, [SendBatch] sends a batch taking one token
// right before each value, and [KeyedLimiter] keeps one bucket per key in
// bounded memory. Package webhook builds an HTTP ingress on all of these.
//
// # Why not a lock
//
// The design this package replaces kept the sender behind a read-write lock
// and held the read lock across the blocking send. With the buffer full, the
// send never finished, so shutdown and restart could never take the write
// lock, and a write-preferring lock (sync.RWMutex is one) then also blocked
// every new sender: the whole process froze. fanin publishes each run in an
// atomic pointer and counts sends in flight in an atomic word instead, and
// Shutdown wakes blocked senders through a channel that it closes.
package fanin
