package lockblock

import (
	"cmp"
	"go/constant"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// maxCount bounds the counts of a state, so that a loop that takes a read
// lock or defers an unlock on each turn still reaches a fixed point.
const maxCount = 8

// A state is what the analysis knows at one point of a function: the locks
// that may be held, and the deferred calls that run at return. A state is
// never changed once it is stored as a block's entry state.
type state struct {
	locks lockset
	// unlocks counts, by the key of locks, the deferred unlocks that were
	// registered on every path to this point.
	unlocks map[string]int
	// pending holds each deferred call that may block and was registered
	// on some path to this point, with the deferred unlocks registered
	// after it on every such path: deferred calls run last in, first out,
	// so those unlocks run before it.
	pending map[*ssa.Defer]map[string]int
}

func (s *state) clone() *state {
	return &state{locks: cloneMap(s.locks), unlocks: cloneMap(s.unlocks), pending: cloneMap(s.pending)}
}

// cloneMap returns a copy of m that can be written, even if m is nil.
func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	maps.Copy(out, m)
	return out
}

// union merges src into dst, the states on two paths into one point, and
// reports whether dst changed; it returns dst itself if not, and a new
// state if so. A nil dst is a point not yet reached. A lock held on either
// path may be held; a deferred unlock counts only if registered on both.
func union(dst, src *state) (*state, bool) {
	if dst == nil {
		return src.clone(), true
	}
	locks, c1 := unionLocks(dst.locks, src.locks)
	unlocks, c2 := meetUnlocks(dst, src)
	pending, c3 := unionPending(dst, src)
	if !c1 && !c2 && !c3 {
		return dst, false
	}
	return &state{locks: locks, unlocks: unlocks, pending: pending}, true
}

// unionLocks adds the locks of src to dst, copying dst if it changes, and
// reports whether it did.
func unionLocks(dst, src lockset) (lockset, bool) {
	var out lockset
	for k, h := range src {
		if d, ok := dst[k]; ok {
			m := d
			m.count = max(d.count, h.count)
			if d.cond != h.cond {
				// Held on both paths, tested by different values:
				// either may be false while it is held.
				m.cond = nil
			}
			if d.nilErr != h.nilErr {
				m.nilErr = nil
			}
			// Held on both paths: only the branch conditions both
			// paths took still hold wherever it is held.
			m.lits = commonLits(d.lits, h.lits)
			if sameHeld(m, d) {
				continue
			}
			h = m
		}
		if out == nil {
			out = cloneMap(dst)
		}
		out[k] = h
	}
	if out == nil {
		return dst, false
	}
	return out, true
}

// meetUnlocks merges the deferred unlocks of two paths: an unlock counts
// if it was deferred on both, or on one path while the other does not hold
// the lock at all. The second is the shape
//
//	if c {
//		mu.Lock()
//		defer mu.Unlock()
//	}
//
// where the lock and its deferred unlock go together: on the path that
// skipped both, there is nothing for the unlock to release.
func meetUnlocks(dst, src *state) (map[string]int, bool) {
	return meetHeld(dst.unlocks, dst.locks, src.unlocks, src.locks)
}

// meetHeld merges counts of deferred unlocks, dst's on a path where dstLocks
// may be held and src's on one where srcLocks may be: see meetUnlocks. It
// copies dst if it changes it.
func meetHeld(dst map[string]int, dstLocks lockset, src map[string]int, srcLocks lockset) (map[string]int, bool) {
	var out map[string]int
	set := func(k string, n int) {
		if out == nil {
			out = cloneMap(dst)
		}
		if n == 0 {
			delete(out, k)
		} else {
			out[k] = n
		}
	}
	for k, n := range dst {
		m, ok := src[k]
		if !ok {
			if _, held := srcLocks[k]; !held {
				continue
			}
		}
		if m < n {
			set(k, m)
		}
	}
	for k, m := range src {
		if _, ok := dst[k]; ok {
			continue
		}
		if _, held := dstLocks[k]; !held {
			set(k, m)
		}
	}
	if out == nil {
		return dst, false
	}
	return out, true
}

// unionPending merges the deferred calls that may block of two paths, with
// the unlocks deferred after each, as meetUnlocks merges those of the
// function.
func unionPending(dst, src *state) (map[*ssa.Defer]map[string]int, bool) {
	var out map[*ssa.Defer]map[string]int
	for d, after := range src.pending {
		prev, ok := dst.pending[d]
		if ok {
			if after, ok = meetHeld(prev, dst.locks, after, src.locks); !ok {
				continue
			}
		}
		if out == nil {
			out = cloneMap(dst.pending)
		}
		out[d] = after
	}
	if out == nil {
		return dst.pending, false
	}
	return out, true
}

// flow is the lock-set analysis of one function, or of the body of a
// range-over-func loop within the analysis of its enclosing function.
type flow struct {
	c        *checker
	fn       *ssa.Function
	in       []*state          // entry state of each block; nil if not reached
	released map[string]effect // by modeKey
	// maybeOwn holds, by modeKey, the released locks that were let go
	// only where the function may have taken them itself (if lazy {
	// mu.Lock() }; mu.Unlock()), never where it surely had not.
	maybeOwn map[string]bool
	outer    *flow // for a loop body, the analysis of the function; nil otherwise
	// env holds constant values of bool parameters, for the analysis of
	// a call that passes them: branches they rule out are not taken.
	env bindings
	// starts holds, for a function that tracks flag words, the bindings
	// at the entry of each block; see ruledOut.
	starts reached
}

func (c *checker) newFlow(fn *ssa.Function) *flow {
	return &flow{c: c, fn: fn, in: make([]*state, len(fn.Blocks)), released: map[string]effect{}, maybeOwn: map[string]bool{}}
}

// maxRounds bounds the rounds of a loop body's analysis, each from the
// state at the end of the last; the states only grow, so the bound is not
// reached in practice.
const maxRounds = 16

