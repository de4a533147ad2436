package lockblock

import (
	"go/constant"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

// Emptied channels.
//
// A timer or a wake-up signal is often a channel with room, which each
// sender empties before it sends, under the lock that guards what the
// signal is about:
//
//	c.mu.Lock()
//	...
//	if len(c.wake) > 0 {
//		select {
//		case <-c.wake:
//		default:
//		}
//	}
//	c.wake <- d
//
// The receive, or the test that finds the channel empty, leaves room for
// one value; only another send could take it before this one, and none
// can if every send into the channel runs holding one lock, for every
// caller. Receivers only make more room. Such a send is not a wait when:
//
//   - its channel is an unexported struct field that the package sets
//     only to channels made there with a constant size above 0 and
//     stored nowhere else, whose address goes nowhere, and whose channels
//     are only sent into, received from, measured and closed, never
//     handed on (a receive-only copy may go anywhere); no struct holding
//     it is copied whole or kept in a slice, array, map or channel (which
//     append, copy and slices.Clone copy), and every one the package
//     makes is given its channel before its function returns;
//   - every send into the field, anywhere in the package, is such a send:
//     on every path to it, after the last thing that could have filled
//     the channel, is a select with a default case whose one other case
//     receives from it, or the branch where len(ch) == 0 (or
//     len(ch) < cap(ch)), with no lock taken or let go and no call between
//     that could send into it, let go of a lock or run code the package
//     cannot see; a select that sends into the field is no such send;
//   - every one of those sends runs holding the same sync.Mutex or
//     sync.RWMutex for writing (a field of the struct that holds the
//     channel, reached the same way from it, or a package variable,
//     through no pointer that could be swapped), whoever calls its
//     function: a function of the package that other packages cannot
//     call, that is not used as a value, called through an interface,
//     started as a goroutine or deferred, is entered holding what every
//     call of it holds, given the constants each passes.
//
// A value made elsewhere without its constructor, whose channel is nil,
// is taken not to be used, and a copy that another package makes is left
// to vet's copylocks. A lock let go through a func value or an interface
// method whose target is not known, before the room is made, is taken to
// be still held: its holder's own unlock would panic.

// maxMustDepth bounds how deep the calls that lead to an emptied send
// are followed, and maxMustContexts how many ways into them; beyond
// either, no send is taken to be emptied.
const (
	maxMustDepth    = 12
	maxMustContexts = 4000
)

// withInit returns src and the package's initializer, which SrcFuncs
// leaves out, and its func literals: it runs the initializers of the
// package's variables (var hook = c.poke).
func (c *checker) withInit(src []*ssa.Function) []*ssa.Function {
	fns := slices.Clone(src)
	var add func(fn *ssa.Function)
	add = func(fn *ssa.Function) {
		if fn == nil || slices.Contains(fns, fn) {
			return
		}
		fns = append(fns, fn)
		for _, anon := range fn.AnonFuncs {
			add(anon)
		}
	}
	add(c.pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA).Pkg.Func("init"))
	return fns
}

// emptiedSend reports whether send is a send into an emptied channel, as
// the comment above says.
func (c *checker) emptiedSend(send *ssa.Send) bool {
	return c.emptied[send]
}

// findEmptied records the sends into emptied channels of the package.
// It analyses the lock effects of some functions while blocking still
// takes those sends to wait, so it drops what it analysed when done.
func (c *checker) findEmptied(fns []*ssa.Function) {
	sends := map[*types.Var][]*ssa.Send{}
	bad := map[*types.Var]bool{}
	var order []*types.Var
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch in := instr.(type) {
				case *ssa.Send:
					fa, elem := chanHome(in.Chan)
					if fa == nil {
						if f := anyElemOf(in.Chan); f != nil {
							// m[k] <- v: a nil channel when k is not
							// there, and no drain before it.
							bad[f] = true
						}
						continue
					}
					v := fieldVar(fa.X.Type(), fa.Field)
					if v == nil || !elem && !c.buffered[v] {
						continue
					}
					if _, seen := sends[v]; !seen {
						order = append(order, v)
					}
					sends[v] = append(sends[v], in)
					if elem && (!drainedJustBefore(in) || !okGuarded(in)) || !elem && !c.roomBefore(in) {
						bad[v] = true
					}
				case *ssa.Select:
					for _, st := range in.States {
						if st.Dir != types.SendOnly {
							continue
						}
						if fa, _ := chanHome(st.Chan); fa != nil {
							bad[fieldVar(fa.X.Type(), fa.Field)] = true
						} else if f := anyElemOf(st.Chan); f != nil {
							bad[f] = true
						}
					}
				}
			}
		}
	}
	var candidates []*ssa.Send
	for _, v := range order {
		var ok bool
		if _, elem := chanHome(sends[v][0].Chan); elem {
			ok = c.emptiedElems(fns, v)
		} else {
			ok = c.emptiedField(fns, v)
		}
		if bad[v] || !ok {
			delete(sends, v)
			continue
		}
		candidates = append(candidates, sends[v]...)
	}
	if len(candidates) == 0 {
		return
	}
	held, ok := c.mustHeld(fns, candidates)
	for _, info := range c.funcs {
		info.flow, info.effects, info.visiting = nil, nil, false
	}
	clear(c.specEff)
	clear(c.spec)
	clear(c.specBusy)
	c.specGuessed = 0
	if !ok {
		return
	}
	for _, v := range order {
		ss := sends[v]
		if len(ss) == 0 {
			continue
		}
		var common map[string]bool
		for _, s := range ss {
			h, reached := held[s]
			if !reached {
				// Run by no caller at all.
				continue
			}
			// The lock and the channel hang from one struct, reached
			// through no pointer that could be swapped between them;
			// a mutex reached through a pointer may be another each
			// time.
			fa, _ := chanHome(s.Chan)
			base, _ := c.path(fa.X)
			mine := map[string]bool{}
			for k := range h {
				if strings.Contains(k, "^") {
					continue
				}
				switch {
				case strings.HasPrefix(k, "g{"):
					mine[k] = true
				case !strings.Contains(base, "^") && strings.HasPrefix(k, base+"."):
					mine[k[len(base):]] = true
				}
			}
			if common == nil {
				common = mine
				continue
			}
			for k := range common {
				if !mine[k] {
					delete(common, k)
				}
			}
		}
		if len(common) == 0 {
			continue
		}
		for _, s := range ss {
			c.emptied[s] = true
		}
	}
}

