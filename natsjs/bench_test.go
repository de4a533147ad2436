package natsjs

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanin-go/fanin"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Both sides of BenchmarkPipeline use the same settings: a window of 256
// unacked deliveries (the fanin buffer's default size), and 32 publishing
// goroutines per CPU, each waiting for its PubAck.
const (
	benchWindow      = fanin.DefaultCapacity
	benchParallelism = 32
)

var benchPayload = make([]byte, 128)

// BenchmarkPipeline measures messages per second through publish, consume
// and ack on loopback, to an embedded server with a file store: with
// nats.go's jetstream package used directly (a synchronous PublishMsg with
// Nats-Msg-Id, a pull consumer's Messages iterator, Ack), and through
// natsjs (Publisher.Send, a Source into a fanin.Channel, Delivery.Ack).
//
// The direct consumer reads on the publishers' connection in impl=direct
// and on a connection of its own in impl=direct2; a Source always dials
// its own, as an agent process apart from its ingress does.
func BenchmarkPipeline(b *testing.B) {
	b.Run("impl=direct", func(b *testing.B) { benchDirect(b, false) })
	b.Run("impl=direct2", func(b *testing.B) { benchDirect(b, true) })
	b.Run("impl=natsjs", benchNatsjs)
}

func benchDirect(b *testing.B, ownConn bool) {
	f := newFixture(b)
	ctx := context.Background()
	js := f.js
	if ownConn {
		nc, err := nats.Connect(f.srv.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		if js, err = jetstream.New(nc); err != nil {
			b.Fatal(err)
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, streamName, jetstream.ConsumerConfig{
		Durable: durable, MaxAckPending: benchWindow,
	})
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(benchWindow))
	if err != nil {
		b.Fatal(err)
	}
	defer it.Stop()
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		for range b.N {
			m, err := it.Next()
			if err != nil {
				b.Error(err)
				return
			}
			m.Ack()
		}
	}()
	var seq atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := &nats.Msg{Subject: subject, Data: benchPayload, Header: nats.Header{}}
			m.Header.Set(jetstream.MsgIDHeader, strconv.FormatUint(seq.Add(1), 10))
			if _, err := f.js.PublishMsg(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	<-acked
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchNatsjs(b *testing.B) {
	f := newFixture(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seq atomic.Uint64
	pub := NewPublisher(f.js, subject, 0, func(data []byte) (string, []byte, error) {
		return strconv.FormatUint(seq.Add(1), 10), data, nil
	})
	defer pub.Close(ctx)
	src := NewSource(f.config(func(cfg *SourceConfig) { cfg.Consumer.MaxAckPending = benchWindow }),
		func(data []byte) ([]byte, error) { return data, nil })
	defer src.Close(ctx)
	ch := fanin.New[Delivery[[]byte]](benchWindow)
	stream, err := ch.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Shutdown(ctx)
	sender, err := ch.Sender()
	if err != nil {
		b.Fatal(err)
	}
	if err := src.Start(ctx); err != nil {
		b.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- src.Run(ctx, sender) }()
	defer func() {
		cancel()
		if err := <-ran; err != nil {
			b.Error(err)
		}
	}()
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		for range b.N {
			if err := (<-stream).Ack(); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := pub.Send(ctx, benchPayload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	<-acked
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPublish measures messages per second through publish alone, on
// loopback, to an embedded server with a file store, 128-byte payloads, 32
// publishing goroutines per CPU each waiting for its PubAck: impl=direct is
// nats.go's jetstream used directly (PublishMsg with Nats-Msg-Id),
// impl=natsjs a Publisher's Send, on the same connection settings.
func BenchmarkPublish(b *testing.B) {
	b.Run("impl=direct", func(b *testing.B) {
		f := newFixture(b)
		ctx := context.Background()
		var seq atomic.Uint64
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m := &nats.Msg{Subject: subject, Data: benchPayload, Header: nats.Header{}}
				m.Header.Set(jetstream.MsgIDHeader, strconv.FormatUint(seq.Add(1), 10))
				if _, err := f.js.PublishMsg(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("impl=natsjs", func(b *testing.B) {
		f := newFixture(b)
		ctx := context.Background()
		var seq atomic.Uint64
		pub := NewPublisher(f.js, subject, 0, func(data []byte) (string, []byte, error) {
			return strconv.FormatUint(seq.Add(1), 10), data, nil
		})
		defer pub.Close(ctx)
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := pub.Send(ctx, benchPayload); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkConsume measures messages per second through consume and ack
// alone, on loopback, to an embedded server with a file store that holds
// b.N messages of 128 bytes published beforehand (outside the timer), with
// a window of 256: impl=direct is nats.go's jetstream used directly, a pull
// consumer's Consume callback that acks each message; impl=natsjs is a
// Source in a fanin.Group with a lane of 256, whose handle acks each
// Delivery. Each opens its consumer on a connection of its own.
func BenchmarkConsume(b *testing.B) {
	b.Run("impl=direct", benchConsumeDirect)
	b.Run("impl=natsjs", benchConsumeNatsjs)
}

// prefill publishes n messages asynchronously and waits for every PubAck.
func prefill(b *testing.B, f *fixture, n int) {
	b.Helper()
	complete := func() {
		select {
		case <-f.js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("prefill: PubAcks did not come within a minute")
		}
	}
	for i := range n {
		m := &nats.Msg{Subject: subject, Data: benchPayload, Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, strconv.Itoa(i))
		_, err := f.js.PublishMsgAsync(m)
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			// A loaded machine: wait for the PubAcks out, and again.
			complete()
			_, err = f.js.PublishMsgAsync(m)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	complete()
}

// BenchmarkConsumeInterleaved runs the two consumers of BenchmarkConsume
// on one stream of b.N messages, each on a durable and a connection of its
// own, and has them take turns of 10000 messages: while one consumes its
// turn the other waits in its handler, so the server holds back what its
// window does not cover. Turns last milliseconds, so both meet the same
// load on a shared machine, which a run of each in turn (seconds) does
// not give them. It reports each one's msgs/s over its own turns and the
// ratio natsjs/direct.
func BenchmarkConsumeInterleaved(b *testing.B) {
	const chunk = 10000
	f := newFixture(b)
	prefill(b, f, b.N)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A side consumes until its count reaches the limit it was given,
	// says so on done, and waits for the next limit.
	type side struct {
		next  chan int
		done  chan struct{}
		n     int
		limit int
		busy  time.Duration
	}
	newSide := func() *side { return &side{next: make(chan int), done: make(chan struct{})} }
	handled := func(s *side) {
		s.n++
		if s.n == s.limit {
			s.done <- struct{}{}
			if s.n < b.N {
				s.limit = <-s.next
			}
		}
	}
	direct, natsjs := newSide(), newSide()

	nc, err := nats.Connect(f.srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, streamName, jetstream.ConsumerConfig{
		Durable: "direct", MaxAckPending: benchWindow, AckWait: 30 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if direct.limit == 0 {
			direct.limit = <-direct.next
		}
		m.Ack()
		handled(direct)
	}, jetstream.PullMaxMessages(benchWindow))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()

	src := NewSource(f.config(func(cfg *SourceConfig) { cfg.Consumer.MaxAckPending = benchWindow }),
		func(data []byte) ([]byte, error) { return data, nil })
	defer src.Close(context.Background())
	var g fanin.Group[Delivery[[]byte]]
	if err := g.Add(ctx, src, fanin.WithLane(benchWindow, 1)); err != nil {
		b.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() {
		ran <- g.Run(ctx, func(d Delivery[[]byte]) error {
			if natsjs.limit == 0 {
				natsjs.limit = <-natsjs.next
			}
			d.Ack()
			handled(natsjs)
			return nil
		})
	}()

	b.ReportAllocs()
	b.ResetTimer()
	for limit := chunk; ; limit += chunk {
		limit = min(limit, b.N)
		for _, s := range []*side{direct, natsjs} {
			began := time.Now()
			s.next <- limit
			<-s.done
			s.busy += time.Since(began)
		}
		if limit == b.N {
			break
		}
	}
	b.StopTimer()
	cancel()
	if err := <-ran; err != nil {
		b.Error(err)
	}
	b.ReportMetric(float64(b.N)/direct.busy.Seconds(), "direct-msgs/s")
	b.ReportMetric(float64(b.N)/natsjs.busy.Seconds(), "natsjs-msgs/s")
	b.ReportMetric(direct.busy.Seconds()/natsjs.busy.Seconds(), "natsjs/direct")
}

func benchConsumeDirect(b *testing.B) {
	f := newFixture(b)
	prefill(b, f, b.N)
	ctx := context.Background()
	nc, err := nats.Connect(f.srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, streamName, jetstream.ConsumerConfig{
		Durable: durable, MaxAckPending: benchWindow, AckWait: 30 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	cc, err := cons.Consume(func(m jetstream.Msg) {
		m.Ack()
		if n.Add(1) == int64(b.N) {
			close(done)
		}
	}, jetstream.PullMaxMessages(benchWindow))
	if err != nil {
		b.Fatal(err)
	}
	<-done
	b.StopTimer()
	cc.Stop()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchConsumeNatsjs(b *testing.B) {
	f := newFixture(b)
	prefill(b, f, b.N)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := NewSource(f.config(func(cfg *SourceConfig) { cfg.Consumer.MaxAckPending = benchWindow }),
		func(data []byte) ([]byte, error) { return data, nil })
	defer src.Close(context.Background())
	var g fanin.Group[Delivery[[]byte]]
	if err := g.Add(ctx, src, fanin.WithLane(benchWindow, 1)); err != nil {
		b.Fatal(err)
	}
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	err := g.Run(ctx, func(d Delivery[[]byte]) error {
		d.Ack()
		if n++; n == b.N {
			b.StopTimer()
			cancel()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