// rangeBody runs the body of a range-over-func loop, a yield function that
// the iterator may call any number of times, from cur, the state before
// the call of the iterator, and leaves in cur the state after the loop.
// The body runs in this goroutine, under this function's locks; locks it
// takes and keeps (break with a lock held) and calls it defers (which
// belong to this function) carry over to what follows the loop. show, if
// not nil, sees the body's instructions.
func (f *flow) rangeBody(mc *ssa.MakeClosure, cur *state, show func(ssa.Instruction, *state)) {
	body := mc.Fn.(*ssa.Function)
	entry := cur.clone()
	var sub *flow
	var exit *state
	for range maxRounds {
		sub = f.c.newFlow(body)
		sub.outer = f
		sub.solve(entry)
		exit = nil
		for _, r := range sub.returns() {
			exit, _ = union(exit, r.st)
		}
		if exit == nil {
			break
		}
		next, changed := union(entry, exit)
		if !changed {
			break
		}
		entry = next
	}
	if show != nil {
		sub.walk(show)
	}
	if exit != nil {
		if after, changed := union(cur, exit); changed {
			*cur = *after
		}
	}
}

// analyze runs the lock-set analysis of fn once and returns it, or nil if
// fn neither takes a lock nor calls a function of this package that leaves
// one held or releases one.
func (c *checker) analyze(fn *ssa.Function) *flow {
	info := c.funcs[fn]
	if info == nil {
		return nil
	}
	if info.visiting {
		// A recursive call: its caller reads the effects assumed for
		// this round, which may yet change.
		c.rec.guessed = true
		return nil
	}
	if info.flow != nil || info.effects != nil {
		return info.flow
	}
	if c.rec.depth > 0 {
		return c.analyzeOne(fn)
	}
	// The outermost analysis: run it again, with what the last round
	// found assumed for recursive calls, until that no longer changes.
	// Without this, functions that call each other (a close that flushes,
	// a flush that closes on error) would see each other's effects as
	// empty, and a lock one of them lets go before it waits would seem
	// held across the wait. The effects settle first; which let-go locks
	// each function waits holding is then found again from nothing
	// assumed, and grows round by round to what a wait really makes true:
	// had it started from the first rounds, where a call back seemed to
	// let go of nothing and so to wait holding everything, a cycle of
	// functions that each call the next with the lock let go would keep
	// that guess, each "holding" because the next one "does".
	assumed := map[*ssa.Function]*lockEffects{}
	settled := false // the effects no longer change
	for round := 1; ; round++ {
		c.rec.guessed, c.rec.done, c.rec.assumed = false, nil, assumed
		c.rec.depth++
		f := c.analyzeOne(fn)
		c.rec.depth--
		if !c.rec.guessed || round == 2*maxRecRounds {
			c.rec.assumed = nil
			return f
		}
		effectsChanged, holdingChanged := false, false
		next := map[*ssa.Function]*lockEffects{}
		for _, g := range c.rec.done {
			e := c.funcs[g].effects
			a := cmp.Or(assumed[g], &lockEffects{})
			if !sameEffects(e, a) {
				effectsChanged = true
			}
			if !sameHolding(e.holding, a.holding) {
				holdingChanged = true
			}
			next[g] = e
		}
		switch {
		case !settled && (!effectsChanged || round == maxRecRounds):
			settled = true
			for g, e := range next {
				e := *e
				e.holding = nil
				next[g] = &e
			}
		case !settled:
		case !holdingChanged:
			c.rec.assumed = nil
			return f
		}
		for _, g := range c.rec.done {
			gi := c.funcs[g]
			gi.flow, gi.effects = nil, nil
		}
		// Effects for constant arguments may have read a guess too.
		clear(c.specEff)
		assumed = next
	}
}

// maxRecRounds bounds the rounds of analysis of functions that call each
// other, for their effects and then for the locks they wait holding.
// Effects settle in two or three rounds; a recursion that passes its
// parameters on rotated adds one lock to its effects a round, and one that
// rotates more than seven is left with those of the last round.
const maxRecRounds = 8

// sameHolding reports whether a and b say that a function waits holding
// the same let-go locks, for the same reasons.
func sameHolding(a, b map[string]blocker) bool {
	if len(a) != len(b) {
		return false
	}
	for mk, bl := range a {
		if o, ok := b[mk]; !ok || o.why != bl.why {
			return false
		}
	}
	return true
}

// analyzeOne analyzes fn, within an outermost analysis.
func (c *checker) analyzeOne(fn *ssa.Function) *flow {
	info := c.funcs[fn]
	info.visiting = true
	defer func() { info.visiting = false }()
	c.rec.done = append(c.rec.done, fn)
	info.effects = cmp.Or(c.rec.assumed[fn], &lockEffects{})
	if !c.touchesLocks(fn) {
		return nil
	}
	f := c.newFlow(fn)
	f.solve(&state{})
	info.flow = f
	info.effects = c.effectsOf(f)
	return f
}

// sameEffects reports whether a and b are the same effects.
func sameEffects(a, b *lockEffects) bool {
	return slices.Equal(a.acquired, b.acquired) && slices.Equal(a.released, b.released) && slices.Equal(a.drops, b.drops)
}

// specEffects returns what fn does to its caller's locks when its bool
// parameters have the values of env: Begin(true) takes the writer's lock
// and not the readers'.
func (c *checker) specEffects(fn *ssa.Function, env bindings) *lockEffects {
	k := specKey{fn, env.key()}
	if e, ok := c.specEff[k]; ok {
		return e
	}
	c.specEff[k] = c.funcs[fn].effects // what a recursive call sees
	f := c.newFlow(fn)
	f.env = env
	f.solve(&state{})
	e := c.effectsOf(f)
	c.specEff[k] = e
	return e
}