// chanHome returns the address of the field that the channel ch is
// loaded from, or of the map or slice field it is an element of (elem),
// as elemOf finds it; nil if neither.
func chanHome(ch ssa.Value) (fa *ssa.FieldAddr, elem bool) {
	if fa := fieldOfChan(ch); fa != nil {
		return fa, false
	}
	f := elemOf(ch)
	if f == nil {
		return nil, false
	}
	v := ch
	for range 8 {
		switch x := v.(type) {
		case *ssa.ChangeType:
			v = x.X
		case *ssa.UnOp:
			if a, ok := x.X.(*ssa.FieldAddr); ok {
				return a, true
			}
			v = x.X.(*ssa.IndexAddr).X
		case *ssa.Extract:
			switch t := x.Tuple.(type) {
			case *ssa.Lookup:
				v = t.X
			case *ssa.Next:
				v = t.Iter.(*ssa.Range).X
			}
		case *ssa.Lookup:
			v = x.X
		case *ssa.Slice:
			v = x.X
		}
	}
	return nil, false
}

// drainedJustBefore reports whether every path to send, a send into a
// channel taken from a map or slice field, passes a select with a default
// case whose one other case receives from the same channel value, with
// nothing between but steps that neither call, send, receive nor store.
func drainedJustBefore(send *ssa.Send) bool {
	ch := unconverted(send.Chan)
	const (
		busy = 1
		done = 2
	)
	state := map[*ssa.BasicBlock]int{}
	var back func(b *ssa.BasicBlock, upto int) bool
	back = func(b *ssa.BasicBlock, upto int) bool {
		for i := upto - 1; i >= 0; i-- {
			switch in := b.Instrs[i].(type) {
			case *ssa.Select:
				return !in.Blocking && len(in.States) == 1 && in.States[0].Dir == types.RecvOnly && unconverted(in.States[0].Chan) == ch
			case *ssa.UnOp:
				if in.Op == token.ARROW {
					return false
				}
			case *ssa.Extract, *ssa.BinOp, *ssa.If, *ssa.Jump, *ssa.Phi, *ssa.DebugRef, *ssa.FieldAddr,
				*ssa.Field, *ssa.IndexAddr, *ssa.Index, *ssa.MakeInterface, *ssa.ChangeType, *ssa.Convert:
			default:
				return false
			}
		}
		if upto == len(b.Instrs) {
			switch state[b] {
			case busy:
				// Round a loop with no drain on the way.
				return false
			case done:
				return true
			}
			state[b] = busy
		}
		if len(b.Preds) == 0 {
			return false
		}
		for _, p := range b.Preds {
			if !back(p, len(p.Instrs)) {
				return false
			}
		}
		if upto == len(b.Instrs) {
			state[b] = done
		}
		return true
	}
	return back(send.Block(), index(send))
}

// emptiedElems reports whether the map or slice field v, whose channels
// are sent into, is kept as an emptied element channel's must be: it is
// unexported, only read, resliced, grown with new channels with room
// (sent into, if at all, only before they are stored), and stored back,
// its channels go only into sends, receives, len, cap and close (a
// receive-only copy anywhere), and no struct that holds it is copied
// whole, seen as another type or kept in a container.
func (c *checker) emptiedElems(fns []*ssa.Function, v *types.Var) bool {
	c.prefill = true
	defer func() { c.prefill = false }()
	owner := fieldOwner(fns, v,
		func(load *ssa.UnOp) bool { return c.containerUses(load, v, 0) },
		func(st *ssa.Store) bool { return c.emptyOrGrown(st.Val, v) })
	return owner != nil && c.notCopied(fns, v, owner, false)
}

