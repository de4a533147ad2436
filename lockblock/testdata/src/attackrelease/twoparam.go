package attackrelease

// letGoSecond lets b.mu go around the wait; a closure captures both.
func letGoSecond(a, b *D) {
	defer func() { a.n++; b.n++ }()
	b.mu.Unlock()
	<-b.ch
	b.mu.Lock()
}

func useLetGoSecond(a, b *D) {
	a.mu.Lock()
	b.mu.Lock()
	letGoSecond(a, b) // want `call to attackrelease.letGoSecond, which may block \(channel receive at twoparam.go:7\) while a.mu may be held`
	b.mu.Unlock()
	a.mu.Unlock()
}

// letGoFirstOnly: the closure writes b, not a: a is still a plain cell.
func letGoFirstOnly(a, b *D) {
	defer func() { b = nil }()
	a.mu.Unlock()
	<-b.ch
	a.mu.Lock()
}

func useLetGoFirstOnly(a, b *D) {
	a.mu.Lock()
	b.mu.Lock()
	letGoFirstOnly(a, b) // want `call to attackrelease.letGoFirstOnly, which may block \(channel receive at twoparam.go:23\) while b.mu may be held`
	b.mu.Unlock()
	a.mu.Unlock()
}

// unlockForGood releases the caller's b.mu through the cell.
func unlockForGood(a, b *D) {
	defer func() { a.n++; b.n++ }()
	b.mu.Unlock()
}

func useUnlockForGood(a, b *D) {
	a.mu.Lock()
	b.mu.Lock()
	unlockForGood(a, b)
	<-a.ch // want `channel receive while a.mu may be held`
	a.mu.Unlock()
}
