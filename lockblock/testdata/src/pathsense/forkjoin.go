package pathsense

import "sync"

type table struct {
	mu      sync.Mutex
	buckets [][]int
	out     chan int
	wg      sync.WaitGroup
}

// sum adds up the buckets in parallel: a fork and join over goroutines
// that only compute, which it makes, counts and waits for itself.
func (t *table) sum() int {
	sums := make([]int, len(t.buckets))
	var wg sync.WaitGroup
	for i, b := range t.buckets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, v := range b {
				sums[i] += v
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, s := range sums {
		total += s
	}
	return total
}

// The same with WaitGroup.Go and a named function.
func (t *table) sumGo() int {
	sums := make([]int, len(t.buckets))
	wg := new(sync.WaitGroup)
	for i := range t.buckets {
		wg.Go(func() { sums[i] = add(t.buckets[i]) })
	}
	wg.Wait()
	return len(sums)
}

func add(b []int) (n int) {
	for _, v := range b {
		n += v
	}
	return n
}

// countInto is run as a goroutine with the WaitGroup passed to it.
func countInto(wg *sync.WaitGroup, b []int, n *int) {
	defer wg.Done()
	*n = add(b)
}

func (t *table) sumPassed() int {
	var wg sync.WaitGroup
	n := make([]int, len(t.buckets))
	for i := range t.buckets {
		wg.Add(1)
		go countInto(&wg, t.buckets[i], &n[i])
	}
	wg.Wait()
	return len(n)
}

func (t *table) locked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sum() + t.sumGo() + t.sumPassed()
}

// A goroutine of the join that sends: the Wait waits for its reader.
func (t *table) publish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wg sync.WaitGroup
	for _, b := range t.buckets {
		wg.Go(func() { t.out <- add(b) })
	}
	wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the func literal at forkjoin.go:81, which may block \(channel send at forkjoin.go:81\) while t.mu may be held`
}

// A WaitGroup that is a field counts goroutines started anywhere.
func (t *table) field() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.wg.Add(1)
	go func() { defer t.wg.Done() }()
	t.wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the WaitGroup while t.mu may be held`
}

// A WaitGroup handed to another function may count its goroutines too.
func (t *table) handed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wg sync.WaitGroup
	register(&wg)
	wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the WaitGroup while t.mu may be held`
}

func register(wg *sync.WaitGroup) { wg.Add(1); go func() { defer wg.Done(); <-make(chan int) }() }
