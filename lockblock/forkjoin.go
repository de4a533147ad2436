package lockblock

import (
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// A WaitGroup that a function makes for itself, adds to, starts goroutines
// on and waits for (a fork and join: a copy split over GOMAXPROCS
// goroutines, say) waits only as long as those goroutines run. If none of
// them may block, the wait is for their work, not for another goroutine's
// whim or a peer, and it is not a wait this analysis reports; if one may,
// the Wait blocks for that reason. A WaitGroup that is a struct field, or
// that the function hands to anything but the goroutines it starts, may
// count goroutines started elsewhere, and its Wait blocks as before.

// forkJoin returns the functions of this package that the goroutines
// counted by the WaitGroup that call waits on run, if call is a Wait on a
// WaitGroup made in the calling function and only ever added to, waited
// on and handed to goroutines that the function starts (go f(&wg), go
// func() { defer wg.Done() ... }(), wg.Go(f)), each running a function of
// this package. ok is false otherwise.
func (c *checker) forkJoin(call *ssa.CallCommon) (gs []*ssa.Function, ok bool) {
	if call.IsInvoke() || len(call.Args) != 1 {
		return nil, false
	}
	fn := call.StaticCallee()
	if fn == nil || !isFunc(fn, "(*sync.WaitGroup).Wait") {
		return nil, false
	}
	alloc, ok := call.Args[0].(*ssa.Alloc)
	if !ok {
		return nil, false
	}
	started := func(v ssa.Value, args []ssa.Value) bool {
		g := c.goroutineFunc(v)
		if g == nil || !c.pureWork(g, map[*ssa.Function]bool{}) {
			return false
		}
		// Inside the goroutine the WaitGroup is only marked done: one
		// that adds to it, or hands it on, counts goroutines unseen here.
		for i, a := range args {
			if a == ssa.Value(alloc) && i < len(g.Params) && !onlyDone(g.Params[i]) {
				return false
			}
		}
		if mc, ok := v.(*ssa.MakeClosure); ok {
			for i, b := range mc.Bindings {
				if b == ssa.Value(alloc) && i < len(g.FreeVars) && !onlyDone(g.FreeVars[i]) {
					return false
				}
			}
		}
		gs = append(gs, g)
		return true
	}
	for _, ref := range *alloc.Referrers() {
		switch ref := ref.(type) {
		case *ssa.DebugRef:
		case *ssa.Call:
			cc := ref.Common()
			callee := cc.StaticCallee()
			if cc.IsInvoke() || callee == nil || len(cc.Args) == 0 || cc.Args[0] != alloc {
				return nil, false
			}
			switch {
			case isFunc(callee, "(*sync.WaitGroup).Add"), isFunc(callee, "(*sync.WaitGroup).Done"), isFunc(callee, "(*sync.WaitGroup).Wait"):
			case isFunc(callee, "(*sync.WaitGroup).Go") && len(cc.Args) == 2:
				if !started(cc.Args[1], nil) {
					return nil, false
				}
			default:
				return nil, false
			}
		case *ssa.Go:
			if !started(ref.Call.Value, ref.Call.Args) {
				return nil, false
			}
		case *ssa.MakeClosure:
			// Only as the function of a go statement or of wg.Go: the
			// closure's own referrers are those.
			for _, use := range *ref.Referrers() {
				switch use := use.(type) {
				case *ssa.DebugRef:
				case *ssa.Go:
					if use.Call.Value != ssa.Value(ref) || !started(ref, use.Call.Args) {
						return nil, false
					}
				case *ssa.Call:
					cc := use.Common()
					callee := cc.StaticCallee()
					if callee == nil || !isFunc(callee, "(*sync.WaitGroup).Go") || len(cc.Args) != 2 || cc.Args[1] != ssa.Value(ref) || cc.Args[0] != alloc || !started(ref, nil) {
						return nil, false
					}
				default:
					return nil, false
				}
			}
		default:
			return nil, false
		}
	}
	return gs, len(gs) > 0
}

// foreignPure reports whether call, of callee, a function of another
// package, can be taken for work: callee is of the standard library (whose
// locks are its own) and is handed no func value and no value of an
// interface type, nor anything that holds one, through which it could run
// code of the program (a less func that locks, a String method).
func (c *checker) foreignPure(callee *ssa.Function, call *ssa.CallCommon) bool {
	obj := callee.Object()
	if o := callee.Origin(); o != nil && o.Object() != nil {
		obj = o.Object()
	}
	if obj == nil || !c.inStd(obj.Pos()) {
		return false
	}
	for _, a := range call.Args {
		if holdsCode(a.Type(), 3) {
			return false
		}
	}
	return true
}

// holdsCode reports whether a value of type t may hold a func value or an
// interface value, looking depth levels deep.
func holdsCode(t types.Type, depth int) bool {
	if depth == 0 {
		return false
	}
	switch u := t.Underlying().(type) {
	case *types.Signature, *types.Interface:
		return true
	case *types.Pointer:
		return holdsCode(u.Elem(), depth-1)
	case *types.Slice:
		return holdsCode(u.Elem(), depth-1)
	case *types.Array:
		return holdsCode(u.Elem(), depth-1)
	case *types.Map:
		return holdsCode(u.Key(), depth-1) || holdsCode(u.Elem(), depth-1)
	case *types.Chan:
		return holdsCode(u.Elem(), depth-1)
	case *types.Struct:
		for i := range u.NumFields() {
			if holdsCode(u.Field(i).Type(), depth-1) {
				return true
			}
		}
	}
	return false
}

// goroutineFunc returns the function of this package that v, the function
// of a go statement, runs; or nil.
func (c *checker) goroutineFunc(v ssa.Value) *ssa.Function {
	if mc, ok := v.(*ssa.MakeClosure); ok {
		v = mc.Fn
	}
	g, ok := v.(*ssa.Function)
	if !ok {
		return nil
	}
	if o := g.Origin(); o != nil {
		g = o
	}
	if c.funcs[g] == nil {
		return nil
	}
	return g
}

// joinBlocks reports whether the Wait of a fork and join at pos, on the
// goroutines that run gs, may block: whether one of them may.
func (c *checker) joinBlocks(gs []*ssa.Function, pos token.Pos) (blocker, bool) {
	for _, io := range []bool{false, true} {
		if io && !c.cfg.io {
			break
		}
		for _, g := range gs {
			s := c.funcs[g].summary
			why, root := s.why, s.root
			if io {
				why, root = s.ioWhy, s.ioRoot
			}
			if why == "" {
				continue
			}
			desc := c.funcDesc(g)
			bl := blocker{
				what: "call to sync.WaitGroup.Wait, which waits for " + desc + ", which may block (" + c.shown(why) + ")",
				noun: "call",
				why:  c.via(desc, why),
				pos:  pos,
				root: root,
			}
			if io {
				bl.io = ioCategory(why)
				shown, _, _ := strings.Cut(c.shown(why), " [I/O: ")
				bl.what = "call to sync.WaitGroup.Wait, which waits for " + desc + ", which may wait for I/O (" + bl.io + ": " + shown + ")"
			}
			return bl, true
		}
	}
	return blocker{}, false
}

// onlyDone reports whether v, a *sync.WaitGroup within a goroutine's
// function, is only marked done there, directly or deferred.
func onlyDone(v ssa.Value) bool {
	for _, ref := range *v.Referrers() {
		var cc *ssa.CallCommon
		switch ref := ref.(type) {
		case *ssa.DebugRef:
			continue
		case *ssa.Call:
			cc = ref.Common()
		case *ssa.Defer:
			cc = ref.Common()
		case *ssa.UnOp:
			// The load of a captured variable.
			if ref.Op == token.MUL && onlyDone(ref) {
				continue
			}
			return false
		default:
			return false
		}
		callee := cc.StaticCallee()
		if cc.IsInvoke() || callee == nil || !isFunc(callee, "(*sync.WaitGroup).Done") || len(cc.Args) != 1 || cc.Args[0] != v {
			return false
		}
	}
	return true
}

// pureWork reports whether fn, run as a goroutine of a fork and join, only
// computes as far as this package can see: it takes no lock (the waiter
// may hold it: the join would then wait for ever), waits on no Cond, and
// calls no function value or interface method whose target is unknown
// (which may block unseen), itself or through the functions of this
// package it calls. Whether it blocks otherwise is its summary's to say.
func (c *checker) pureWork(fn *ssa.Function, seen map[*ssa.Function]bool) bool {
	if seen[fn] {
		return true
	}
	seen[fn] = true
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			var call *ssa.CallCommon
			switch in := instr.(type) {
			case *ssa.Call:
				call = in.Common()
			case *ssa.Defer:
				call = in.Common()
			case *ssa.Go:
				call = in.Common()
			default:
				continue
			}
			if callee := call.StaticCallee(); callee != nil && isFunc(callee, "(*sync.Once).Do") {
				// It waits for the Once's own lock, which a Do under
				// way holds.
				return false
			}
			if _, isGo := instr.(*ssa.Go); !isGo {
				call = c.runs(call)
			}
			if call.IsInvoke() {
				return false
			}
			if _, ok := call.Value.(*ssa.Builtin); ok {
				continue
			}
			callee := call.StaticCallee()
			if callee == nil {
				return false
			}
			if c.localCallee(call) == nil && !c.foreignPure(callee, call) {
				return false
			}
			if c.lockCall(call).op != notLockOp {
				return false
			}
			if _, ok := isCondWait(call); ok {
				return false
			}
			if g := c.localCallee(call); g != nil && !c.pureWork(g, seen) {
				return false
			}
		}
	}
	return true
}

