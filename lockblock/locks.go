package lockblock

import (
	"cmp"
	"fmt"
	"go/constant"
	"go/token"
	"go/types"
	"maps"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// A lockOp is what a call does to a lock.
type lockOp int

const (
	notLockOp lockOp = iota
	opLock
	opRLock
	opUnlock
	opRUnlock
	opTryLock
	opTryRLock
)

var lockMethods = map[string]lockOp{
	"(*sync.Mutex).Lock":       opLock,
	"(*sync.Mutex).Unlock":     opUnlock,
	"(*sync.Mutex).TryLock":    opTryLock,
	"(*sync.RWMutex).Lock":     opLock,
	"(*sync.RWMutex).Unlock":   opUnlock,
	"(*sync.RWMutex).TryLock":  opTryLock,
	"(*sync.RWMutex).RLock":    opRLock,
	"(*sync.RWMutex).RUnlock":  opRUnlock,
	"(*sync.RWMutex).TryRLock": opTryRLock,
}

// lockCall returns what call does to a lock, and the lock.
func lockCall(call *ssa.CallCommon) (lockOp, ssa.Value) {
	if call.IsInvoke() {
		return notLockOp, nil
	}
	callee := call.StaticCallee()
	if callee == nil {
		return notLockOp, nil
	}
	obj, ok := callee.Object().(*types.Func)
	if !ok {
		return notLockOp, nil
	}
	op := lockMethods[obj.FullName()]
	if op == notLockOp {
		return notLockOp, nil
	}
	// A method value (mu.Lock taken as a func) binds its receiver.
	if mc, ok := call.Value.(*ssa.MakeClosure); ok && len(mc.Bindings) == 1 {
		return op, mc.Bindings[0]
	}
	if len(call.Args) == 0 {
		return notLockOp, nil
	}
	return op, call.Args[0]
}

// held is one lock that may be held.
type held struct {
	name     string    // as the message names it: "s.mu"
	pos      token.Pos // where it was taken
	read     bool      // by RLock or TryRLock
	deferred bool      // an unlock is deferred on every path here: it is released at return
}

// A lockset maps the key of each lock that may be held to how it was
// taken. A read lock's key ends in "#r", so that RUnlock and Unlock of one
// RWMutex release only what they should. A lockset is never changed once
// it is stored in a block's entry state.
type lockset map[string]held

func modeKey(key string, read bool) string {
	if read {
		return key + "#r"
	}
	return key
}

// union adds src to dst, copying dst if it changes, and reports whether
// it did. A nil dst is a block not yet reached.
func union(dst, src lockset) (lockset, bool) {
	if dst == nil {
		return maps.Clone(src), true
	}
	var out lockset
	for k, h := range src {
		if d, ok := dst[k]; ok && (d.deferred == h.deferred || !d.deferred) {
			continue
		}
		if out == nil {
			out = maps.Clone(dst)
		}
		if d, ok := dst[k]; ok {
			// Deferred on one path only: it may still be held at return.
			h = d
			h.deferred = false
		}
		out[k] = h
	}
	if out == nil {
		return dst, false
	}
	return out, true
}

// An effect is a lock that a function leaves held, or releases, for its
// caller: one reached from a parameter, a captured variable or a package
// variable, which the caller can name too.
type effect struct {
	root       string // "p0" (parameter 0), "f1" (free variable 1), or a global's key
	suffix     string // the path from the root: ".mu"
	nameSuffix string
	name       string // the whole name in the function, for a caller that has none
	read       bool
}

// lockEffects is what a function does to its caller's locks.
type lockEffects struct {
	acquired []effect // may be held at some return
	released []effect // unlocked without having been locked in the function
}

// flow is the lock-set analysis of one function.
type flow struct {
	c        *checker
	fn       *ssa.Function
	in       []lockset         // entry state of each block; nil if not reached
	released map[string]effect // by modeKey
}

// analyze runs the lock-set analysis of fn once and returns it, or nil if
// fn neither takes a lock nor calls a function of this package that leaves
// one held or releases one.
func (c *checker) analyze(fn *ssa.Function) *flow {
	info := c.funcs[fn]
	if info == nil || info.visiting {
		return nil
	}
	if info.flow != nil || info.effects != nil {
		return info.flow
	}
	info.visiting = true
	defer func() { info.visiting = false }()
	info.effects = &lockEffects{}
	if !c.touchesLocks(fn) {
		return nil
	}
	f := &flow{c: c, fn: fn, in: make([]lockset, len(fn.Blocks)), released: map[string]effect{}}
	f.solve(lockset{})
	info.flow = f
	info.effects = f.effects()
	if len(info.effects.released) > 0 {
		info.holding = c.blocksHolding(fn, info.effects.released)
	}
	return f
}

// blocksHolding returns, of the caller's locks that fn releases, those
// that fn may still hold at one of its blocking operations: a helper such
// as updateStateAndUnlock that unlocks before it waits does not make its
// caller wait under that lock.
func (c *checker) blocksHolding(fn *ssa.Function, released []effect) map[string]bool {
	entry := lockset{}
	for _, e := range released {
		entry[modeKey(e.root+e.suffix, e.read)] = held{read: e.read}
	}
	g := &flow{c: c, fn: fn, in: make([]lockset, len(fn.Blocks)), released: map[string]effect{}}
	g.solve(entry)
	holding := map[string]bool{}
	g.visit(func(instr ssa.Instruction, cur lockset) {
		_, locks := c.blockedAt(instr, cur)
		for mk := range locks {
			if _, ok := entry[mk]; ok {
				holding[mk] = true
			}
		}
	})
	return holding
}

// visit runs fn with the solved entry states and shows each instruction,
// but a deferred call, with the locks that may be held before it.
func (f *flow) visit(see func(ssa.Instruction, lockset)) {
	for _, b := range f.fn.Blocks {
		if f.in[b.Index] == nil {
			continue
		}
		f.transfer(b, f.in[b.Index], func(instr ssa.Instruction, cur lockset) {
			if _, ok := instr.(*ssa.Defer); ok {
				// It runs at return, not here.
				return
			}
			see(instr, cur)
		})
	}
}

// heldAcross returns the locks of cur that stay held while instr, which
// may block as bl says, waits: not the Cond's own lock during its Wait,
// nor a lock that a called function of this package releases before it
// blocks.
func (c *checker) heldAcross(instr ssa.Instruction, bl blocker, cur lockset) lockset {
	locks := cur
	if bl.cond != nil {
		locks = c.withoutCondLock(bl.cond, locks)
	}
	call, ok := instr.(*ssa.Call)
	if !ok || len(locks) == 0 {
		return locks
	}
	eff := c.effectsAt(call.Common())
	if eff == nil || len(eff.released) == 0 {
		return locks
	}
	holding := c.funcs[c.localCallee(call.Common())].holding
	var out lockset
	for _, e := range eff.released {
		if holding[modeKey(e.root+e.suffix, e.read)] {
			continue
		}
		key, _, ok := c.bind(call.Common(), e)
		if !ok {
			continue
		}
		if _, ok := locks[modeKey(key, e.read)]; ok {
			if out == nil {
				out = maps.Clone(locks)
			}
			delete(out, modeKey(key, e.read))
		}
	}
	if out == nil {
		return locks
	}
	return out
}

// touchesLocks reports whether fn takes or releases a lock, itself or
// through a function of this package.
func (c *checker) touchesLocks(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			call := callOf(instr)
			if call == nil {
				continue
			}
			if op, _ := lockCall(call); op != notLockOp {
				return true
			}
			if e := c.effectsAt(call); e != nil && (len(e.acquired) > 0 || len(e.released) > 0) {
				return true
			}
		}
	}
	return false
}

