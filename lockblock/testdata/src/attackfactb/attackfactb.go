// Package attackfactb calls attackfacta's blocking functions under a lock.
package attackfactb

import (
	"attackfacta"
	"sync"
)

type outer struct{ attackfacta.Inner }

var mu sync.Mutex

func f(x *attackfacta.Box[int], ch chan int, o outer) {
	mu.Lock()
	defer mu.Unlock()
	x.Take()                        // want `call to attackfacta.Box.Take, which may block \(channel receive at attackfacta.go:\d+\) while mu may be held`
	attackfacta.Wait(ch)            // want `call to attackfacta.Wait, which may block`
	o.Block()                       // want `call to attackfacta.Inner.Block, which may block`
	attackfacta.NewConn().Recv()    // want `call to attackfacta.conn.Recv, which may block`
	take := x.Take                  //
	take()                          // want `call to attackfacta.Box.Take, which may block`
	(*attackfacta.Box[int]).Take(x) // want `call to attackfacta.Box.Take, which may block`
	attackfacta.Deferred(ch)        // want `call to attackfacta.Deferred, which may block`
}
