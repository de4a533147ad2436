// Package directive: a silence without a reason is itself reported and
// silences nothing.
package directive

import "sync"

var mu sync.Mutex

func f(ch chan int) {
	mu.Lock()
	defer mu.Unlock()
	//lockblock:ignore // want `^//lockblock:ignore needs a reason: say why the operation cannot block while the lock is held$`
	ch <- 1 // want `^channel send while mu may be held`
}

// A silenced blocking operation does not make its function blocking.
func resolve(reply chan int) {
	reply <- 1 //lockblock:ignore reply has room for this one value
}

func g(reply chan int) {
	mu.Lock()
	resolve(reply)
	mu.Unlock()
}
