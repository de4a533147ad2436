package lockblock

import (
	"go/token"
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
				call = c.runs(in.Common())
			case *ssa.Defer:
				call = c.runs(in.Common())
			case *ssa.Go:
				call = in.Common()
			default:
				continue
			}
			if call.IsInvoke() {
				return false
			}
			if _, ok := call.Value.(*ssa.Builtin); ok {
				continue
			}
			if call.StaticCallee() == nil {
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