// effectsOf returns what the function of f, solved from an empty entry
// state, does to its caller's locks, and records which of them it may block
// holding. A lock that it unlocks without having locked it is one its
// caller holds: a second analysis, with those locks held on entry, says
// whether each is released at every return, or only on some paths or for
// a while (Unlock; wait; Lock), and whether the function may block while
// it still holds one.
func (c *checker) effectsOf(f *flow) *lockEffects {
	eff := &lockEffects{drops: slices.Collect(maps.Values(f.released))}
	sortEffects(eff.drops)
	rets := f.returns()
	atReturn := lockset{}
	for _, r := range rets {
		atReturn, _ = unionLocks(atReturn, r.st.locks)
	}
	for mk, h := range atReturn {
		if _, ok := f.released[mk]; ok && !f.maybeOwn[mk] {
			// Held on entry, so not taken for the caller.
			continue
		}
		key := strings.TrimSuffix(mk, "#r")
		if e, ok := c.effectOf(f.fn, key, h.name, h.read, h.field); ok {
			e.result, e.nilErr = f.resultFor(mk, rets)
			e.count = h.count
			eff.acquired = append(eff.acquired, e)
		}
	}
	if len(eff.drops) == 0 {
		sortEffects(eff.acquired)
		return eff
	}
	// The second analysis holds each lock let go as often on entry as
	// the function may let go of it: once for a write lock, readHolds
	// times for a read lock, so that the counts it ends with say how
	// many times it let go, and how many it took again.
	entry := &state{locks: lockset{}}
	holds := func(e effect) int {
		if e.read {
			return readHolds
		}
		return 1
	}
	// A lock that a Cond.Wait of a callee lets go of through a pointer
	// field (effect.cond) is, beside a lock of the caller's that the
	// function lets go of itself, most likely that lock under another
	// name: it is not held on entry as a lock of its own, so that the
	// wait finds the lock it is paired with (pairedHeld). Wait takes it again, so it
	// is let go only for a while.
	alias := map[string]bool{}
	for _, e := range eff.drops {
		if e.ptr == nil {
			continue
		}

		for _, p := range c.pairedKeys(e.key(), e.ptr) {
			for _, o := range eff.drops {
				if o.ptr == nil && o.read == e.read && o.key() == p.lock && o.field == p.field {
					alias[modeKey(e.key(), e.read)] = true
				}
			}
		}
	}
	for _, e := range eff.drops {
		if mk := modeKey(e.key(), e.read); !alias[mk] {
			entry.locks[mk] = held{read: e.read, count: holds(e), field: e.field}
		}
	}
	g := c.newFlow(f.fn)
	g.env = f.env
	g.solve(entry)
	eff.holding, eff.letGo = map[string]blocker{}, map[string]int{}
	g.visit(func(instr ssa.Instruction, cur lockset) {
		env := g.env
		if instr.Parent() != g.fn {
			env = nil // a loop body's parameters are not the function's
		}
		bl, locks := c.blockedAt(instr, cur, env)
		for mk, h := range locks {
			in, ok := entry.locks[mk]
			if !ok {
				continue
			}
			// The wait after the fewest let-gos; of those, the first
			// of the function's own, or else the first call: a call's
			// reason may be a wait of the callee that runs while the
			// lock is let go.
			letGo := max(in.count-h.count, 0)
			w, seen := eff.holding[mk]
			if !seen || letGo < eff.letGo[mk] || letGo == eff.letGo[mk] && w.noun == "call" && bl.noun != "call" {
				eff.holding[mk], eff.letGo[mk] = bl, letGo
			}
		}
	})
	gRets := g.returns()
	for _, e := range eff.drops {
		mk := modeKey(e.key(), e.read)
		if alias[mk] {
			continue
		}
		// How often it is held at returns: at the most, and at the
		// least (0 where it is not held).
		most, least := 0, -1
		for _, r := range gRets {
			k := r.st.locks[mk].count
			most = max(most, k)
			if least < 0 || k < least {
				least = k
			}
		}
		switch n := holds(e); {
		case most < n:
			e.count = n - most
			eff.released = append(eff.released, e)
		case least > n:
			// Let go of and taken again more often on every path:
			// RUnlock; RLock; RLock. Only on every path, because a
			// release on some paths only (Tx.close, by tx.writable)
			// would otherwise leave the read lock that the function
			// took and let go again held on the others.
			e.count = least - n
			eff.acquired = append(eff.acquired, e)
		}
	}
	sortEffects(eff.acquired)
	return eff
}

// readHolds is how many times the second analysis of effectsOf holds a read
// lock on entry: a caller that holds it more often is taken to hold it
// across whatever the function does.
const readHolds = 4

// visit shows each instruction of the function with the locks that may be
// held before it runs, but a deferred call, which is shown at each return
// (or panic) with the locks that may be held when it runs.
func (f *flow) visit(see func(ssa.Instruction, lockset)) {
	f.walk(func(instr ssa.Instruction, cur *state) {
		switch in := instr.(type) {
		case *ssa.Defer:
			return
		case *ssa.RunDefers:
			showDeferred(cur, see)
		case *ssa.Panic:
			// A panic of the source runs the deferred calls; one that SSA
			// adds (a range-over-func misused) has no position.
			if in.Pos().IsValid() {
				showDeferred(cur, see)
			}
		}
		see(instr, cur.locks)
	})
}

// walk runs each reached block from its solved entry state and shows each
// instruction with the state before it.
func (f *flow) walk(show func(ssa.Instruction, *state)) {
	for _, b := range f.fn.Blocks {
		if f.in[b.Index] != nil {
			f.transfer(b, f.in[b.Index], show)
		}
	}
}

// showDeferred shows each pending deferred call of cur with the locks that
// stay held while it runs: all that are held now but those whose deferred
// unlocks run before it.
func showDeferred(cur *state, see func(ssa.Instruction, lockset)) {
	for d, after := range cur.pending {
		locks := lockset{}
		for mk, h := range cur.locks {
			if h.count > after[mk] {
				locks[mk] = h
			}
		}
		see(d, locks)
	}
}

