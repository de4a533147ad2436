package pathsense

import (
	"errors"
	"sync"
)

type listener struct {
	sender sync.Mutex
	conn   sync.Mutex
	err    error
	notes  chan string
}

// acquire takes the sender's lock, or gives it back and fails: the lock
// is held where its error is nil.
func (l *listener) acquire() error {
	l.sender.Lock()
	l.conn.Lock()
	err := l.err
	l.conn.Unlock()
	if err != nil {
		l.sender.Unlock()
		return err
	}
	return nil
}

func (l *listener) query(q string) error {
	if err := l.acquire(); err != nil {
		return err
	}
	defer l.sender.Unlock()
	return l.send(q)
}

func (l *listener) send(q string) error {
	if q == "" {
		return errors.New("empty")
	}
	return nil
}

// listen runs queries in a loop, then waits for notes: no lock is held
// by then, on any path.
func (l *listener) listen(qs []string) {
	for _, q := range qs {
		if err := l.query(q); err != nil {
			return
		}
	}
	for n := range l.notes {
		_ = n
	}
}

// held keeps the lock where the helper succeeded.
func (l *listener) held() {
	if err := l.acquire(); err != nil {
		return
	}
	<-l.notes // want `channel receive while l.sender may be held`
	l.sender.Unlock()
}

// namedResult keeps its error in a named result, as a function with a
// deferred call does.
func (l *listener) namedResult(q string) (ok bool, err error) {
	if err = l.acquire(); err != nil {
		return false, err
	}
	defer l.sender.Unlock()
	return true, l.send(q)
}

func (l *listener) listenNamed(qs []string) {
	for _, q := range qs {
		if _, err := l.namedResult(q); err != nil {
			return
		}
	}
	<-l.notes
}
