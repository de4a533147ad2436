package fanin

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// A RestartPolicy says when a [Group] starts an adapter again after its
// Start failed or its Run returned. An adapter that the group itself
// stopped (Shutdown, Remove, Replace) is never restarted.
type RestartPolicy int

const (
	// RestartOnFailure restarts an adapter whose Start or Run returned an
	// error or panicked, but not one whose Run returned nil. It is the
	// default, and what Erlang/OTP calls a transient child.
	RestartOnFailure RestartPolicy = iota
	// RestartAlways restarts an adapter whenever it ends, even when its Run
	// returned nil: OTP's permanent child.
	RestartAlways
	// RestartNever never restarts an adapter: OTP's temporary child.
	RestartNever
)

var policyNames = [...]string{"on-failure", "always", "never"}

func (p RestartPolicy) String() string {
	if p >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("RestartPolicy(%d)", int(p))
}

// Defaults of the per-adapter [Option]s.
const (
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
	DefaultJitter      = 0.2
	DefaultMaxRestarts = 10
	DefaultWindow      = time.Minute
	DefaultWeight      = 1
)

// An Option sets how a [Group] runs one adapter; pass it to [Group.Add] or
// [Group.Replace].
type Option func(*adapterConfig)

// adapterConfig is one adapter's settings; the zero value is not valid,
// use defaultConfig.
type adapterConfig struct {
	policy      RestartPolicy
	minBackoff  time.Duration
	maxBackoff  time.Duration
	jitter      float64
	maxRestarts int
	window      time.Duration
	capacity    int
	weight      int
}

func defaultConfig(opts []Option) adapterConfig {
	c := adapterConfig{
		policy:      RestartOnFailure,
		minBackoff:  DefaultMinBackoff,
		maxBackoff:  DefaultMaxBackoff,
		jitter:      DefaultJitter,
		maxRestarts: DefaultMaxRestarts,
		window:      DefaultWindow,
		capacity:    DefaultCapacity,
		weight:      DefaultWeight,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithRestart sets the adapter's restart policy; the default is
// [RestartOnFailure]. It panics for a policy that is not one of the three.
func WithRestart(p RestartPolicy) Option {
	if p < RestartOnFailure || p > RestartNever {
		panic(fmt.Sprintf("fanin: WithRestart called with %v", p))
	}
	return func(c *adapterConfig) { c.policy = p }
}

// WithBackoff sets the delay before a restart. The delay before the n-th
// restart within the intensity window (see [WithIntensity]) is min·2^(n-1),
// capped at max; jitter, in [0, 1), then draws it uniformly from
// [delay·(1-jitter), delay], so that adapters that failed together do not
// restart together. The defaults are [DefaultMinBackoff] (100 ms),
// [DefaultMaxBackoff] (10 s) and [DefaultJitter] (0.2). WithBackoff panics
// if min is negative, max is less than min, or jitter is outside [0, 1).
func WithBackoff(min, max time.Duration, jitter float64) Option {
	if min < 0 || max < min || !(jitter >= 0 && jitter < 1) {
		panic(fmt.Sprintf("fanin: WithBackoff called with min %v, max %v, jitter %v; want 0 <= min <= max and 0 <= jitter < 1", min, max, jitter))
	}
	return func(c *adapterConfig) { c.minBackoff, c.maxBackoff, c.jitter = min, max, jitter }
}

// WithIntensity sets the restart intensity: an adapter that would be
// restarted for the (restarts+1)-th time within window gives up instead,
// and stays [Failed] until [Group.Replace] installs an adapter under its
// name or the group is started again. The defaults, [DefaultMaxRestarts]
// and [DefaultWindow], allow 10 restarts a minute. WithIntensity panics if
// restarts is negative or window is not positive.
func WithIntensity(restarts int, window time.Duration) Option {
	if restarts < 0 || window <= 0 {
		panic(fmt.Sprintf("fanin: WithIntensity called with %d restarts in %v; want restarts >= 0 and a positive window", restarts, window))
	}
	return func(c *adapterConfig) { c.maxRestarts, c.window = restarts, window }
}

// WithLane sets the adapter's lane: the bounded buffer that holds what it
// sent until the consumer receives it, and its weight in the consumer's
// fair order. Lanes take turns; in its turn a lane of weight w gives up to
// 16·w values, and a lane with nothing waiting passes at once. So while
// several lanes hold values, an adapter of weight w receives w times the
// share of an adapter of weight 1. The defaults
// are [DefaultCapacity] (256) and [DefaultWeight] (1). WithLane panics if
// capacity or weight is less than 1.
func WithLane(capacity, weight int) Option {
	if capacity < 1 || weight < 1 {
		panic(fmt.Sprintf("fanin: WithLane called with capacity %d and weight %d; both must be at least 1", capacity, weight))
	}
	return func(c *adapterConfig) { c.capacity, c.weight = capacity, weight }
}

// restarts remembers when an adapter was restarted, to apply the intensity
// limit and to choose the backoff. It is used by one goroutine only.
type restarts struct {
	times []time.Time // instants of recent restarts, oldest first
}

// next records a restart decided at now and returns its delay and its
// number within the window, or reports false if the intensity limit
// forbids it.
func (r *restarts) next(c *adapterConfig, now time.Time) (delay time.Duration, n int, ok bool) {
	// Forget restarts that have left the window.
	keep := r.times[:0]
	for _, t := range r.times {
		if now.Sub(t) < c.window {
			keep = append(keep, t)
		}
	}
	r.times = keep
	if len(r.times) >= c.maxRestarts {
		return 0, len(r.times) + 1, false // the number the refused restart would have had
	}
	r.times = append(r.times, now)
	n = len(r.times)
	delay = c.maxBackoff
	if n-1 < 62 {
		if d := c.minBackoff << (n - 1); d>>(n-1) == c.minBackoff && d < delay {
			delay = d // no overflow, and under the cap
		}
	}
	if c.jitter > 0 && delay > 0 {
		delay -= time.Duration(rand.Float64() * c.jitter * float64(delay))
	}
	return delay, n, true
}

// A PanicError is the error a [Group] records for an adapter whose Start or
// Run panicked. The panic is recovered in the adapter's own goroutine, as
// net/http recovers a panic in one request's handler, so that one broken
// adapter cannot end the program: the other adapters and the consumer run
// on, and the adapter's restart policy decides what follows. (errgroup, by
// contrast, re-panics in Wait, because its goroutines are parts of one
// computation; a group's adapters are independent.) A panic in a goroutine
// that the adapter started itself cannot be recovered by anyone but that
// goroutine, and still ends the program. An adapter whose Start or Run
// calls runtime.Goexit (t.FailNow does) is recorded as Failed with an error
// that says so, and is not restarted, since its goroutine is gone.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the panicking goroutine's stack, from runtime/debug.Stack
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("fanin: adapter panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// call runs f and turns a panic into a *PanicError.
func call(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}

// isPanic reports whether err is a recovered panic.
func isPanic(err error) bool {
	var pe *PanicError
	return errors.As(err, &pe)
}
