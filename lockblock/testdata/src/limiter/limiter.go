// Package limiter holds a rate limiter's lock across a whole batch, and
// the per-iteration fix.
package limiter

import (
	"context"
	"sync"
	"time"

	"github.com/fanin-go/fanin"
)

// bucket is a hand-rolled token bucket.
type bucket struct {
	mu     sync.Mutex
	tokens int
}

func (b *bucket) refill() { b.tokens++ }

// SendBatch takes the limiter's lock once for the whole batch: it sleeps
// for tokens and sends with the lock held, so every other user of the
// limiter waits for the whole batch, and a full channel stops them all.
func (b *bucket) SendBatch(out chan<- string, batch []string) { // want SendBatch:`mayBlock\(call to time\.Sleep at limiter\.go:29\)`
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range batch {
		for b.tokens == 0 {
			time.Sleep(time.Millisecond) // want `^call to time\.Sleep, which sleeps while b\.mu may be held \(locked at limiter\.go:25\): copy what you need out of the lock and unlock it before the call$`
			b.refill()
		}
		b.tokens--
		out <- v // want `^channel send while b\.mu may be held \(locked at limiter\.go:25\)`
	}
}

// take waits for a token, holding the lock only to look at the bucket.
func (b *bucket) take() {
	for {
		b.mu.Lock()
		if b.tokens > 0 {
			b.tokens--
			b.mu.Unlock()
			return
		}
		b.refill()
		b.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}

// SendBatchFixed takes the lock once per value, only to take a token.
func (b *bucket) SendBatchFixed(out chan<- string, batch []string) { // want SendBatchFixed:`mayBlock\(channel send at limiter\.go:56\)`
	for _, v := range batch {
		b.take()
		out <- v
	}
}

// Batcher counts what it sends through fanin.
type Batcher struct {
	mu   sync.Mutex
	lim  *fanin.Limiter
	s    *fanin.Sender[string]
	sent int // guarded by mu
}

// SendAll holds mu across the limiter's wait and the send.
func (b *Batcher) SendAll(ctx context.Context, batch []string) error { // want SendAll:`mayBlock\(call to fanin\.Limiter\.Wait at limiter\.go:73\)`
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range batch {
		if err := b.lim.Wait(ctx); err != nil { // want `^call to fanin\.Limiter\.Wait, which waits for a token while b\.mu may be held \(locked at limiter\.go:70\)`
			return err
		}
		if err := b.s.Send(ctx, v); err != nil { // want `^call to fanin\.Sender\.Send, which waits for room in the stream while b\.mu may be held`
			return err
		}
		b.sent++
	}
	return nil
}

// SendAllFixed locks once per value, only to count it.
func (b *Batcher) SendAllFixed(ctx context.Context, batch []string) error { // want SendAllFixed:`mayBlock\(call to fanin\.Limiter\.Wait at limiter\.go:87\)`
	for _, v := range batch {
		if err := b.lim.Wait(ctx); err != nil {
			return err
		}
		if err := b.s.Send(ctx, v); err != nil {
			return err
		}
		b.mu.Lock()
		b.sent++
		b.mu.Unlock()
	}
	return nil
}

// SendAllBatch hands the whole batch to fanin.SendBatch under the lock.
func (b *Batcher) SendAllBatch(ctx context.Context, batch []string) error { // want SendAllBatch:`mayBlock\(call to fanin\.SendBatch at limiter\.go:104\)`
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := fanin.SendBatch(ctx, b.s, b.lim, batch, 0) // want `^call to fanin\.SendBatch, which waits for tokens and for room in the stream while b\.mu may be held`
	b.sent += n
	return err
}