// roomBefore reports whether every path to send, back to the last thing
// that could have filled its channel, passes a point that leaves room in
// it (see the comment above).
func (c *checker) roomBefore(send *ssa.Send) bool {
	key, _ := c.path(send.Chan)
	home := homeOf(fieldOfChan(send.Chan))
	fields, globals, unsure := chanPath(send.Chan)
	if unsure {
		return false
	}
	same := func(ch ssa.Value) bool {
		k, _ := c.path(ch)
		return k == key
	}
	seen := map[*ssa.Function]bool{}
	// clean reports whether instr, between the room and the send, cannot
	// fill the channel or let go of the lock; room, whether it makes room.
	clean := func(instr ssa.Instruction) (room, ok bool) {
		switch in := instr.(type) {
		case *ssa.Select:
			if !in.Blocking && len(in.States) == 1 && in.States[0].Dir == types.RecvOnly && same(in.States[0].Chan) {
				return true, true
			}
			for _, st := range in.States {
				if st.Dir == types.SendOnly && same(st.Chan) {
					return false, false
				}
			}
		case *ssa.Send:
			if same(in.Chan) {
				return false, false
			}
		case *ssa.Store:
			if storesPath(in, fields, globals) || holdsLock(in.Val.Type(), 0) {
				return false, false
			}
		case *ssa.Call:
			if _, builtin := in.Call.Value.(*ssa.Builtin); builtin {
				return false, true
			}
			if c.runsCode(in.Common()) {
				// Code of the program run from outside the package
				// (a Write method, a less func) may let go of the lock
				// or send.
				return false, false
			}
			if _, wait := isCondWait(in.Common()); wait || c.lockCall(in.Common()).op != notLockOp {
				// The lock that keeps other senders out must be held
				// from the room to the send.
				return false, false
			}
			callee := in.Call.StaticCallee()
			if callee == nil || c.foreignUnseen(callee) {
				// A func value or an interface's method may send, and
				// a function of another package may run code the
				// program gave it before (a hook, a flag's Set).
				return false, false
			}
			if !seen[callee] {
				seen[callee] = true
				if touches(callee, home, fields, globals, seen) || c.letsGo(callee, map[*ssa.Function]bool{}) {
					return false, false
				}
			}
		}
		return false, true
	}
	whole := map[*ssa.BasicBlock]bool{}
	var back func(b *ssa.BasicBlock, upto int) bool
	back = func(b *ssa.BasicBlock, upto int) bool {
		for i := upto - 1; i >= 0; i-- {
			room, ok := clean(b.Instrs[i])
			if room {
				return true
			}
			if !ok {
				return false
			}
		}
		if upto < len(b.Instrs) {
			// The part of send's block before it; reached again round a
			// loop, the whole block is read.
		} else if whole[b] {
			return true
		} else {
			whole[b] = true
		}
		if len(b.Preds) == 0 {
			return false
		}
	preds:
		for _, p := range b.Preds {
			if at := c.emptyEdge(p, b, same); at >= 0 {
				// The test's own block, from the len to the branch.
				for _, instr := range p.Instrs[at+1:] {
					if _, ok := clean(instr); !ok {
						return false
					}
				}
				continue preds
			}
			if !back(p, len(p.Instrs)) {
				return false
			}
		}
		return true
	}
	return back(send.Block(), index(send))
}

// pureStd holds the packages of the standard library whose functions run
// no code of the program but what they are handed.
var pureStd = map[string]bool{
	"bytes": true, "container/list": true, "errors": true, "math": true,
	"math/bits": true, "slices": true, "maps": true, "strconv": true,
	"strings": true, "sync/atomic": true, "time": true, "unicode": true,
	"unicode/utf8": true, "unicode/utf16": true,
}

// foreignUnseen reports whether fn is a function of another package that
// may run code of the program it was not handed at the call.
func (c *checker) foreignUnseen(fn *ssa.Function) bool {
	if c.funcs[fn] != nil {
		return false
	}
	if o := fn.Origin(); o != nil && c.funcs[o] != nil {
		return false
	}
	if fn.Pkg != nil && fn.Pkg.Pkg == c.pass.Pkg {
		return false
	}
	obj, ok := fn.Object().(*types.Func)
	if !ok || obj.Pkg() == nil {
		return true
	}
	return !pureStd[obj.Pkg().Path()]
}

