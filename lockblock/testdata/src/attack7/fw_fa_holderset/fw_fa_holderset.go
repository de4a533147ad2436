package fw_fa_holderset

import (
	"net"
	"sync"
)

type connFlag uint16

const (
	skipFlush connFlag = 1 << iota
	closed
)

func (f *connFlag) set(b connFlag)       { *f |= b }
func (f connFlag) isSet(b connFlag) bool { return f&b != 0 }

type conn struct {
	mu    sync.Mutex
	flags connFlag
	nc    net.Conn
	buf   []byte
}

func (c *conn) flushAndClose() {
	if !c.flags.isSet(skipFlush) {
		c.nc.Write(c.buf)
	}
	c.nc.Close()
}

// The holder of the lock sets the bit, then calls the function that tests it.
func (c *conn) dropLocked() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flags.set(skipFlush)
	c.flushAndClose()
}

// The same, with the lock taken by the caller: not reported.
func (c *conn) drop() {
	c.flags.set(skipFlush)
	c.flushAndClose()
}

type server struct{ mu sync.Mutex }

func (s *server) dropConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.drop()
}