// heldAcross returns the locks of cur that stay held while instr, which
// may block as bl says, waits: not the Cond's own lock during its Wait,
// nor a lock of the caller's that a called function of this package
// unlocks, on every path, before it blocks; a read lock held more than
// once stays held if the function lets go of it once. It also returns how
// instr blocks under them: where a lock left is one that the called
// function lets go of and takes back, and it waits holding it, the wait it
// makes holding it, not the first of its summary, which may run while the
// lock is let go.
func (c *checker) heldAcross(instr ssa.Instruction, bl blocker, cur lockset, env bindings) (blocker, lockset) {
	locks := cur
	if bl.cond != nil {
		locks = c.withoutCondLock(bl.cond, locks)
	}
	call := c.callOf(instr)
	if call == nil || len(locks) == 0 {
		return bl, locks
	}
	eff, st := c.effectsAt(call, instr.Parent(), env)
	if eff == nil || len(eff.drops) == 0 {
		return bl, locks
	}
	var out lockset
	under := map[string]blocker{} // by the caller's key
	for _, e := range eff.drops {
		key, _, read, ok := c.bind(st, e)
		if !ok {
			continue
		}
		mk := modeKey(key, read)
		if e.ptr != nil {
			mk = c.pairedHeld(locks, mk, read, e.ptr)
			if mk != modeKey(key, read) && c.namedByOther(st, eff, e, mk) {
				// Another drop names that lock: what it says of the
				// waits made holding it stands.
				continue
			}
		}
		h, ok := locks[mk]
		if !ok {
			continue
		}
		local := modeKey(e.key(), e.read)
		if w, ok := eff.holding[local]; ok && h.count > eff.letGo[local] {
			// Held at that wait, as often as the function leaves it.
			under[mk] = w
			if n := eff.letGo[local]; n > 0 {
				if out == nil {
					out = maps.Clone(locks)
				}
				h.count -= n
				out[mk] = h
			}
			continue
		}
		if read && h.count > readHolds {
			// Held more often than the function was analysed for.
			continue
		}
		if out == nil {
			out = maps.Clone(locks)
		}
		if read && !e.read && h.count > 1 {
			// A read lock handed on as a sync.Locker (RLocker()),
			// which the function lets go of once.
			h.count--
			out[mk] = h
			continue
		}
		delete(out, mk)
	}
	if out == nil {
		out = locks
	}
	// A wait the function makes holding a let-go lock is made holding
	// every lock it does not let go of, too.
	var first blocker
	for mk := range out {
		if w, ok := under[mk]; ok && (first.why == "" || w.why < first.why) {
			first = w
		}
	}
	if first.why == "" {
		return bl, out
	}
	return c.callBlocker(c.funcDesc(st.fn), first.why, first.io, first.root, bl.pos), out
}

// touchesLocks reports whether fn takes or releases a lock, itself or
// through a function of this package.
func (c *checker) touchesLocks(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			call := c.callOf(instr)
			if call == nil {
				continue
			}
			if c.lockCall(call).op != notLockOp {
				return true
			}
			if _, ok := isCondWait(call); ok {
				return true
			}
			for _, arg := range call.Args {
				if mc := yieldClosure(arg); mc != nil && c.touchesLocks(mc.Fn.(*ssa.Function)) {
					return true
				}
			}
			if e, _ := c.effectsAt(call, nil, nil); e != nil && (len(e.acquired) > 0 || len(e.drops) > 0) {
				return true
			}
		}
	}
	return false
}

// effectsAt returns the effects of the function of this package that call
// runs, and the call as a site of it; or nil if it runs none, or its
// values do not line up with that function's parameters. Arguments that
// are constants, or parameters of caller that env binds to constants,
// choose the effects for those values.
func (c *checker) effectsAt(call *ssa.CallCommon, caller *ssa.Function, env bindings) (*lockEffects, site) {
	st, ok := c.siteOf(call)
	if !ok {
		return nil, site{}
	}
	c.analyze(st.fn)
	eff := c.funcs[st.fn].effects
	if eff != nil && (len(eff.acquired) > 0 || len(eff.drops) > 0) {
		// The bits of flag words known at the entry of caller may have
		// changed by the call: they are left out.
		if _, consts := c.constArgs(call, caller, withoutFlags(env)); len(consts) > 0 {
			eff = c.specEffects(st.fn, consts)
		}
	}
	return eff, st
}

// solve computes the entry state of each block, from entry at the first.
func (f *flow) solve(entry *state) {
	if len(f.fn.Blocks) == 0 {
		return
	}
	f.in[0] = entry
	work := []*ssa.BasicBlock{f.fn.Blocks[0]}
	queued := make([]bool, len(f.fn.Blocks))
	queued[0] = true
	for len(work) > 0 {
		b := work[0]
		work = work[1:]
		queued[b.Index] = false
		outs := f.transfer(b, f.in[b.Index], nil)
		for i, s := range b.Succs {
			if f.ruledOut(b, i) {
				continue
			}
			merged, changed := union(f.in[s.Index], outs[i])
			if !changed {
				continue
			}
			f.in[s.Index] = merged
			if !queued[s.Index] {
				queued[s.Index] = true
				work = append(work, s)
			}
		}
	}
}

// ruledOut reports whether the edge from b to its i'th successor is never
// taken: its condition is constant given the constant parameters of f, or
// tests a result that is always nil (see alwaysNil).
func (f *flow) ruledOut(b *ssa.BasicBlock, i int) bool {
	if len(b.Instrs) == 0 {
		return false
	}
	iff, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If)
	if !ok {
		return false
	}
	if !f.env.hasFlags() && !f.c.setsFlags(f.fn) {
		v, ok := evalBool(iff.Cond, f.fn, f.env)
		return ok && v != (i == 0)
	}
	if f.starts == nil {
		f.starts = f.c.reach(f.fn, f.env)
	}
	entry := f.starts[b.Index]
	if entry == nil {
		entry = withoutFlags(f.env)
	}
	v, ok := f.c.branch(b, entry, true, nil)
	return ok && v != (i == 0)
}

// transfer runs block b from entry state in and returns the state on each
// edge out of it. show, if not nil, sees each instruction with the state
// before it.
func (f *flow) transfer(b *ssa.BasicBlock, in *state, show func(ssa.Instruction, *state)) []*state {
	cur := in.clone()
	for _, instr := range b.Instrs {
		if show != nil {
			show(instr, cur)
		}
		switch in := instr.(type) {
		case *ssa.Call:
			switch ref := f.c.lockCall(f.c.callOf(in)); ref.op {
			case notLockOp:
				f.applyEffects(in, cur)
				f.condWait(in.Common(), cur)
				for _, arg := range in.Call.Args {
					if mc := yieldClosure(arg); mc != nil {
						f.rangeBody(mc, cur, show)
					}
				}
			case opLock, opRLock:
				h := f.c.lockAt(ref, in.Pos(), ref.op == opRLock)
				h.lits = f.c.branchLits(b)
				acquire(cur, ref.key, h)
			case opUnlock, opRUnlock:
				f.releaseAt(cur, ref.key, ref.name, ref.op == opRUnlock, ref.field, ref.ptr, f.c.branchLits(b))
			case opTryLock, opTryRLock:
				// Held where the call returned true.
				h := f.c.lockAt(ref, in.Pos(), ref.op == opTryRLock)
				h.cond = in
				acquire(cur, ref.key, h)
			}
		case *ssa.Defer:
			f.deferCall(in, cur)
		case *ssa.RunDefers:
			for mk, n := range cur.unlocks {
				if h, ok := cur.locks[mk]; ok && h.count > n {
					h.count -= n
					cur.locks[mk] = h
				} else {
					delete(cur.locks, mk)
				}
			}
			cur.unlocks, cur.pending = map[string]int{}, map[*ssa.Defer]map[string]int{}
		}
	}
	outs := make([]*state, len(b.Succs))
	for i, s := range b.Succs {
		outs[i] = edge(b, i, s, cur)
	}
	return outs
}