// letsGo reports whether fn, or a function it calls, may let go of a
// lock: it unlocks one, waits on a sync.Cond, or calls a func value or an
// interface's method, which may.
func (c *checker) letsGo(fn *ssa.Function, seen map[*ssa.Function]bool) bool {
	if seen[fn] || len(seen) > maxRecursionWalk {
		return len(seen) > maxRecursionWalk
	}
	seen[fn] = true
	if c.foreignUnseen(fn) {
		return true
	}
	if len(fn.Blocks) == 0 {
		return false
	}
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if st, ok := instr.(*ssa.Store); ok && holdsLock(st.Val.Type(), 0) {
				// A mutex overwritten is let go.
				return true
			}
			call, ok := instr.(ssa.CallInstruction)
			if !ok {
				continue
			}
			common := call.Common()
			if c.runsCode(common) {
				return true
			}
			switch c.lockCall(common).op {
			case opUnlock, opRUnlock:
				return true
			}
			if _, wait := isCondWait(common); wait {
				return true
			}
			if _, builtin := common.Value.(*ssa.Builtin); builtin {
				continue
			}
			callee := common.StaticCallee()
			if callee == nil || c.letsGo(callee, seen) {
				return true
			}
		}
	}
	for _, anon := range fn.AnonFuncs {
		if c.letsGo(anon, seen) {
			return true
		}
	}
	return false
}

// mutexLock reports whether call is the Lock of a sync.Mutex or of a
// sync.RWMutex, not of a sync.Locker, which may be a read lock.
func mutexLock(call *ssa.CallCommon) bool {
	if call.IsInvoke() {
		return false
	}
	callee := call.StaticCallee()
	if callee == nil {
		return false
	}
	obj, ok := callee.Object().(*types.Func)
	if !ok {
		return false
	}
	switch obj.FullName() {
	case "(*sync.Mutex).Lock", "(*sync.RWMutex).Lock":
		return true
	}
	return false
}

// storesLock reports whether fn, or a function of the package it calls,
// overwrites a mutex.
func (c *checker) storesLock(fn *ssa.Function, seen map[*ssa.Function]bool) bool {
	if seen[fn] || len(seen) > maxRecursionWalk {
		return len(seen) > maxRecursionWalk
	}
	seen[fn] = true
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.Store:
				if holdsLock(in.Val.Type(), 0) {
					return true
				}
			case ssa.CallInstruction:
				if g := c.localCallee(in.Common()); g != nil && c.storesLock(g, seen) {
					return true
				}
			}
		}
	}
	return false
}

// runsCode reports whether call, of a function of another package, is
// handed a func value or an interface value, or anything holding one,
// through which that function may run code of the program.
func (c *checker) runsCode(call *ssa.CallCommon) bool {
	if call.IsInvoke() {
		return true
	}
	if _, builtin := call.Value.(*ssa.Builtin); builtin {
		return false
	}
	if c.localCallee(call) != nil {
		return false
	}
	for _, a := range call.Args {
		if holdsCode(a.Type(), 3) {
			return true
		}
	}
	return false
}

// holdsLock reports whether a value of type t holds a sync.Mutex or a
// sync.RWMutex, not through a pointer.
func holdsLock(t types.Type, depth int) bool {
	if depth > maxNest {
		return false
	}
	if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "sync" {
		switch n.Obj().Name() {
		case "Mutex", "RWMutex":
			return true
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			if holdsLock(u.Field(i).Type(), depth+1) {
				return true
			}
		}
	case *types.Array:
		return holdsLock(u.Elem(), depth+1)
	}
	return false
}

// emptyEdge returns the index in p of the len(ch) call that p tests, if
// the edge from p to b is taken only where the channel that same names
// has room: p tests len(ch) against 0, or against cap(ch); -1 if not.
func (c *checker) emptyEdge(p, b *ssa.BasicBlock, same func(ssa.Value) bool) int {
	if !c.roomEdge(p, b, same) {
		return -1
	}
	cond := p.Instrs[len(p.Instrs)-1].(*ssa.If).Cond.(*ssa.BinOp)
	for _, v := range []ssa.Value{cond.X, cond.Y} {
		if call, ok := v.(*ssa.Call); ok && call.Block() == p {
			if bi, ok := call.Call.Value.(*ssa.Builtin); ok && bi.Name() == "len" {
				return index(call)
			}
		}
	}
	// The length was taken elsewhere: something may have filled the
	// channel since.
	return -1
}

