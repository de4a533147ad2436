package attackrelease3

import "sync"

type EB2 struct {
	sync.Mutex
	ch chan int
}

// a's lock is held; b's is released through a Locker.
func twoEmb(a, b *EB2) {
	a.Lock()
	b.Lock()
	var l sync.Locker = b
	l.Unlock()
	<-a.ch // want `channel receive while a.Mutex`
	a.Unlock()
}

func twoEmbHelper(a, b *EB2) {
	a.Lock()
	b.Lock()
	unlockLk2(b)
	<-a.ch // want `channel receive while a.Mutex`
	a.Unlock()
}

func twoEmbLetGo(a, b *EB2) {
	a.Lock()
	b.Lock()
	letGoLk2(b, a.ch) // want `call to attackrelease3.letGoLk2, which may block .* while a.Mutex`
	b.Unlock()
	a.Unlock()
}

func unlockLk2(l sync.Locker) { l.Unlock() }

func letGoLk2(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}