// branchLits returns the branch conditions that had a known value on every
// path into b: for each block that dominates b and is entered only from
// one edge of an If, that If's condition and the edge's value. A value
// computed inside a loop is left out: the value tested by a later If in
// the next turn may be another one.
func (c *checker) branchLits(b *ssa.BasicBlock) []lit {
	var lits []lit
	for d := b; d != nil; d = d.Idom() {
		if len(d.Preds) != 1 {
			continue
		}
		p := d.Preds[0]
		iff, ok := p.Instrs[len(p.Instrs)-1].(*ssa.If)
		if !ok || p.Succs[0] == p.Succs[1] {
			continue
		}
		if instr, ok := iff.Cond.(ssa.Instruction); ok && c.inLoop(instr.Block()) {
			continue
		}
		lits = append(lits, lit{v: iff.Cond, neg: d == p.Succs[1]})
	}
	return lits
}

// inLoop reports whether b is on a cycle of its function's control flow.
func (c *checker) inLoop(b *ssa.BasicBlock) bool {
	fn := b.Parent()
	loops, ok := c.loops[fn]
	if !ok {
		loops = cyclic(fn)
		c.loops[fn] = loops
	}
	return loops[b.Index]
}

// cyclic returns, by block index, which blocks of fn lie on a cycle: those
// in a strongly connected component of more than one block, or with an
// edge to themselves (Tarjan's algorithm).
func cyclic(fn *ssa.Function) []bool {
	n := len(fn.Blocks)
	out := make([]bool, n)
	index := make([]int, n)
	low := make([]int, n)
	on := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	next := 0
	var strong func(v int)
	strong = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		on[v] = true
		for _, s := range fn.Blocks[v].Succs {
			w := s.Index
			if w == v {
				out[v] = true
			}
			if index[w] < 0 {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 {
				for _, w := range comp {
					out[w] = true
				}
			}
		}
	}
	for v := range n {
		if index[v] < 0 {
			strong(v)
		}
	}
	return out
}

// acquire adds a lock to cur, or a read lock once more. One held already
// is held whatever a TryLock returns now.
func acquire(cur *state, key string, h held) {
	mk := modeKey(key, h.read)
	h.count = 1
	if old, ok := cur.locks[mk]; ok {
		h = old
		h.cond = nil
		h.nilErr = nil
		h.lits = nil
		if h.read {
			h.count = min(h.count+1, maxCount)
		}
	}
	cur.locks[mk] = h
}

// edge returns the state on the edge from b, whose state at its end is
// cur, to its i'th successor s. A lock held only where a value is true (a
// TryLock's result) or only where branch conditions had given values (one
// taken inside an if) is dropped on the branch where the If that ends b
// shows otherwise; a TryLock's result follows the value into a phi of s
// that it flows into.
func edge(b *ssa.BasicBlock, i int, s *ssa.BasicBlock, cur *state) *state {
	var iff *ssa.If
	if n := len(b.Instrs); n > 0 {
		iff, _ = b.Instrs[n-1].(*ssa.If)
	}
	pred := slices.Index(s.Preds, b)
	out := cur
	for mk, h := range cur.locks {
		if h.cond == nil && len(h.lits) == 0 && h.nilErr == nil {
			continue
		}
		if iff != nil && refuted(iff.Cond, i == 0, h) {
			if out == cur {
				out = cur.clone()
			}
			delete(out.locks, mk)
			continue
		}
		if h.cond == nil {
			continue
		}
		for _, instr := range s.Instrs {
			phi, ok := instr.(*ssa.Phi)
			if !ok {
				break
			}
			if pred >= 0 && phi.Edges[pred] == h.cond {
				if out == cur {
					out = cur.clone()
				}
				h.cond = phi
				out.locks[mk] = h
				break
			}
		}
	}
	return out
}

// refuted reports whether cond having the value truth shows that h is not
// held: its TryLock result false, or one of its branch conditions the
// other way.
func refuted(cond ssa.Value, truth bool, h held) bool {
	if h.nilErr != nil {
		if isNil, ok := nilTest(cond, truth, h.nilErr); ok && !isNil {
			return true
		}
	}
	if h.cond != nil {
		if v, ok := implied(cond, truth, h.cond); ok && !v {
			return true
		}
	}
	for _, l := range h.lits {
		if v, ok := implied(cond, truth, l.v); ok && v == l.neg {
			return true
		}
	}
	return false
}

// implied returns the value that cond having the value truth gives v, if
// it gives one: v itself, !v, v == false, v != true and the like.
func implied(cond ssa.Value, truth bool, v ssa.Value) (bool, bool) {
	if cond == v {
		return truth, true
	}
	switch c := cond.(type) {
	case *ssa.UnOp:
		if c.Op == token.NOT {
			return implied(c.X, !truth, v)
		}
	case *ssa.BinOp:
		if c.Op != token.EQL && c.Op != token.NEQ {
			break
		}
		x, k := c.X, c.Y
		if _, ok := x.(*ssa.Const); ok {
			x, k = k, x
		}
		kc, ok := k.(*ssa.Const)
		if !ok || kc.Value == nil || kc.Value.Kind() != constant.Bool {
			break
		}
		// cond is true exactly when x == want.
		want := constant.BoolVal(kc.Value) == (c.Op == token.EQL)
		return implied(x, want == truth, v)
	}
	return false, false
}

