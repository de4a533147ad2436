package fw_generic

import "sync"

const skip = 1

type conn struct {
	flags uint8
	ch    chan int
}

func reset[T any](c *conn, _ T) { c.flags = 0 }

func (c *conn) finish() {
	if c.flags&skip == 0 {
		c.ch <- 1
	}
}

func (c *conn) close() {
	c.flags |= skip
	reset(c, 0) // clears the bit
	c.finish()
}

type server struct{ mu sync.Mutex }

func (s *server) drop(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.close() // want `call to fw_generic\.conn\.close, which may block \(channel send at fw_generic\.go:16\)`
}
