package ok_fw_fa_nats

import (
	"net"
	"sync"
	"time"
)

type clientFlag uint16

const (
	connectReceived clientFlag = 1 << iota
	infoReceived
	firstPongSent
	handshakeComplete
	flushOutbound
	noReconnect
	closeConnection
	connMarkedClosed
	writeLoopStarted
	skipFlushOnClose
	expectConnect
)

func (cf *clientFlag) set(c clientFlag)       { *cf |= c }
func (cf *clientFlag) clear(c clientFlag)     { *cf &= ^c }
func (cf clientFlag) isSet(c clientFlag) bool { return cf&c != 0 }
func (cf *clientFlag) setIfNotSet(c clientFlag) bool {
	if *cf&c == 0 {
		*cf |= c
		return true
	}
	return false
}

type ClosedState int

const (
	ClientClosed ClosedState = iota + 1
	ReadError
	WriteError
	SlowConsumerPendingBytes
	SlowConsumerWriteDeadline
	ProtocolViolation
)

type outbound struct {
	nb  net.Buffers
	pb  int64
	wdl time.Duration
	sg  *sync.Cond
}

type client struct {
	mu    sync.Mutex
	flags clientFlag
	nc    net.Conn
	out   outbound
	rref  byte
	cid   uint64
	srv   *Server
}

type Server struct {
	mu      sync.Mutex
	clients map[uint64]*client
}

func (c *client) flushSignal() {
	if c.out.sg != nil {
		c.out.sg.Signal()
	}
}

func (c *client) flushOutbound() bool {
	if c.flags.isSet(flushOutbound) {
		return false
	}
	c.flags.set(flushOutbound)
	defer c.flags.clear(flushOutbound)
	c.nc.SetWriteDeadline(time.Now().Add(c.out.wdl))
	n, err := c.out.nb.WriteTo(c.nc)
	_ = n
	return err == nil
}

func (c *client) flushAndClose(minimalFlush bool) {
	if !c.flags.isSet(skipFlushOnClose) && c.out.pb > 0 {
		if minimalFlush {
			const lowWriteDeadline = 100 * time.Millisecond
			if c.out.wdl > lowWriteDeadline {
				c.out.wdl = lowWriteDeadline
			}
		}
		c.flushOutbound()
	}
	c.out.nb = nil
	if c.nc != nil {
		c.nc.Close()
	}
}

func (c *client) markConnAsClosed(reason ClosedState) {
	switch reason {
	case ReadError, WriteError, SlowConsumerPendingBytes, SlowConsumerWriteDeadline:
		c.flags.set(skipFlushOnClose)
	}
	if c.flags.isSet(connMarkedClosed) {
		return
	}
	c.flags.set(connMarkedClosed)
	if c.flags.isSet(writeLoopStarted) {
		c.rref++
		c.flushSignal()
		return
	}
	c.flushAndClose(true)
}

// queueOutbound runs with c.mu held.
func (c *client) queueOutbound(data []byte) {
	c.out.pb += int64(len(data))
	if c.out.pb > 1<<20 {
		c.markConnAsClosed(SlowConsumerPendingBytes)
		return
	}
	c.out.nb = append(c.out.nb, data)
}

func (c *client) sendProto(data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queueOutbound(data)
}