// effectsAt returns the effects of the function of this package that call
// runs, when its arguments line up with that function's parameters; or
// nil.
func (c *checker) effectsAt(call *ssa.CallCommon) *lockEffects {
	callee := c.localCallee(call)
	if callee == nil {
		return nil
	}
	direct := call.StaticCallee()
	if o := direct.Origin(); o != nil {
		direct = o
	}
	if direct != callee {
		// A wrapper (a bound method, say) whose parameters do not line up
		// with the declared function's.
		return nil
	}
	c.analyze(callee)
	return c.funcs[callee].effects
}

// solve computes the entry state of each block, from entry at the first.
func (f *flow) solve(entry lockset) {
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

// pendingTry is a TryLock whose result decides whether its lock is held.
type pendingTry struct {
	key string
	h   held
}

// transfer runs block b from entry state in and returns the state on each
// edge out of it. visit, if not nil, sees each instruction with the state
// before it.
func (f *flow) transfer(b *ssa.BasicBlock, in lockset, visit func(ssa.Instruction, lockset)) []lockset {
	cur := maps.Clone(in)
	var tries map[ssa.Value]pendingTry
	for _, instr := range b.Instrs {
		if visit != nil {
			visit(instr, cur)
		}
		switch in := instr.(type) {
		case *ssa.Call:
			op, lock := lockCall(in.Common())
			switch op {
			case notLockOp:
				f.applyEffects(in.Common(), in.Pos(), cur, false)
			case opLock, opRLock:
				key, h := f.c.lockAt(lock, in.Pos(), op == opRLock)
				cur[modeKey(key, h.read)] = h
			case opUnlock, opRUnlock:
				key, name := f.c.path(lock)
				f.release(cur, key, name, op == opRUnlock)
			case opTryLock, opTryRLock:
				key, h := f.c.lockAt(lock, in.Pos(), op == opTryRLock)
				if tries == nil {
					tries = map[ssa.Value]pendingTry{}
				}
				tries[in] = pendingTry{modeKey(key, h.read), h}
			}
		case *ssa.Defer:
			// A deferred unlock runs at return: the lock stays held until
			// then. One that releases a lock the function did not take is
			// a release for the caller.
			switch op, lock := lockCall(in.Common()); op {
			case opUnlock, opRUnlock:
				key, name := f.c.path(lock)
				f.deferRelease(cur, key, name, op == opRUnlock)
			case notLockOp:
				f.applyEffects(in.Common(), in.Pos(), cur, true)
			}
		case *ssa.RunDefers:
			for k, h := range cur {
				if h.deferred {
					delete(cur, k)
				}
			}
		}
	}
	outs := make([]lockset, len(b.Succs))
	for i := range outs {
		outs[i] = cur
	}
	if len(tries) == 0 {
		return outs
	}
	// A TryLock tested by the If that ends the block holds its lock only
	// on the branch where it succeeded; any other is held on every edge.
	var tested ssa.Value
	taken := 0
	if iff, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If); ok {
		tested = iff.Cond
		if not, ok := tested.(*ssa.UnOp); ok && not.Op == token.NOT {
			tested, taken = not.X, 1
		}
	}
	for v, t := range tries {
		for i := range outs {
			if v == tested && i != taken {
				continue
			}
			outs[i] = maps.Clone(outs[i])
			outs[i][t.key] = t.h
		}
	}
	return outs
}

