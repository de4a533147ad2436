// Package natsjs carries fanin streams across machines on NATS JetStream:
// ingress processes publish what they accept into a stream, and agent
// processes read it back through a durable consumer as a fanin adapter.
// It is not a queue of its own: storage, redelivery and duplicate detection
// are JetStream's, through the github.com/nats-io/nats.go/jetstream package.
//
// A [Publisher] is the sending half. It is a [fanin.Sink], so an ingress
// such as a webhook.Handler attaches to one instead of to a local stream:
//
//	pub := natsjs.NewPublisher(js, "webhook.in", 0,
//		natsjs.EncodeJSON(func(m webhook.Message) string {
//			return cmp.Or(m.DeliveryID, m.ID) // the sender's id, where it gives one
//		}))
//	h := webhook.New(webhook.Config{
//		Verifiers: []webhook.Verifier{webhook.HMACSHA256("", secret)},
//	})
//	h.Attach(pub) // 202 now means: stored by JetStream
//	http.ListenAndServe(addr, h)
//
// A [Source] is the receiving half: an adapter whose values are
// [Delivery] values, each with its decoded payload, its metadata and the
// methods that settle it.
//
//	src := natsjs.NewSource(natsjs.SourceConfig{
//		URL: url, Stream: "WEBHOOK",
//		Consumer: jetstream.ConsumerConfig{Durable: "agent"},
//	}, natsjs.DecodeJSON[webhook.Message])
//	var g fanin.Group[natsjs.Delivery[webhook.Message]]
//	g.Add(ctx, src) // restarted on failure: it waits for a server that is down
//	err := g.Run(ctx, func(d natsjs.Delivery[webhook.Message]) error {
//		if !seen(d.Meta.ID) {
//			handle(d.Value) // recording d.Meta.ID with the effect
//		}
//		d.Ack() // if the Ack fails, the message comes again
//		return nil
//	})
//	src.Close(context.Background()) // after Run has drained the lane
//
// # Guarantees
//
// Accepted means stored. [Publisher.Send] returns nil only once JetStream
// has answered the publish with a PubAck. On a single server with file
// storage the message has then been written to the stream's files, so it
// survives a crash or restart of the server process; the server syncs its
// files to disk every 2 minutes by default (sync_interval; sync_always
// syncs every write), which is what a power loss needs. In a cluster, a
// stream with replicas has stored it on a quorum.
//
// Stored is not kept for ever: the stream's configuration decides how long.
// Everything below, and "nothing accepted is lost", holds only for a
// stream that keeps each message until the consumer has acknowledged it:
//
//   - Limits (jetstream.StreamConfig MaxAge, MaxMsgs, MaxBytes,
//     MaxMsgsPerSubject) with Discard DiscardOld, the default, remove the
//     oldest messages once reached, whether the consumer has them or not.
//     Leave them unlimited, or size them far above what the agents can
//     fall behind by; or use DiscardNew, with which the stream refuses a
//     publish past a limit, and Send returns that refusal as an error.
//   - Retention InterestPolicy answers a publish with a PubAck but keeps
//     nothing when no consumer is interested in the subject at that
//     moment: create the durable consumer before the first publish, or use
//     LimitsPolicy (the default) or WorkQueuePolicy.
//   - A purge, a deleted message or a deleted stream removes messages
//     whatever their state.
//
// Delivery is at least once. Every stored message that the consumer covers
// (all of the stream's, by default) is, for as long as the stream keeps
// it, delivered to it until a delivery of it is acknowledged (or
// terminated): after a Nak, after the connection of an unsettled delivery was lost,
// after an agent crashed, and when AckWait passed without an InProgress, it
// is delivered again. (A consumer with MaxDeliver set gives up on a message
// after that many deliveries; the Source leaves MaxDeliver unlimited unless
// asked.) Within one consumer, messages come in stream order, redeliveries
// apart.
//
// Duplicates are visible, at two places:
//
//   - On publish. A publish whose PubAck is lost fails although the
//     message was stored, and a publish that times out while the client
//     is reconnecting may still be sent when it reconnects. The Publisher
//     sends every attempt with the message's id as Nats-Msg-Id, so its own
//     retries are stored once within the stream's duplicate window
//     (jetstream.StreamConfig.Duplicates, 2 minutes by default); an empty
//     or blank id, which would turn that off, is refused with
//     [ErrEmptyID], and one that the header would not carry byte for byte
//     (surrounding spaces, control characters) with [ErrInvalidID], so
//     that [Meta].ID always equals the id sent. A caller
//     that retries after an error with a new id (a webhook caller gets a
//     new id per request) may have the message stored twice, under two ids.
//     Only an id that the caller supplies and keeps across its retries can
//     detect that, such as a webhook sender's delivery ID
//     (webhook.Message.DeliveryID) used as the message id. Such an id must
//     name one message: JetStream keeps the first message stored under an
//     id and answers a later one, whatever its content, with a duplicate
//     PubAck, for which Send returns nil although only the first is
//     stored.
//   - On delivery. A message handled but not acknowledged (the agent
//     crashed between its effect and its Ack, or the Ack was lost with
//     the connection) is delivered again, and [Meta].NumDelivered is then
//     over 1, except after a crash of the server: a single server writes
//     the consumer's acks and delivery counts to its store
//     asynchronously (at most 10 times a second, whatever its
//     sync_interval), so a server killed shortly after may deliver again a
//     message acknowledged with [Delivery.AckSync], and a redelivered
//     message may come with NumDelivered 1. What a server crash never
//     loses is a stored message that was not acknowledged: it comes
//     again. Only a key recorded with the effect ([Meta].ID) tells a
//     repeat in every case.
//
// For an effect that happens exactly once, the agent records the message's
// key in the same transaction as the effect, and skips (and acks) any
// delivery whose key is already recorded. The key is [Meta].ID, the
// publisher's id, which also catches a message stored twice under one id
// after the duplicate window; or [Meta].StreamSeq, which catches
// redeliveries only.
//
// # Sizing the window and AckWait
//
// The consumer's MaxAckPending is the most deliveries the Source holds
// unsettled: pulled, waiting in the lane, being handled. Make it at most
// the capacity of the Source's lane (fanin.WithLane; the default of both
// is 256). Then everything the Source pulls fits in the lane and reaches
// the agent in order, and the Source never waits for room. With a larger
// window, the excess waits in the Source (still extended, see below) and
// is given back when it stops.
//
// While [Source.Run] runs, the Source sends InProgress for each unsettled
// delivery every AckWait/3, whether it waits to be decoded, waits in the
// lane or is being handled, for up to MaxExtension (10 minutes by
// default) after it was received. So a delivery is not redelivered for
// waiting behind a slow decode function or a slow agent, and a crashed
// process's deliveries come back AckWait after its last InProgress. (The
// Source receives each delivery on nats.go's callback, which only records
// and queues it; one goroutine per Run decodes the queued deliveries, in
// stream order, and hands them over.) A consumer with a BackOff has the
// server wait BackOff[n-1] rather than AckWait for the n-th delivery of a
// message (the last step for every later one), so there "AckWait" means
// the shortest of AckWait and the BackOff steps: the Source extends every
// delivery at a third of that, which with short steps costs more
// InProgress. The AckWait is the consumer's current one, which the
// Source re-reads every second: another Start on the same durable may
// change it (a rolling deploy), and a Run follows within a second. The
// server applies a lowered AckWait at once to the deliveries already out,
// so those whose last InProgress is older than the new AckWait by the
// time the Run notices are redelivered once. A Run extends each delivery
// at least every two thirds of the old AckWait, so lowering AckWait from W
// to a new value above 2W/3 + 1 s redelivers nothing; lower it in such
// steps, or while no agent runs. After Run has returned, nothing extends them: a Group
// drains its lanes after its adapters stop, so the agent must settle the
// (at most MaxAckPending) deliveries left in the lane within AckWait.
// AckWait must therefore exceed MaxAckPending times the longest handling
// of one message, or the agent calls [Delivery.InProgress] while it works;
// it must do that too for handling that outlasts MaxExtension. A delivery
// that misses AckWait is not lost: it is redelivered, a duplicate.
//
// # Lifecycle
//
// [Source.Start] dials and creates or updates the durable consumer; it
// returns ctx.Err() promptly once its ctx ends, while it dials too. A
// Source rides out a server outage of any length with a Group's default
// failure model: every Start but the first waits for a server that cannot
// be reached, redialing with backoff, so an outage costs one restart and
// never exceeds the Group's restart intensity.
// [Source.Run] pulls until its context ends or its lane is shut down, then
// stops the pull and gives back (naks) what it pulled and did not hand over,
// so that the server redelivers it at once, in an order of its own (not
// necessarily the order of the naks, nor stream order). The deliveries it
// handed over keep their connection open until they are settled, because
// the agent settles them after Run has returned. A lost connection ends
// Run with [ErrConnLost], also one that fell silent (no heartbeat from the
// server for two SourceConfig.Heartbeat, about 10 s by default), for the Group's restart policy to start the
// Source again; a consumer deleted under it ends Run with the consumer's
// error, and the Source does not create it again ([ErrConsumerDeleted]). [Source.Close] ends the Source: it gives back what is still
// unsettled (waiting for an AckSync in flight to be answered first), and
// returns with every connection closed.
package natsjs
