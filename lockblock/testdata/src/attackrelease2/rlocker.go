package attackrelease2

import "sync"

// letGoLocker lets its Locker go around the wait and takes it back.
func letGoLocker(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

var grw sync.RWMutex

// The read lock, held through the Locker that RLocker returns, is let go
// around the receive: nothing is held while it waits.
func useLetGoRLocker(ch chan int) {
	grw.RLock()
	letGoLocker(grw.RLocker(), ch)
	grw.RUnlock()
}

func useLetGoRLockerVar(ch chan int) {
	rl := grw.RLocker()
	rl.Lock()
	letGoLocker(rl, ch)
	rl.Unlock()
}

// Control: the write lock through *RWMutex as a Locker is not reported.
func useLetGoWrite(ch chan int) {
	grw.Lock()
	letGoLocker(&grw, ch)
	grw.Unlock()
}