// roomEdge reports whether the edge from p to b is taken only where the
// channel that same names had room when its length was taken.
func (c *checker) roomEdge(p, b *ssa.BasicBlock, same func(ssa.Value) bool) bool {
	if len(p.Instrs) == 0 || len(p.Succs) != 2 {
		return false
	}
	iff, ok := p.Instrs[len(p.Instrs)-1].(*ssa.If)
	if !ok {
		return false
	}
	cond, ok := iff.Cond.(*ssa.BinOp)
	if !ok {
		return false
	}
	builtin := func(v ssa.Value, name string) bool {
		call, ok := v.(*ssa.Call)
		if !ok || len(call.Call.Args) != 1 {
			return false
		}
		bi, ok := call.Call.Value.(*ssa.Builtin)
		return ok && bi.Name() == name && same(call.Call.Args[0])
	}
	zero := func(v ssa.Value) bool {
		k, ok := v.(*ssa.Const)
		return ok && k.Value != nil && k.Value.String() == "0"
	}
	x, y, op := cond.X, cond.Y, cond.Op
	if !builtin(x, "len") {
		// 0 == len(ch), cap(ch) > len(ch): the same tests turned round.
		x, y = y, x
		switch op {
		case token.LSS:
			op = token.GTR
		case token.GTR:
			op = token.LSS
		case token.LEQ:
			op = token.GEQ
		case token.GEQ:
			op = token.LEQ
		}
	}
	if !builtin(x, "len") {
		return false
	}
	onTrue := b == p.Succs[0] && b != p.Succs[1]
	onFalse := b == p.Succs[1] && b != p.Succs[0]
	switch {
	case zero(y):
		switch op {
		case token.EQL, token.LEQ:
			return onTrue
		case token.NEQ, token.GTR:
			return onFalse
		}
	case builtin(y, "cap"):
		switch op {
		case token.LSS:
			return onTrue
		case token.GEQ, token.EQL:
			return onFalse
		}
	}
	return false
}

// emptiedField reports whether the field v, of channel type, is used as
// an emptied channel's must be: its address is taken only to load it or
// to store new channels with room into it (c.buffered says the stores
// are such), its channels go nowhere but into sends, receives, len, cap
// and close (a receive-only copy anywhere), and no struct that holds it
// is copied whole.
func (c *checker) emptiedField(fns []*ssa.Function, v *types.Var) bool {
	ok, seen := c.kept[v]
	if !seen {
		ok = c.keptField(fns, v)
		c.kept[v] = ok
	}
	return ok
}

// keptField is emptiedField, not remembered.
func (c *checker) keptField(fns []*ssa.Function, v *types.Var) bool {
	owner := fieldOwner(fns, v, func(load *ssa.UnOp) bool { return signalUses(load) }, ownChan)
	return owner != nil && c.notCopied(fns, v, owner, true)
}

// fieldOwner returns the struct type that holds the unexported field v,
// if the package uses the field only by loads that load accepts and
// stores into it that store accepts, and never reads it from a struct
// value (a copy); nil if not.
func fieldOwner(fns []*ssa.Function, v *types.Var, load func(*ssa.UnOp) bool, store func(*ssa.Store) bool) types.Type {
	if v.Exported() {
		// Other packages may send into it, or set it.
		return nil
	}
	var owner types.Type
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch in := instr.(type) {
				case *ssa.FieldAddr:
					if fieldVar(in.X.Type(), in.Field) != v {
						continue
					}
					owner = deref(in.X.Type())
					for _, ref := range *in.Referrers() {
						switch ref := ref.(type) {
						case *ssa.UnOp:
							if ref.Op != token.MUL || !load(ref) {
								return nil
							}
						case *ssa.Store:
							if ref.Addr != in || !store(ref) {
								return nil
							}
						case *ssa.DebugRef:
						default:
							return nil
						}
					}
				case *ssa.Field:
					if fieldVar(in.X.Type(), in.Field) == v {
						// A field of a struct value: a copy.
						return nil
					}
				}
			}
		}
	}
	return owner
}

// notCopied reports whether no struct of type owner, which holds the
// field v, is copied whole, seen as another type or kept in a container.
// If given, the field holds a channel that every struct the package
// makes must be given before its function returns, and that no zero
// value or package variable of it may lack.
func (c *checker) notCopied(fns []*ssa.Function, v *types.Var, owner types.Type, given bool) bool {
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				for _, op := range instr.Operands(nil) {
					if k, ok := (*op).(*ssa.Const); ok && given && holds(k.Type(), owner, 0) {
						// A zero value: its channel is nil.
						return false
					}
					if *op != nil && inContainer((*op).Type(), owner, false, 0) {
						// A slice, array, map or channel of the structs:
						// append, copy and slices.Clone copy them whole.
						return false
					}
				}
				var t types.Type
				switch in := instr.(type) {
				case *ssa.Alloc:
					// A value made here must be given its channel here.
					if given && !c.madeWith(in, v, owner) {
						return false
					}
					continue
				case *ssa.MakeSlice, *ssa.MakeMap:
					if holds(elemType(in.(ssa.Value).Type()), owner, 0) {
						return false
					}
					continue
				case *ssa.Store:
					t = in.Val.Type()
				case *ssa.UnOp:
					if in.Op != token.MUL {
						continue
					}
					t = in.Type()
				case *ssa.ChangeType, *ssa.Convert:
					// Another type's fields seen as the owner's, or the
					// owner's as another type's, whose field is another.
					from, to := deref((*in.Operands(nil)[0]).Type()), deref(in.(ssa.Value).Type())
					if !types.Identical(from, to) && (holds(from, owner, 0) || holds(to, owner, 0)) {
						return false
					}
					continue
				case ssa.CallInstruction:
					// A generic function made for the owner's type
					// (new(X), v := *p) makes or copies it unseen.
					if callee := in.Common().StaticCallee(); callee != nil {
						for _, ta := range callee.TypeArgs() {
							if holds(ta, owner, 0) || inContainer(ta, owner, false, 0) {
								return false
							}
						}
					}
					continue
				default:
					continue
				}
				if holds(t, owner, 0) {
					return false
				}
			}
		}
	}
	for _, m := range c.pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA).Pkg.Members {
		if g, ok := m.(*ssa.Global); ok && given && holds(deref(g.Type()), owner, 0) {
			return false
		}
	}
	return true
}