// A channel that a function makes and hands only to goroutines it starts,
// which send into it on every path, is a fork and join too (results :=
// make(chan T); go func() { results <- work() }(); ...; <-results): a
// receive from it waits only as long as those goroutines run before they
// send. How many receives there are and how many goroutines are started
// is not compared, as the Adds of a WaitGroup are not.

// chanJoin reports whether recv, a receive, is the join of such a fork:
// ok is true if so, and then bl says how it blocks, if one of the
// goroutines may block before it sends (blocks true). The channel is
// either the value that make returned or a variable that holds it, set
// once and captured by the goroutines' closures.
func (c *checker) chanJoin(recv *ssa.UnOp) (bl blocker, blocks, ok bool) {
	var mk *ssa.MakeChan
	var cell *ssa.Alloc
	switch x := recv.X.(type) {
	case *ssa.MakeChan:
		mk = x
	case *ssa.UnOp:
		if a, isAlloc := x.X.(*ssa.Alloc); isAlloc && x.Op == token.MUL {
			cell, mk = a, storedChan(a)
		}
	}
	if mk == nil || c.rangeFor[recv.Pos()] || c.joinBusy[mk] {
		return blocker{}, false, false
	}
	c.joinBusy[mk] = true
	defer delete(c.joinBusy, mk)
	var gs []*ssa.Function
	var vs []ssa.Value // the channel, or the variable that holds it, within each of gs
	// started records the goroutine that a go statement runs with v, the
	// function, args and bindings, handing it x (the channel or the
	// variable) once.
	started := func(x, v ssa.Value, args, bindings []ssa.Value) bool {
		g := c.goroutineFunc(v)
		if g == nil || !c.pureWork(g, map[*ssa.Function]bool{}) {
			return false
		}
		n := 0
		for i, a := range args {
			if a == x {
				if i >= len(g.Params) {
					return false
				}
				gs, vs = append(gs, g), append(vs, g.Params[i])
				n++
			}
		}
		for i, b := range bindings {
			if b == x {
				if i >= len(g.FreeVars) {
					return false
				}
				gs, vs = append(gs, g), append(vs, g.FreeVars[i])
				n++
			}
		}
		return n == 1
	}
	// goUse reports whether ref, a referrer of x, starts a goroutine
	// that x is handed to, as an argument or a binding of a closure that
	// only a go statement runs.
	goUse := func(x ssa.Value, ref ssa.Instruction) bool {
		switch ref := ref.(type) {
		case *ssa.Go:
			return ref.Call.Value != x && started(x, ref.Call.Value, ref.Call.Args, nil)
		case *ssa.MakeClosure:
			for _, use := range *ref.Referrers() {
				if _, dbg := use.(*ssa.DebugRef); dbg {
					continue
				}
				g, isGo := use.(*ssa.Go)
				if !isGo || g.Call.Value != ssa.Value(ref) || slices.Contains(g.Call.Args, x) {
					return false
				}
			}
			return started(x, ref, nil, ref.Bindings)
		}
		return false
	}
	isRecv := func(ref ssa.Instruction, x ssa.Value) bool {
		u, isUnOp := ref.(*ssa.UnOp)
		return isUnOp && u.Op == token.ARROW && u.X == x && !c.rangeFor[u.Pos()]
	}
	// uses reports whether x, the channel or a conversion of it, is only
	// received from here, stored into cell once, or handed to goroutines.
	var uses func(x ssa.Value) bool
	uses = func(x ssa.Value) bool {
		for _, ref := range *x.Referrers() {
			switch r := ref.(type) {
			case *ssa.DebugRef:
				continue
			case *ssa.Store:
				if cell != nil && x == ssa.Value(mk) && r.Addr == ssa.Value(cell) {
					continue
				}
			case *ssa.ChangeType:
				if uses(r) {
					continue
				}
			}
			if cell == nil && isRecv(ref, x) || goUse(x, ref) {
				continue
			}
			return false
		}
		return true
	}
	if !uses(mk) {
		return blocker{}, false, false
	}
	if cell != nil {
		// The store must come before every use, or a use may find the
		// variable's zero value, a nil channel.
		var store *ssa.Store
		for _, ref := range *cell.Referrers() {
			if st, ok := ref.(*ssa.Store); ok && st.Val == ssa.Value(mk) {
				store = st
			}
		}
		for _, ref := range *cell.Referrers() {
			if ref == ssa.Instruction(store) {
				continue
			}
			if _, dbg := ref.(*ssa.DebugRef); !dbg && !before(store, ref) {
				return blocker{}, false, false
			}
		}
		for _, ref := range *cell.Referrers() {
			switch r := ref.(type) {
			case *ssa.DebugRef:
				continue
			case *ssa.Store:
				if r.Val == ssa.Value(mk) {
					continue
				}
			case *ssa.UnOp:
				if r.Op == token.MUL && onlyUses(r, func(u ssa.Instruction) bool { return isRecv(u, r) }) {
					continue
				}
			}
			if goUse(cell, ref) {
				continue
			}
			return blocker{}, false, false
		}
	}
	if len(gs) == 0 {
		return blocker{}, false, false
	}
	sends := make([]map[*ssa.Send]bool, len(gs))
	for i, g := range gs {
		var ok bool
		if sends[i], ok = onlySent(vs[i]); !ok || !sentOnEveryPath(g, sends[i]) {
			return blocker{}, false, false
		}
	}
	for i, g := range gs {
		for _, b := range g.Blocks {
			for _, instr := range b.Instrs {
				if _, ok := instr.(*ssa.Defer); ok {
					// A deferred recover would let the goroutine end
					// without sending.
					return blocker{}, false, false
				}
			}
		}
		gb, ok := c.waitsIn(g, sends[i], map[*ssa.Function]bool{})
		if !ok {
			continue
		}
		desc := c.funcDesc(g)
		bl := blocker{
			what: "channel receive, which waits for " + desc + ", which may block (" + c.shown(gb.why) + ")",
			noun: "receive",
			why:  c.via(desc, gb.why),
			pos:  recv.Pos(),
			root: gb.root,
			io:   gb.io,
		}
		if gb.io != "" {
			shown, _, _ := strings.Cut(c.shown(gb.why), " [I/O: ")
			bl.what = "channel receive, which waits for " + desc + ", which may wait for I/O (" + gb.io + ": " + shown + ")"
		}
		return bl, true, true
	}
	return blocker{}, false, true
}

