// Package udpvalue is a case: a UDP write through a method value or a method expression is a UDP
// write. Not reported.
package udpvalue

import (
	"net"
	"sync"
)

type S struct {
	mu   sync.Mutex
	udp  *net.UDPConn
	ip   *net.IPConn
	buf  []byte
	emit func([]byte) (int, error)
}

func (s *S) A() { s.mu.Lock(); f := s.udp.Write; f(s.buf); s.mu.Unlock() }
func (s *S) B() { s.mu.Lock(); (*net.UDPConn).Write(s.udp, s.buf); s.mu.Unlock() }
func (s *S) C() { s.mu.Lock(); f := s.udp.WriteToUDP; f(s.buf, nil); s.mu.Unlock() }
func (s *S) D() { s.mu.Lock(); f := s.ip.Write; f(s.buf); s.mu.Unlock() }
func (s *S) E() { s.mu.Lock(); s.emit(s.buf); s.mu.Unlock() }
func (s *S) F() { s.mu.Lock(); defer s.mu.Unlock(); defer s.udp.Write(s.buf) }
func (s *S) G() { s.mu.Lock(); defer s.mu.Unlock(); s.udp.Write(s.buf) }

func New(c *net.UDPConn) *S {
	s := &S{udp: c}
	s.emit = c.Write
	return s
}