// madeWith reports whether alloc, if it holds a value of owner, is given
// a channel in its field v in its function, before every return.
func (c *checker) madeWith(alloc *ssa.Alloc, v *types.Var, owner types.Type) bool {
	t := deref(alloc.Type())
	if !holds(t, owner, 0) {
		return true
	}
	if _, ok := t.Underlying().(*types.Struct); !ok {
		return false
	}
	base, _ := c.path(alloc)
	for _, b := range alloc.Parent().Blocks {
		for _, instr := range b.Instrs {
			st, ok := instr.(*ssa.Store)
			if !ok {
				continue
			}
			fa, ok := st.Addr.(*ssa.FieldAddr)
			if !ok || fieldVar(fa.X.Type(), fa.Field) != v {
				continue
			}
			if k, _ := c.path(fa.X); (k == base || strings.HasPrefix(k, base+".")) && beforeReturns(b) && initOnly(alloc, st) {
				return true
			}
		}
	}
	return false
}

// initOnly reports whether every use of v (alloc, or the address of a
// field of it) that st, the store of its channel, does not come before is
// a store into one of its fields, or the address of one used so: nothing
// can reach the struct while its channel is still nil.
func initOnly(v ssa.Value, st *ssa.Store) bool {
	for _, ref := range *v.Referrers() {
		if ref == ssa.Instruction(st) || precedes(st, ref) {
			continue
		}
		switch r := ref.(type) {
		case *ssa.DebugRef:
		case *ssa.Store:
			if r.Addr != v {
				return false
			}
		case *ssa.FieldAddr:
			if !initOnly(r, st) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// precedes reports whether a runs before b on every path to b.
func precedes(a, b ssa.Instruction) bool {
	if a.Block() == b.Block() {
		return index(a) < index(b)
	}
	return a.Block().Dominates(b.Block())
}

// beforeReturns reports whether b comes before every return of its
// function, on every path.
func beforeReturns(b *ssa.BasicBlock) bool {
	for _, r := range b.Parent().Blocks {
		if len(r.Instrs) == 0 {
			continue
		}
		if _, ok := r.Instrs[len(r.Instrs)-1].(*ssa.Return); ok && !b.Dominates(r) {
			return false
		}
	}
	return true
}

// ownChan reports whether st stores a new channel with room, made with
// a constant size and stored nowhere else.
func ownChan(st *ssa.Store) bool {
	mc, ok := st.Val.(*ssa.MakeChan)
	if !ok {
		return false
	}
	if k, ok := mc.Size.(*ssa.Const); !ok || k.Value == nil || constant.Sign(k.Value) <= 0 {
		return false
	}
	for _, ref := range *mc.Referrers() {
		if _, debug := ref.(*ssa.DebugRef); !debug && ref != ssa.Instruction(st) {
			return false
		}
	}
	return true
}

// inContainer reports whether a value of type t holds a value of owner
// as an element of a slice, an array, a map or a channel (inside is
// whether t itself is such an element), not through a pointer.
func inContainer(t, owner types.Type, inside bool, depth int) bool {
	if depth > maxNest || t == nil {
		return false
	}
	if inside && types.Identical(t, owner) {
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			if inContainer(u.Field(i).Type(), owner, inside, depth+1) {
				return true
			}
		}
	case *types.Array:
		return inContainer(u.Elem(), owner, true, depth+1)
	case *types.Slice:
		return inContainer(u.Elem(), owner, true, depth+1)
	case *types.Map:
		return inContainer(u.Elem(), owner, true, depth+1) || inContainer(u.Key(), owner, true, depth+1)
	case *types.Chan:
		return inContainer(u.Elem(), owner, true, depth+1)
	}
	return false
}

// elemType returns the element type of a slice or a map type, or nil.
func elemType(t types.Type) types.Type {
	switch u := t.Underlying().(type) {
	case *types.Slice:
		return u.Elem()
	case *types.Map:
		return u.Elem()
	}
	return nil
}

// holds reports whether a value of type t holds a value of type owner,
// itself or in a field or an array element, not through a pointer.
func holds(t, owner types.Type, depth int) bool {
	if depth > maxNest || t == nil {
		return false
	}
	if types.Identical(t, owner) {
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Struct:
		for i := range u.NumFields() {
			if holds(u.Field(i).Type(), owner, depth+1) {
				return true
			}
		}
	case *types.Array:
		return holds(u.Elem(), owner, depth+1)
	}
	return false
}

// signalUses reports whether ch, a channel loaded from an emptied field,
// goes only into sends, receives, selects that receive, comparisons,
// len, cap and close, or is made receive-only: chanUses, but a conversion
// to another channel type that can still send is refused, not followed,
// since the sends that findEmptied checks are those into the field's
// loads themselves.
func signalUses(ch ssa.Value) bool {
	return chanOnly(ch, 0, false)
}

// mustHeld returns, for each of sends that some caller runs, the write
// locks held there on every way into it, by key; ok is false if the ways
// in were too many or too deep to follow.
func (c *checker) mustHeld(fns []*ssa.Function, sends []*ssa.Send) (map[*ssa.Send]map[string]bool, bool) {
	w := &mustWalk{
		c:      c,
		sends:  map[*ssa.Send]bool{},
		held:   map[*ssa.Send]map[string]bool{},
		seen:   map[string]bool{},
		toward: map[*ssa.Function]bool{},
	}
	for _, s := range sends {
		w.sends[s] = true
		w.toward[s.Parent()] = true
	}
	// The functions that lead to a send, by static calls; and those
	// whose every caller is known.
	callers := map[*ssa.Function][]*ssa.Function{}
	open := map[*ssa.Function]bool{}
	called := map[*ssa.Function]bool{}
	for _, fn := range fns {
		obj, _ := fn.Object().(*types.Func)
		if fn.Parent() != nil || fn.Synthetic != "" || obj == nil || obj.Exported() || c.yields[fn] != nil {
			open[fn] = true
		}
	}
	// A function that a //go:linkname directive names may be called from
	// another package.
	for _, f := range c.pass.Files {
		for _, cg := range f.Comments {
			for _, cm := range cg.List {
				if rest, ok := strings.CutPrefix(cm.Text, "//go:linkname "); ok {
					name, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
					for _, fn := range fns {
						if fn.Name() == name {
							open[fn] = true
						}
					}
				}
			}
		}
	}
	openMethod := map[string]bool{}
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if call, ok := instr.(ssa.CallInstruction); ok {
					common := call.Common()
					if common.IsInvoke() {
						openMethod[common.Method.Name()] = true
					} else if st, ok := c.siteOf(common); ok {
						callers[st.fn] = append(callers[st.fn], fn)
						called[st.fn] = true
						if _, plain := call.(*ssa.Call); !plain {
							open[st.fn] = true
						}
					}
				}
				for i, op := range instr.Operands(nil) {
					g, ok := (*op).(*ssa.Function)
					if !ok {
						continue
					}
					if call, isCall := instr.(*ssa.Call); isCall && i == 0 && call.Call.Value == g {
						continue
					}
					// Used as a value, or through a wrapper.
					if o := g.Origin(); o != nil {
						g = o
					}
					open[g] = true
					if obj, ok := g.Object().(*types.Func); ok {
						for _, h := range fns {
							if o, ok := h.Object().(*types.Func); ok && o.Origin() == obj.Origin() {
								open[h] = true
							}
						}
					}
				}
			}
		}
	}
	for _, fn := range fns {
		if obj, ok := fn.Object().(*types.Func); ok && openMethod[obj.Name()] && fn.Signature.Recv() != nil {
			open[fn] = true
		}
	}
	work := slices.Collect(func(yield func(*ssa.Function) bool) {
		for fn := range w.toward {
			if !yield(fn) {
				return
			}
		}
	})
	for len(work) > 0 {
		fn := work[len(work)-1]
		work = work[:len(work)-1]
		for _, g := range callers[fn] {
			if !w.toward[g] {
				w.toward[g] = true
				work = append(work, g)
			}
		}
	}
	for _, fn := range fns {
		if w.toward[fn] && (open[fn] || !called[fn]) {
			w.walk(fn, nil, nil, 0)
		}
	}
	return w.held, !w.failed
}