// release removes a lock from cur, or records a release for the caller
// when the function did not take it.
func (f *flow) release(cur lockset, key, name string, read bool) {
	mk := modeKey(key, read)
	if _, ok := cur[mk]; ok {
		delete(cur, mk)
		return
	}
	f.noteRelease(key, name, read)
}

// deferRelease marks a lock of cur as released at return, or records a
// release for the caller when the function did not take it.
func (f *flow) deferRelease(cur lockset, key, name string, read bool) {
	mk := modeKey(key, read)
	if h, ok := cur[mk]; ok {
		h.deferred = true
		cur[mk] = h
		return
	}
	f.noteRelease(key, name, read)
}

func (f *flow) noteRelease(key, name string, read bool) {
	if e, ok := f.c.effectOf(f.fn, key, name, read); ok {
		f.released[modeKey(key, read)] = e
	}
}

// applyEffects applies to cur the locks that a call of a function of this
// package leaves held or releases; for a deferred call, the releases
// happen at return, and what it would leave held is not tracked.
func (f *flow) applyEffects(call *ssa.CallCommon, pos token.Pos, cur lockset, deferred bool) {
	eff := f.c.effectsAt(call)
	if eff == nil {
		return
	}
	for _, e := range eff.released {
		if key, name, ok := f.c.bind(call, e); ok {
			if deferred {
				f.deferRelease(cur, key, name, e.read)
			} else {
				f.release(cur, key, name, e.read)
			}
		}
	}
	if deferred {
		return
	}
	for _, e := range eff.acquired {
		if key, name, ok := f.c.bind(call, e); ok {
			cur[modeKey(key, e.read)] = held{name: name, pos: pos, read: e.read}
		}
	}
}

