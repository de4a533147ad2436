package fw_alias

import "sync"

const skip = 1

type conn struct {
	flags uint8
	ch    chan int
}

func clearB(b *conn) { b.flags &^= skip }

func step(a, b *conn) {
	clearB(b)
	if a.flags&skip == 0 {
		a.ch <- 1
	}
}

func (c *conn) close() {
	c.flags |= skip
	step(c, c)
}

type server struct{ mu sync.Mutex }

func (s *server) drop(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.close() // want `call to fw_alias\.conn\.close, which may block \(channel send at fw_alias\.go:17\)`
}