// A mustWalk follows the calls of the package that lead to sends, with
// the write locks held on entry and the constants passed.
type mustWalk struct {
	c      *checker
	sends  map[*ssa.Send]bool
	toward map[*ssa.Function]bool
	held   map[*ssa.Send]map[string]bool
	seen   map[string]bool
	failed bool
}

// walk follows fn entered with env holding entry.
func (w *mustWalk) walk(fn *ssa.Function, env bindings, entry map[string]bool, depth int) {
	if w.failed {
		return
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range entry {
			if !yield(k) {
				return
			}
		}
	})
	ctx := fn.String() + "|" + env.key() + "|" + strings.Join(keys, ",")
	if w.seen[ctx] {
		return
	}
	w.seen[ctx] = true
	if depth > maxMustDepth || len(w.seen) > maxMustContexts {
		w.failed = true
		return
	}
	c := w.c
	type next struct {
		fn    *ssa.Function
		env   bindings
		entry map[string]bool
	}
	var calls []next
	c.mustFlow(fn, env, entry, func(instr ssa.Instruction, cur map[string]bool) {
		switch in := instr.(type) {
		case *ssa.Send:
			if !w.sends[in] {
				return
			}
			h, ok := w.held[in]
			if !ok {
				w.held[in] = cloneMap(cur)
				return
			}
			for k := range h {
				if !cur[k] {
					delete(h, k)
				}
			}
		case *ssa.Call:
			st, ok := c.siteOf(in.Common())
			if !ok || !w.toward[st.fn] {
				return
			}
			_, consts := c.constArgs(in.Common(), fn, env)
			calls = append(calls, next{st.fn, consts, c.bindHeld(st, cur)})
		}
	})
	for _, n := range calls {
		w.walk(n.fn, n.env, n.entry, depth+1)
	}
}