// effects returns the locks that fn leaves held at some return, or
// released, for its caller.
func (f *flow) effects() *lockEffects {
	eff := &lockEffects{released: slices.Collect(maps.Values(f.released))}
	atReturn := lockset{}
	for _, b := range f.fn.Blocks {
		if f.in[b.Index] == nil || len(b.Instrs) == 0 {
			continue
		}
		if _, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); !ok {
			continue
		}
		f.transfer(b, f.in[b.Index], func(instr ssa.Instruction, cur lockset) {
			if _, ok := instr.(*ssa.Return); ok {
				atReturn, _ = union(atReturn, cur)
			}
		})
	}
	for mk, h := range atReturn {
		key := strings.TrimSuffix(mk, "#r")
		if e, ok := f.c.effectOf(f.fn, key, h.name, h.read); ok {
			eff.acquired = append(eff.acquired, e)
		}
	}
	sortEffects(eff.acquired)
	sortEffects(eff.released)
	return eff
}

func sortEffects(es []effect) {
	slices.SortFunc(es, func(a, b effect) int {
		return cmp.Or(cmp.Compare(a.root, b.root), cmp.Compare(a.suffix, b.suffix))
	})
}

// effectOf returns the effect for a lock of fn with the given key and
// name, if the caller can name it.
func (c *checker) effectOf(fn *ssa.Function, key, name string, read bool) (effect, bool) {
	root := rootOf(key)
	var rootName string
	switch {
	case strings.HasPrefix(root, "g{"):
		rootName, _, _ = strings.Cut(name, ".")
	case strings.HasPrefix(root, "p"):
		i, _ := strconv.Atoi(root[1:])
		rootName = fn.Params[i].Name()
	case strings.HasPrefix(root, "f"):
		i, _ := strconv.Atoi(root[1:])
		rootName = fn.FreeVars[i].Name()
	default:
		return effect{}, false
	}
	return effect{
		root:       root,
		suffix:     key[len(root):],
		nameSuffix: strings.TrimPrefix(name, rootName),
		name:       name,
		read:       read,
	}, true
}

// bind returns the key and name, in the caller, of an effect of the
// function that call runs.
func (c *checker) bind(call *ssa.CallCommon, e effect) (key, name string, ok bool) {
	var arg ssa.Value
	switch {
	case strings.HasPrefix(e.root, "g{"):
		return e.root + e.suffix, strings.TrimPrefix(e.nameSuffix, "."), true
	case strings.HasPrefix(e.root, "p"):
		i, _ := strconv.Atoi(e.root[1:])
		if i >= len(call.Args) {
			return "", "", false
		}
		arg = call.Args[i]
	case strings.HasPrefix(e.root, "f"):
		i, _ := strconv.Atoi(e.root[1:])
		mc, ok := call.Value.(*ssa.MakeClosure)
		if !ok || i >= len(mc.Bindings) {
			return "", "", false
		}
		arg = mc.Bindings[i]
	default:
		return "", "", false
	}
	key, name = c.path(arg)
	if name == "" {
		return key + e.suffix, e.name, true
	}
	return key + e.suffix, name + e.nameSuffix, true
}

// rootOf returns the variable part of a lock key: "p0" of "p0.mu^".
func rootOf(key string) string {
	if strings.HasPrefix(key, "g{") {
		if i := strings.Index(key, "}"); i >= 0 {
			return key[:i+1]
		}
	}
	if i := strings.IndexAny(key, ".^["); i >= 0 {
		return key[:i]
	}
	return key
}

// lockAt returns the key of lock and how it is held after a Lock-like
// call at pos.
func (c *checker) lockAt(lock ssa.Value, pos token.Pos, read bool) (string, held) {
	key, name := c.path(lock)
	if src, ok := c.lockExpr[pos]; ok && (name == "" || strings.HasPrefix(key, "v")) {
		name = src
	}
	if name == "" {
		name = "a mutex"
	}
	return key, held{name: name, pos: pos, read: read}
}