// nilTest returns whether v is nil, if cond having the value truth says:
// cond is v != nil or v == nil.
func nilTest(cond ssa.Value, truth bool, v ssa.Value) (isNil, ok bool) {
	c, ok := cond.(*ssa.BinOp)
	if !ok || (c.Op != token.EQL && c.Op != token.NEQ) {
		return false, false
	}
	x, k := c.X, c.Y
	if _, ok := x.(*ssa.Const); ok {
		x, k = k, x
	}
	if kc, ok := k.(*ssa.Const); !ok || !kc.IsNil() || (x != v && !loadOf(x, v)) {
		return false, false
	}
	return truth == (c.Op == token.EQL), true
}

// loadOf reports whether x loads v back from a variable that it was just
// stored in, in the same block: the named result err of
// if err = l.acquire(); err != nil.
func loadOf(x, v ssa.Value) bool {
	load, ok := x.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return false
	}
	addr, ok := load.X.(*ssa.Alloc)
	if !ok {
		return false
	}
	instrs := load.Block().Instrs
	for i := slices.Index(instrs, ssa.Instruction(load)) - 1; i >= 0; i-- {
		switch in := instrs[i].(type) {
		case *ssa.Store:
			if in.Addr == addr {
				return in.Val == v
			}
		case *ssa.Call, *ssa.Defer, *ssa.Go:
			return false
		}
	}
	return false
}

// deferCall registers a deferred call: an unlock, or a release by a
// helper, runs at return; a call that may block is pending until then.
func (f *flow) deferCall(d *ssa.Defer, cur *state) {
	call := f.c.callOf(d)
	switch ref := f.c.lockCall(call); ref.op {
	case opUnlock, opRUnlock:
		f.deferUnlock(cur, ref.key, ref.name, ref.op == opRUnlock, ref.field, ref.ptr)
		return
	case notLockOp:
		if eff, st := f.c.effectsAt(call, f.fn, f.env); eff != nil {
			for _, e := range eff.released {
				if key, name, read, ok := f.c.bind(st, e); ok {
					for range e.times() {
						f.deferUnlock(cur, key, name, read, e.field, e.ptr)
					}
				}
			}
			if len(eff.released) == 0 && len(eff.drops) == 1 {
				if key, _, read, ok := f.c.bind(st, eff.drops[0]); ok && f.guardedUnlock(d, key, read) {
					// It runs before the deferred calls registered so
					// far, and lets go of the lock if it is held.
					mk := sameLock(cur, modeKey(key, read), read, eff.drops[0].field)
					for pd, after := range cur.pending {
						after = cloneMap(after)
						after[mk] = min(after[mk]+1, maxCount)
						cur.pending[pd] = after
					}
				}
			}
		}
	}
	if bl, ok := f.c.blocking(d); ok && !f.c.dirs.silenced(f.c.pass.Fset, bl.pos) {
		cur.pending[d] = map[string]int{}
	}
}

// guardedUnlock reports whether the deferred call d runs a func literal
// that unlocks the lock key of its function only if a variable of that
// function, done, is false, where done is set to true only just after
// the function unlocks the lock, and the lock is not taken again after:
//
//	done := false
//	defer func() {
//		if !done {
//			mu.Unlock()
//		}
//	}()
//	...
//	mu.Unlock()
//	done = true
//
// The call then lets go of the lock wherever the function holds it.
func (f *flow) guardedUnlock(d *ssa.Defer, key string, read bool) bool {
	mc, ok := d.Call.Value.(*ssa.MakeClosure)
	if !ok {
		return false
	}
	body := mc.Fn.(*ssa.Function)
	// The closure's one unlock is on the false branch of a test of a
	// variable it captures.
	var cell *ssa.Alloc
	unlocks := 0
	for _, b := range body.Blocks {
		for _, instr := range b.Instrs {
			call, ok := instr.(*ssa.Call)
			if !ok {
				continue
			}
			if ref := f.c.lockCall(call.Common()); ref.op != notLockOp {
				unlocks++
				if ref.op != opUnlock && ref.op != opRUnlock || len(b.Preds) != 1 {
					return false
				}
				cell = guardOf(b.Preds[0], b, mc)
			} else if f.c.localCallee(call.Common()) != nil || call.Common().StaticCallee() == nil {
				return false
			}
		}
	}
	if unlocks != 1 || cell == nil {
		return false
	}
	// done is false until just after an unlock of the lock, and no Lock
	// follows.
	var after []*ssa.BasicBlock
	for _, ref := range *cell.Referrers() {
		switch ref := ref.(type) {
		case *ssa.Store:
			k, ok := ref.Val.(*ssa.Const)
			if !ok || k.Value == nil || k.Value.Kind() != constant.Bool {
				return false
			}
			if !constant.BoolVal(k.Value) {
				continue
			}
			instrs := ref.Block().Instrs
			i := slices.Index(instrs, ssa.Instruction(ref)) - 1
			for i >= 0 {
				if _, ok := instrs[i].(*ssa.DebugRef); !ok {
					break
				}
				i--
			}
			if i < 0 {
				return false
			}
			prev, ok := instrs[i].(*ssa.Call)
			if !ok {
				return false
			}
			if r := f.c.lockCall(prev.Common()); r.op != opUnlock && r.op != opRUnlock || r.key != key || (r.op == opRUnlock) != read {
				return false
			}
			after = append(after, ref.Block())
		case *ssa.UnOp, *ssa.DebugRef:
		case *ssa.MakeClosure:
			if ref != mc && !onlyRead(ref, cell) {
				return false
			}
		default:
			return false
		}
	}
	seen := map[*ssa.BasicBlock]bool{}
	for len(after) > 0 {
		b := after[len(after)-1]
		after = after[:len(after)-1]
		if seen[b] {
			continue
		}
		seen[b] = true
		for _, instr := range b.Instrs {
			call, ok := instr.(ssa.CallInstruction)
			if !ok {
				continue
			}
			switch r := f.c.lockCall(call.Common()); r.op {
			case opLock, opRLock, opTryLock, opTryRLock:
				if r.key == key {
					return false
				}
			case notLockOp:
				// A helper of the package that takes the lock again.
				if eff, st := f.c.effectsAt(call.Common(), f.fn, nil); eff != nil {
					for _, e := range eff.acquired {
						if k, _, _, ok := f.c.bind(st, e); !ok || k == key {
							return false
						}
					}
				}
			}
		}
		after = append(after, b.Succs...)
	}
	return true
}