// waitsIn returns how fn may block but by the sends in skip, if it may:
// by an operation of its own or of a function of another package it
// calls, or within a function of this package it calls, which is looked
// into rather than read from its summary, which may not be done while
// summaries are made.
func (c *checker) waitsIn(fn *ssa.Function, skip map[*ssa.Send]bool, seen map[*ssa.Function]bool) (blocker, bool) {
	seen[fn] = true
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if s, ok := instr.(*ssa.Send); ok && skip[s] {
				continue
			}
			if call := c.callOf(instr); call != nil {
				if callee := c.localCallee(call); callee != nil {
					if seen[callee] || c.dirs.silenced(c.pass.Fset, instr.Pos()) {
						continue
					}
					if c.funcs[callee] != nil && c.funcs[callee].never {
						continue
					}
					if inner, ok := c.waitsIn(callee, nil, seen); ok {
						return c.callBlocker(c.funcDesc(callee), inner.why, inner.io, inner.root, instr.Pos()), true
					}
					continue
				}
			}
			bl, ok := c.blocking(instr)
			if !ok || c.dirs.silenced(c.pass.Fset, bl.pos) || bl.io != "" && !c.keepsIO() {
				continue
			}
			return bl, true
		}
	}
	return blocker{}, false
}

// before reports whether a comes before b on every path to b: a's block
// dominates b's, and within one block a comes first.
func before(a, b ssa.Instruction) bool {
	if a == nil || a.Block() == nil || b.Block() == nil {
		return false
	}
	if a.Block() != b.Block() {
		return a.Block().Dominates(b.Block())
	}
	for _, instr := range a.Block().Instrs {
		switch instr {
		case a:
			return true
		case b:
			return false
		}
	}
	return false
}

