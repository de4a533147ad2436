// Package attackfacta exports blocking functions of several shapes.
package attackfacta

// Box is generic.
type Box[T any] struct{ ch chan T }

// Take blocks.
func (b *Box[T]) Take() T { return <-b.ch } // want Take:`mayBlock\(channel receive at attackfacta.go:\d+\)`

// Wait blocks.
func Wait[T any](ch chan T) T { return <-ch } // want Wait:`mayBlock\(channel receive at attackfacta.go:\d+\)`

// Inner is embedded by another package.
type Inner struct{ ch chan int }

// Block blocks.
func (i Inner) Block() { <-i.ch } // want Block:`mayBlock\(channel receive at attackfacta.go:\d+\)`

type conn struct{ ch chan int }

// Recv is an exported method of an unexported type.
func (c *conn) Recv() int { return <-c.ch } // want Recv:`mayBlock\(channel receive at attackfacta.go:\d+\)`

// NewConn returns a conn.
func NewConn() *conn { return &conn{} }

// Deferred blocks only in a deferred call.
func Deferred(ch chan int) { // want Deferred:`mayBlock\(the func literal at attackfacta.go:\d+ → channel send at attackfacta.go:\d+\)`
	defer func() { ch <- 1 }()
}