// guardOf returns the variable of the function that makes mc whose value
// the branch at the end of p tests, if b, its successor, is taken only
// when the value is false.
func guardOf(p, b *ssa.BasicBlock, mc *ssa.MakeClosure) *ssa.Alloc {
	iff, ok := p.Instrs[len(p.Instrs)-1].(*ssa.If)
	if !ok {
		return nil
	}
	cond, want := iff.Cond, 1 // b is the else branch of if done
	if not, ok := cond.(*ssa.UnOp); ok && not.Op == token.NOT {
		cond, want = not.X, 0
	}
	if p.Succs[want] != b || p.Succs[1-want] == b {
		return nil
	}
	ld, ok := cond.(*ssa.UnOp)
	if !ok || ld.Op != token.MUL {
		return nil
	}
	fv, ok := ld.X.(*ssa.FreeVar)
	if !ok {
		return nil
	}
	fn := mc.Fn.(*ssa.Function)
	i := slices.Index(fn.FreeVars, fv)
	if i < 0 || i >= len(mc.Bindings) {
		return nil
	}
	cell, _ := mc.Bindings[i].(*ssa.Alloc)
	return cell
}

// condWait notes, of a Cond.Wait on a Cond whose lock is known and not
// held in the function, that the lock is its caller's and is let go while
// Wait waits: a helper that waits on the caller's Cond does not wait
// under the Cond's lock.
func (f *flow) condWait(call *ssa.CallCommon, cur *state) {
	cond, ok := isCondWait(call)
	if !ok {
		return
	}
	mk, name, ok := f.c.lockOfCond(cond)
	if !ok {
		return
	}
	if _, held := cur.locks[mk]; !held {
		f.noteReleaseOf(strings.TrimSuffix(mk, "#r"), name, strings.HasSuffix(mk, "#r"), nil, f.c.condPtr(cond))
	}
}

// release removes a lock from cur, or records a release for the caller
// when the function did not take it.
func (f *flow) release(cur *state, key, name string, read bool, field, ptr *types.Var) {
	f.releaseAt(cur, key, name, read, field, ptr, nil)
}

// releaseAt is release by an unlock in a block that only paths on which
// lits hold reach; ptr, if not nil, is the kept pointer field through
// which the lock is reached (see effect.ptr).
func (f *flow) releaseAt(cur *state, key, name string, read bool, field, ptr *types.Var, lits []lit) {
	mk := sameLock(cur, modeKey(key, read), read, field)
	if ptr != nil {
		mk = f.c.pairedHeld(cur.locks, mk, read, ptr)
	}
	if h, ok := cur.locks[mk]; ok {
		if h.count > 1 {
			h.count--
			cur.locks[mk] = h
		} else {
			delete(cur.locks, mk)
		}
		if len(h.lits) > 0 && !f.outerLits(lits, h.lits) || h.cond != nil && !slices.Contains(lits, lit{v: h.cond}) {
			// Taken only where a condition held (if lazy {
			// mu.Lock() }, or a TryLock) and let go where it may
			// not have: there, this unlock lets go of the caller's
			// lock. An unlock under the same condition (if lazy {
			// mu.Unlock() }) only undoes the function's own lock.
			f.noteMaybeRelease(key, name, read, field)
		}
		return
	}
	f.noteReleaseOf(key, name, read, field, ptr)
}

// outerLits reports whether the conditions of have include every one of
// want.
func (f *flow) outerLits(have, want []lit) bool {
	for _, l := range want {
		if !slices.Contains(have, l) {
			return false
		}
	}
	return true
}

// sameLock returns the key in cur of the lock that an unlock of mk, a lock
// of the struct field given, releases: mk itself if it may be held; else
// the only lock held of the same field, reached through another root (a
// lock taken as db.mu and released as tx.db.mu, where tx.db is db); else
// mk.
func sameLock(cur *state, mk string, read bool, field *types.Var) string {
	if _, ok := cur.locks[mk]; ok || field == nil {
		return mk
	}
	found := ""
	for k, h := range cur.locks {
		if h.field == field && h.read == read {
			if found != "" {
				return mk
			}
			found = k
		}
	}
	return cmp.Or(found, mk)
}

// pairedHeld returns, for mk, a lock reached through the kept pointer
// field ptr (effect.ptr) that is not held under that name, the key of the
// held lock it is by the pairs of ptr (pairedKeys): for d.mu.versions.mu,
// d.mu.Mutex, if it is held, as a lock of the paired field, in the same
// mode, and not an element of a slice or map; mk otherwise.
func (c *checker) pairedHeld(locks lockset, mk string, read bool, ptr *types.Var) string {
	if _, ok := locks[mk]; ok {
		return mk
	}
	found := ""
	for _, p := range c.pairedKeys(strings.TrimSuffix(mk, "#r"), ptr) {
		k := modeKey(p.lock, read)
		if strings.Contains(k, "[") {
			// s[i].mu and s[j].mu are named alike.
			continue
		}
		if h, ok := locks[k]; ok && h.field == p.field {
			if found != "" && found != k {
				return mk
			}
			found = k
		}
	}
	return cmp.Or(found, mk)
}

// namedByOther reports whether a drop of eff other than e binds at st to
// the lock mk.
func (c *checker) namedByOther(st site, eff *lockEffects, e effect, mk string) bool {
	for _, o := range eff.drops {
		if sameLockOf(o, e) {
			continue
		}
		if key, _, read, ok := c.bind(st, o); ok && modeKey(key, read) == mk {
			return true
		}
	}
	return false
}

// deferUnlock registers a deferred unlock of a lock, which runs at return
// and before every deferred call registered so far; one of a lock the
// function does not hold is a release for the caller.
func (f *flow) deferUnlock(cur *state, key, name string, read bool, field, ptr *types.Var) {
	mk := sameLock(cur, modeKey(key, read), read, field)
	if ptr != nil {
		mk = f.c.pairedHeld(cur.locks, mk, read, ptr)
	}
	if _, ok := cur.locks[mk]; !ok {
		f.noteReleaseOf(key, name, read, field, ptr)
	}
	cur.unlocks[mk] = min(cur.unlocks[mk]+1, maxCount)
	for d, after := range cur.pending {
		after = cloneMap(after)
		after[mk] = min(after[mk]+1, maxCount)
		cur.pending[d] = after
	}
}