// storedChan returns the new channel that cell, a variable, is set to, if
// it is set once, to the value of a make.
func storedChan(cell *ssa.Alloc) *ssa.MakeChan {
	var mk *ssa.MakeChan
	for _, ref := range *cell.Referrers() {
		if st, ok := ref.(*ssa.Store); ok && st.Addr == ssa.Value(cell) {
			m, isMake := st.Val.(*ssa.MakeChan)
			if !isMake || mk != nil {
				return nil
			}
			mk = m
		}
	}
	return mk
}

// onlyUses reports whether every referrer of v but debug references
// satisfies ok.
func onlyUses(v ssa.Value, ok func(ssa.Instruction) bool) bool {
	for _, ref := range *v.Referrers() {
		if _, dbg := ref.(*ssa.DebugRef); dbg {
			continue
		}
		if !ok(ref) {
			return false
		}
	}
	return true
}

// onlySent returns the sends into v, a channel within a goroutine's
// function or a variable that holds it, if sending into it is all that
// the function does with it.
func onlySent(v ssa.Value) (map[*ssa.Send]bool, bool) {
	sends := map[*ssa.Send]bool{}
	var add func(v ssa.Value) bool
	add = func(v ssa.Value) bool {
		return onlyUses(v, func(ref ssa.Instruction) bool {
			switch ref := ref.(type) {
			case *ssa.Send:
				if ref.Chan == v && ref.X != v {
					sends[ref] = true
					return true
				}
			case *ssa.UnOp:
				// The load of the variable that holds it.
				return ref.Op == token.MUL && ref.X == v && add(ref)
			case *ssa.ChangeType:
				return add(ref)
			}
			return false
		})
	}
	return sends, add(v) && len(sends) > 0
}

// sentOnEveryPath reports whether every path through g from its entry to
// a return or the end of a panic passes one of sends.
func sentOnEveryPath(g *ssa.Function, sends map[*ssa.Send]bool) bool {
	if len(g.Blocks) == 0 {
		return false
	}
	sendIn := map[*ssa.BasicBlock]bool{}
	for s := range sends {
		sendIn[s.Block()] = true
	}
	seen := map[*ssa.BasicBlock]bool{}
	var escapes func(b *ssa.BasicBlock) bool // reaches an exit without a send
	escapes = func(b *ssa.BasicBlock) bool {
		if sendIn[b] || seen[b] {
			return false
		}
		seen[b] = true
		if len(b.Succs) == 0 {
			return true
		}
		for _, s := range b.Succs {
			if escapes(s) {
				return true
			}
		}
		return false
	}
	return !escapes(g.Blocks[0])
}
