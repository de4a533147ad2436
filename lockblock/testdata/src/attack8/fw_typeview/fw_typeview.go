package fw_typeview

import "sync"

const skip = 1

type conn struct {
	flags uint8
	ch    chan int
}

// Same underlying type as conn: (*view)(c) is a legal conversion.
type view struct {
	flags uint8
	ch    chan int
}

func (v *view) reset() { v.flags = 0 }

func (c *conn) finish() {
	if c.flags&skip == 0 {
		c.ch <- 1
	}
}

func (c *conn) close() {
	c.flags |= skip
	(*view)(c).reset() // a store to a field named flags: clears the bit
	c.finish()
}

type server struct{ mu sync.Mutex }

func (s *server) drop(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.close() // want `call to fw_typeview\.conn\.close, which may block \(channel send at fw_typeview\.go:22\)`
}
