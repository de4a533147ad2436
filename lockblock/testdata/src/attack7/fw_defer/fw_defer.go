package fw_defer

import (
	"net"
	"sync"
)

const skipFlush = 1

type conn struct {
	flags uint8
	nc    net.Conn
	buf   []byte
}

func (c *conn) flushAndClose() {
	if c.flags&skipFlush == 0 {
		c.nc.Write(c.buf)
	}
	c.nc.Close()
}

// The deferred call runs at return, after the word is cleared.
func (c *conn) markClosed() {
	c.flags |= skipFlush
	defer c.flushAndClose()
	c.flags = 0
}

type server struct{ mu sync.Mutex }

func (s *server) drop(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.markClosed() // want `call to fw_defer\.conn\.markClosed, which may wait for I/O \(network write: call to net\.Conn\.Write at fw_defer\.go:18\)`
}