// path returns a key that identifies the lock that v points to within
// its function, built from the variable it is reached from and the fields,
// elements and pointers on the way (p0.mu: field mu of parameter 0), and
// the name a message gives it. Two loads of one field give one key: a
// pointer field that is reassigned between Lock and Unlock is taken for
// the same lock.
func (c *checker) path(v ssa.Value) (key, name string) {
	switch v := v.(type) {
	case *ssa.Parameter:
		if i := slices.Index(v.Parent().Params, v); i >= 0 {
			return "p" + strconv.Itoa(i), v.Name()
		}
	case *ssa.FreeVar:
		if i := slices.Index(v.Parent().FreeVars, v); i >= 0 {
			return "f" + strconv.Itoa(i), v.Name()
		}
	case *ssa.Global:
		name := v.Name()
		if v.Pkg != nil && v.Pkg.Pkg != c.pass.Pkg {
			name = v.Pkg.Pkg.Name() + "." + name
		}
		return "g{" + v.RelString(nil) + "}", name
	case *ssa.Alloc:
		return "a" + v.Name(), v.Comment
	case *ssa.FieldAddr:
		key, name := c.path(v.X)
		f := fieldName(v.X.Type(), v.Field)
		return key + "." + f, join(name, f)
	case *ssa.Field:
		key, name := c.path(v.X)
		f := fieldName(v.X.Type(), v.Field)
		return key + "." + f, join(name, f)
	case *ssa.UnOp:
		if v.Op == token.MUL {
			key, name := c.path(v.X)
			return key + "^", name
		}
	case *ssa.IndexAddr:
		key, name := c.path(v.X)
		i := indexText(v.Index)
		return key + "[" + i + "]", name + "[" + i + "]"
	case *ssa.Index:
		key, name := c.path(v.X)
		i := indexText(v.Index)
		return key + "[" + i + "]", name + "[" + i + "]"
	case *ssa.Lookup:
		key, name := c.path(v.X)
		i := indexText(v.Index)
		return key + "[" + i + "]", name + "[" + i + "]"
	case *ssa.ChangeType:
		return c.path(v.X)
	case *ssa.MakeInterface:
		return c.path(v.X)
	}
	return "v" + v.Name(), ""
}

func join(name, field string) string {
	if name == "" {
		return ""
	}
	return name + "." + field
}

func indexText(v ssa.Value) string {
	if k, ok := v.(*ssa.Const); ok && k.Value != nil && k.Value.Kind() != constant.Unknown {
		return k.Value.ExactString()
	}
	return "..."
}

// structOf returns the struct type that t, or what t points to, is.
func structOf(t types.Type) *types.Struct {
	u := t.Underlying()
	if p, ok := u.(*types.Pointer); ok {
		u = p.Elem().Underlying()
	}
	s, _ := u.(*types.Struct)
	return s
}

func fieldName(t types.Type, i int) string {
	if s := structOf(t); s != nil && i < s.NumFields() {
		return s.Field(i).Name()
	}
	return "field" + strconv.Itoa(i)
}

func fieldVar(t types.Type, i int) *types.Var {
	if s := structOf(t); s != nil && i < s.NumFields() {
		return s.Field(i).Origin()
	}
	return nil
}

// checkFunc reports each blocking operation of fn at which a lock may be
// held.
func (c *checker) checkFunc(fn *ssa.Function) {
	f := c.analyze(fn)
	if f == nil {
		return
	}
	f.visit(func(instr ssa.Instruction, cur lockset) {
		if bl, locks := c.blockedAt(instr, cur); len(locks) > 0 {
			c.pass.Reportf(bl.pos, "%s", c.message(bl, locks))
		}
	})
}

// blockedAt returns how instr may block, if it may and is not silenced,
// and the locks of cur that stay held while it waits.
func (c *checker) blockedAt(instr ssa.Instruction, cur lockset) (blocker, lockset) {
	if len(cur) == 0 {
		return blocker{}, nil
	}
	bl, ok := c.blocking(instr)
	if !ok || c.dirs.silenced(c.pass.Fset, bl.pos) {
		return blocker{}, nil
	}
	return bl, c.heldAcross(instr, bl, cur)
}

// message says what blocks, which locks may be held and where they were
// taken, and how to fix it, in one line.
func (c *checker) message(bl blocker, locks lockset) string {
	hs := slices.SortedFunc(maps.Values(locks), func(a, b held) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.name, b.name))
	})
	taken := func(h held) string {
		if h.read {
			return "read-locked at " + c.where(h.pos)
		}
		return "locked at " + c.where(h.pos)
	}
	var which string
	if len(hs) == 1 {
		which = fmt.Sprintf("%s may be held (%s)", hs[0].name, taken(hs[0]))
	} else {
		parts := make([]string, len(hs))
		for i, h := range hs {
			parts[i] = fmt.Sprintf("%s (%s)", h.name, taken(h))
		}
		which = strings.Join(parts, " and ") + " may be held"
	}
	return fmt.Sprintf("%s while %s: copy what you need out of the lock and unlock it before the %s", bl.what, which, bl.noun)
}
