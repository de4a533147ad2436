// Package attack15 keeps the misses an attack on counted channels found:
// a variable that holds nil until its channel is made. A send into nil
// waits for ever, so each send here stays reported.
package attack15

import "sync"

var mu sync.Mutex

// golang-migrate's shape, with the channel made only after an early
// return: there the deferred send goes into nil, with mu held.
func lockIt(early bool) {
	mu.Lock()
	defer mu.Unlock()
	var done chan bool
	defer func() { done <- true }() // want `call to the func literal at attack15.go:\d+, which may block \(channel send at attack15.go:\d+\) while mu may be held`
	if early {
		return
	}
	done = make(chan bool, 1)
	go func() { <-done }()
}

// The send runs before the make.
func nilSend() {
	var done chan bool
	_ = func() { _ = len(done) }
	mu.Lock()
	defer mu.Unlock()
	done <- true // want `channel send while mu may be held`
	done = make(chan bool, 1)
}

// The channel is made only when ok.
func maybe(ok bool) {
	var done chan bool
	go func() { <-done }()
	if ok {
		done = make(chan bool, 1)
	}
	mu.Lock()
	defer mu.Unlock()
	done <- true // want `channel send while mu may be held`
}

// The literal is called once, but before the make.
func early() {
	var done chan bool
	send := func() { done <- true }
	mu.Lock()
	defer mu.Unlock()
	send() // want `call to the func literal at attack15.go:\d+, which may block \(channel send at attack15.go:\d+\) while mu may be held`
	done = make(chan bool, 1)
}
