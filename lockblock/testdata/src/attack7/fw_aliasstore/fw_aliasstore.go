package fw_aliasstore

import (
	"net"
	"sync"
)

const skipFlush = 1

type conn struct {
	flags uint8
	fp    *uint8 // points at flags
	nc    net.Conn
	buf   []byte
}

func newConn(nc net.Conn) *conn {
	c := &conn{nc: nc}
	c.fp = &c.flags
	return c
}

func (c *conn) flushAndClose() {
	if c.flags&skipFlush == 0 {
		c.nc.Write(c.buf)
	}
	c.nc.Close()
}

// *c.fp = 0 stores to the field flags through a pointer to it.
func (c *conn) markClosed() {
	c.flags |= skipFlush
	*c.fp = 0
	c.flushAndClose()
}

type server struct{ mu sync.Mutex }

func (s *server) drop(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.markClosed() // want `call to fw_aliasstore\.conn\.markClosed, which may wait for I/O \(network write: call to net\.Conn\.Write at fw_aliasstore\.go:25\)`
}
