package fanin

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// A RestartPolicy says when a [Group] starts an adapter again after its
// Start failed or its Run returned: one of RestartOnFailure (the default),
// RestartAlways and RestartNever. An adapter that the group itself stopped
// (Shutdown, Remove, Replace) is never restarted.
type RestartPolicy int

const (
	// RestartOnFailure restarts an adapter whose Start or Run returned an
	// error or panicked, but not one whose Run returned nil. It is the
	// default, and what Erlang/OTP calls a transient child.
	RestartOnFailure RestartPolicy = iota
	// RestartAlways restarts an adapter whenever it ends, even when its Run
	// returned nil: OTP's permanent child.
	RestartAlways
	// RestartNever never restarts an adapter: OTP's temporary child. As
	// in OTP, its failure never ends the run (it has no restarts to
	// exceed): the program chose to live without it, and learns of the
	// failure from Group.Events, Group.Logger and Group.Stats. Use
	// WithIntensity(0, w) instead for an adapter whose first failure
	// must end the run.
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

// Limits of [WithLane]: a lane's capacity, and its weight, which sets how
// many values it gives in its turn (16·weight), must fit the group's
// arithmetic and a channel's size. Since Go limits a channel's element to
// 64 KiB, a lane of MaxCapacity holds at most 2^40 bytes, which the runtime
// can always try to allocate, so making a lane never panics.
const (
	MaxCapacity = 1 << 24 // 16,777,216 values
	MaxWeight   = 1 << 20 // 1,048,576: a turn of at most 2^24 values
)

// An Option sets how a [Group] runs one adapter; pass it to [Group.Add] or
// [Group.Replace]. The zero Option changes nothing.
type Option struct {
	apply func(*adapterConfig)
}

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
	keepTrying  bool
	failFast    bool
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
		if o.apply != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithRestart sets the adapter's restart policy; the default is
// [RestartOnFailure]. It panics for a policy that is not one of the three.
func WithRestart(p RestartPolicy) Option {
	if p < RestartOnFailure || p > RestartNever {
		panic(fmt.Sprintf("fanin: WithRestart called with %v", p))
	}
	return Option{func(c *adapterConfig) { c.policy = p }}
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
	return Option{func(c *adapterConfig) { c.minBackoff, c.maxBackoff, c.jitter = min, max, jitter }}
}

// WithIntensity sets the restart intensity: an adapter that would be
// restarted for the (restarts+1)-th time within window has failed more
// often than it may. By default it then escalates, as an Erlang/OTP
// supervisor does: it stays [Failed], and the group ends its run with an
// [*AdapterError] that names it (see [Group.Run] and [Stream.Err]). An
// adapter added with [WithKeepTrying] is restarted instead, at its maximum
// backoff, for as long as the run lasts. The defaults, [DefaultMaxRestarts]
// and [DefaultWindow], allow 10 restarts a minute; WithIntensity(0, w)
// escalates at the first failure. WithIntensity panics if restarts is
// negative or window is not positive.
func WithIntensity(restarts int, window time.Duration) Option {
	if restarts < 0 || window <= 0 {
		panic(fmt.Sprintf("fanin: WithIntensity called with %d restarts in %v; want restarts >= 0 and a positive window", restarts, window))
	}
	return Option{func(c *adapterConfig) { c.maxRestarts, c.window = restarts, window }}
}

// WithKeepTrying marks an adapter the program can live without for a
// while, such as the client of a service that may be down: when it exceeds
// its restart intensity it does not escalate, but is restarted at its
// maximum backoff (with jitter) for as long as the run lasts, as suture
// restarts a failing service. An [EventDegraded] reports that it went
// over its intensity. From then on every restart waits the maximum
// backoff, until a whole intensity window passes without a restart. From
// the time it goes over until it next starts successfully,
// [AdapterStats].Degraded is true. Going over again after a window without
// restarts is reported anew. Its restart policy still
// applies: a [RestartNever] adapter is not restarted at all.
func WithKeepTrying() Option {
	return Option{func(c *adapterConfig) { c.keepTrying = true }}
}

// WithFailFast makes the adapter's first [Starter.Start] in a run decide
// whether the run can go on, as [net/http.ListenAndServe] returns a bind
// error at once: if it fails, the run ends, [Group.Start] returns an
// [*AdapterError] that wraps the error (what was accepted meanwhile goes to
// Group.Abandon), [Group.Run] hands handle what was accepted meanwhile and
// returns it, and [Group.Add] on a running group returns the error and
// leaves the adapter out of the group. A Start that fails because the
// caller's ctx ended is not such a failure: the restart policy applies. (An adapter that first waits for an earlier instance of its name,
// see [Waiting], has been reported to Start or Add already; its failed
// first Start then ends the run, which Run returns and [Stream.Err]
// reports.) It suits an adapter whose start fails for a reason that
// waiting will not cure, such as a listener on an address already in use.
// After its first Start succeeded, its failures are treated as any
// adapter's.
func WithFailFast() Option {
	return Option{func(c *adapterConfig) { c.failFast = true }}
}

// WithLane sets the adapter's lane: the bounded buffer that holds what it
// sent until the consumer receives it, and its weight in the consumer's
// fair order. Lanes take turns; in its turn a lane of weight w gives up to
// 16·w values, and a lane with nothing waiting passes at once. So while
// several lanes hold values, an adapter of weight w receives w times the
// share of an adapter of weight 1. A lane allocates its buffer at its
// first send and keeps it until the run ends, so capacity costs nothing
// for an adapter that has not sent. The defaults are [DefaultCapacity] (256)
// and [DefaultWeight] (1). WithLane panics if capacity is not in
// [1, MaxCapacity] or weight is not in [1, MaxWeight], so that no lane
// that cannot work is ever made.
func WithLane(capacity, weight int) Option {
	if capacity < 1 || capacity > MaxCapacity || weight < 1 || weight > MaxWeight {
		panic(fmt.Sprintf("fanin: WithLane called with capacity %d and weight %d; want 1 <= capacity <= %d (MaxCapacity) and 1 <= weight <= %d (MaxWeight)", capacity, weight, MaxCapacity, MaxWeight))
	}
	return Option{func(c *adapterConfig) { c.capacity, c.weight = capacity, weight }}
}

// restarts remembers when an adapter was restarted, to apply the intensity
// limit and to choose the backoff. It is used by one goroutine only.
type restarts struct {
	times []time.Time // instants of recent restarts, oldest first
	over  bool        // the latest restart was over the intensity limit
}

// next records a restart decided at now, as beginning once its delay has
// passed, and returns that delay and the restart's number within the
// window. over reports that the restart exceeds the
// intensity limit: an adapter that escalates is then not restarted, and
// one kept trying waits the maximum backoff.
func (r *restarts) next(c *adapterConfig, now time.Time) (delay time.Duration, n int, over bool) {
	// Forget restarts that have left the window. (A restart recorded in
	// the future, after a backoff a stop cut short, stays in it.)
	keep := r.times[:0]
	for _, t := range r.times {
		if now.Sub(t) < c.window {
			keep = append(keep, t)
		}
	}
	r.times = keep
	// Once over, an adapter kept trying stays over until a whole window
	// passes without a restart: restarts at the maximum backoff would
	// otherwise fall under the limit again and again, and the backoff
	// would swing between its shortest and longest while the outage
	// lasts.
	over = len(r.times) >= c.maxRestarts || (r.over && len(r.times) > 0)
	r.over = over
	n = len(r.times) + 1 // for a refused restart, the number it would have had
	if over && !c.keepTrying {
		return 0, n, true
	}
	// Only the latest maxRestarts instants can decide the limit, so a
	// restart kept trying forgets the oldest: the memory stays bounded.
	if over && len(r.times) > 0 {
		r.times = append(r.times[:0], r.times[1:]...)
	}
	delay = c.maxBackoff
	// min·2^s, unless that passes max; min <= max>>s is the same test
	// without overflow, for every s a duration can be shifted by.
	if s := n - 1; !over && s < 63 && c.minBackoff <= c.maxBackoff>>s {
		delay = c.minBackoff << s
	}
	if c.jitter > 0 && delay > 0 {
		delay -= time.Duration(rand.Float64() * c.jitter * float64(delay))
	}
	// A restart counts from the instant it begins, after its backoff: a
	// backoff longer than the window must not empty the window by itself.
	r.times = append(r.times, now.Add(delay))
	return delay, n, over
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