// noteReleaseOf records a release of a lock the function did not take,
// for its caller; in a loop body, for the caller of the enclosing
// function. ptr, if not nil, is the kept pointer field through which the
// lock is let go (see effect.ptr).
func (f *flow) noteReleaseOf(key, name string, read bool, field, ptr *types.Var) {
	for f.outer != nil {
		f = f.outer
	}
	if e, ok := f.c.releaseOf(f.fn, key, name, read, field); ok {
		e.ptr = ptr
		f.released[modeKey(key, read)] = e
		delete(f.maybeOwn, modeKey(key, read))
	}
}

// noteMaybeRelease records a release of a lock the function took on some
// paths only: the caller's on the others. Unless another unlock surely
// lets go of the caller's, the lock may also be the function's own at a
// return, and is taken for the caller there.
func (f *flow) noteMaybeRelease(key, name string, read bool, field *types.Var) {
	for f.outer != nil {
		f = f.outer
	}
	mk := modeKey(key, read)
	if _, ok := f.released[mk]; ok {
		return
	}
	if e, ok := f.c.releaseOf(f.fn, key, name, read, field); ok {
		f.released[mk] = e
		f.maybeOwn[mk] = true
	}
}

// applyEffects applies to cur the locks that a call of a function of this
// package leaves held or releases.
func (f *flow) applyEffects(call *ssa.Call, cur *state) {
	eff, st := f.c.effectsAt(f.c.callOf(call), f.fn, f.env)
	if eff == nil {
		return
	}
	for _, e := range eff.released {
		if key, name, read, ok := f.c.bind(st, e); ok {
			for range e.times() {
				// A release for good through a kept pointer field is not
				// taken for the caller's lock under another name: the
				// function may take it back under that name (defer
				// vs.mu.Lock()), which the effect does not follow.
				f.release(cur, key, name, read, e.field, nil)
			}
		}
	}
	// A lock that the callee unlocks for a while and takes again
	// (Unlock; wait; Lock) is, if this function did not take it either,
	// one of this function's caller's: it drops it too, so that the second
	// analysis of effectsOf can say whether this function waits holding
	// it, whatever the depth of the call that lets it go.
	for _, e := range eff.drops {
		if slices.ContainsFunc(eff.released, func(r effect) bool { return sameLockOf(r, e) }) {
			continue
		}
		if key, name, read, ok := f.c.bind(st, e); ok {
			mk := sameLock(cur, modeKey(key, read), read, e.field)
			if e.ptr != nil {
				mk = f.c.pairedHeld(cur.locks, mk, read, e.ptr)
			}
			if _, held := cur.locks[mk]; !held {
				if slices.ContainsFunc(eff.acquired, func(a effect) bool { return sameLockOf(a, e) }) {
					// It may also take the lock for itself.
					f.noteMaybeRelease(key, name, read, e.field)
				} else {
					f.noteReleaseOf(key, name, read, e.field, e.ptr)
				}
			}
		}
	}
	for _, e := range eff.acquired {
		if key, name, read, ok := f.c.bind(st, e); ok {
			h := held{name: name, pos: call.Pos(), read: read, field: e.field}
			if e.nilErr {
				h.nilErr = result(call, e.result)
			} else {
				h.cond = result(call, e.result)
			}
			acquire(cur, key, h)
			if mk := modeKey(key, read); read && e.times() > 1 {
				// A helper that read-locks more than once.
				h := cur.locks[mk]
				h.count = min(h.count+e.times()-1, maxCount)
				cur.locks[mk] = h
			}
		}
	}
}

// result returns the value of the call's result that is true wherever a
// lock it took is held, given 1 + its index; or nil.
func result(call *ssa.Call, i int) ssa.Value {
	if i == 0 {
		return nil
	}
	if call.Common().Signature().Results().Len() == 1 {
		return call
	}
	for _, ref := range *call.Referrers() {
		if x, ok := ref.(*ssa.Extract); ok && x.Index == i-1 {
			return x
		}
	}
	return nil
}

// ret is a return of a function with the state there.
type ret struct {
	*ssa.Return
	st *state
}

// returns returns each reached return of f's function.
func (f *flow) returns() []ret {
	var rets []ret
	for _, b := range f.fn.Blocks {
		if f.in[b.Index] == nil || len(b.Instrs) == 0 {
			continue
		}
		r, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return)
		if !ok {
			continue
		}
		f.transfer(b, f.in[b.Index], func(instr ssa.Instruction, cur *state) {
			if instr == r {
				rets = append(rets, ret{r, cur})
			}
		})
	}
	return rets
}

// resultFor returns 1 + the index of a result of f's function that tells
// whether the lock mk is held at its returns, the result of a TryLock
// helper; or 0. It is a bool that is true at every return where the lock
// may be held, or else (nilErr) an error that is nil at each of them: a
// helper that locks, and unlocks again and returns the error when it
// fails.
func (f *flow) resultFor(mk string, rets []ret) (i int, nilErr bool) {
	results := f.fn.Signature.Results()
	for i := range results.Len() {
		if b, ok := results.At(i).Type().Underlying().(*types.Basic); !ok || b.Kind() != types.Bool {
			continue
		}
		ok := true
		for _, r := range rets {
			h, held := r.st.locks[mk]
			if !held {
				continue
			}
			v := r.Results[i]
			if k, isConst := v.(*ssa.Const); isConst && k.Value != nil && constant.BoolVal(k.Value) {
				continue
			}
			if h.cond == nil || v != h.cond {
				ok = false
				break
			}
		}
		if ok {
			return i + 1, false
		}
	}
	for i := range results.Len() {
		if !types.Identical(results.At(i).Type(), errorType) {
			continue
		}
		ok, some := true, false
		for _, r := range rets {
			if _, held := r.st.locks[mk]; !held {
				some = true
				continue
			}
			if k, isConst := r.Results[i].(*ssa.Const); !isConst || !k.IsNil() {
				ok = false
				break
			}
		}
		if ok && some {
			return i + 1, true
		}
	}
	return 0, false
}

var errorType = types.Universe.Lookup("error").Type()