// bindHeld returns the locks of cur, held at the call site st, as the
// function it runs names them: through the parameter each is reached
// from, or as a package variable.
func (c *checker) bindHeld(st site, cur map[string]bool) map[string]bool {
	out := map[string]bool{}
	for k := range cur {
		if strings.HasPrefix(k, "g{") {
			out[k] = true
		}
	}
	for j, arg := range st.params {
		ak, _ := c.path(arg)
		for k := range cur {
			if strings.HasPrefix(k, ak) && len(k) > len(ak) && (k[len(ak)] == '.' || k[len(ak)] == '^') {
				out["p"+strconv.Itoa(j)+k[len(ak):]] = true
			}
		}
	}
	return out
}

// mustFlow runs fn entered with env holding entry, and calls see before
// each instruction with the write locks held there on every path: taken
// by Lock and not yet let go by Unlock or by a call that releases it.
// Branches that env decides go one way only.
func (c *checker) mustFlow(fn *ssa.Function, env bindings, entry map[string]bool, see func(ssa.Instruction, map[string]bool)) {
	r := c.reach(fn, env)
	if r == nil {
		return
	}
	flags := env.hasFlags() || c.setsFlags(fn)
	in := make([]map[string]bool, len(fn.Blocks))
	in[0] = cloneMap(entry)
	work := []*ssa.BasicBlock{fn.Blocks[0]}
	if rb := fn.Recover; rb != nil && rb.Index != 0 && r[rb.Index] != nil {
		in[rb.Index] = map[string]bool{}
		work = append(work, rb)
	}
	step := func(b *ssa.BasicBlock, cur map[string]bool, see func(ssa.Instruction, map[string]bool)) {
		for _, instr := range b.Instrs {
			if see != nil {
				see(instr, cur)
			}
			if st, ok := instr.(*ssa.Store); ok && holdsLock(st.Val.Type(), 0) {
				// c.mu = sync.Mutex{} lets go of it.
				clear(cur)
				continue
			}
			call, ok := instr.(*ssa.Call)
			if !ok {
				continue
			}
			if callee := c.localCallee(call.Common()); callee != nil && c.storesLock(callee, map[*ssa.Function]bool{}) {
				clear(cur)
				continue
			}
			ref := c.lockCall(call.Common())
			switch ref.op {
			case opLock:
				if mutexLock(call.Common()) {
					cur[ref.key] = true
				}
				continue
			case opUnlock:
				delete(cur, ref.key)
				continue
			case notLockOp:
			default:
				continue
			}
			eff, st := c.effectsAt(call.Common(), fn, callEnv(call, r[b.Index]))
			if eff == nil {
				continue
			}
			for _, e := range append(slices.Clip(eff.drops), eff.released...) {
				if key, _, read, ok := c.bind(st, e); ok {
					if !read {
						delete(cur, key)
					}
				} else {
					clear(cur)
				}
			}
		}
	}
	for len(work) > 0 {
		b := work[len(work)-1]
		work = work[:len(work)-1]
		cur := cloneMap(in[b.Index])
		step(b, cur, nil)
		first, last := 0, len(b.Succs)
		if v, ok := c.branch(b, r[b.Index], flags, nil); ok {
			if v {
				last = 1
			} else {
				first = 1
			}
		}
		for _, s := range b.Succs[first:last] {
			if r[s.Index] == nil {
				continue
			}
			if in[s.Index] == nil {
				in[s.Index] = cloneMap(cur)
				work = append(work, s)
				continue
			}
			changed := false
			for k := range in[s.Index] {
				if !cur[k] {
					delete(in[s.Index], k)
					changed = true
				}
			}
			if changed {
				work = append(work, s)
			}
		}
	}
	for _, b := range fn.Blocks {
		if in[b.Index] != nil {
			step(b, cloneMap(in[b.Index]), see)
		}
	}
}
