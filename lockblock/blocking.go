package lockblock

import (
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// faninPath is the import path of the fanin core, whose blocking calls are
// listed by name: facts cover those with bodies, but an interface method
// has none.
const faninPath = "github.com/fanin-go/fanin"

// listed holds the calls known to block, by funcKey, with what they wait
// for. Those of the standard library wait in the runtime, where no channel
// operation shows them.
var listed = map[string]string{
	"time.Sleep":          "sleeps",
	"sync.WaitGroup.Wait": "waits for the WaitGroup",
	"sync.Cond.Wait":      "releases only the Cond's own lock while it waits",

	faninPath + ".Channel.Send":     "waits for room in the stream",
	faninPath + ".Sender.Send":      "waits for room in the stream",
	faninPath + ".Sink.Send":        "waits for room in the sink",
	faninPath + ".SendBatch":        "waits for tokens and for room in the stream",
	faninPath + ".Limiter.Wait":     "waits for a token",
	faninPath + ".Channel.Shutdown": "waits for the sends in flight",
	faninPath + ".Group.Run":        "runs until the group is shut down",
	faninPath + ".Group.Shutdown":   "waits for every adapter to return",
	faninPath + ".Group.Remove":     "waits for the adapter to return",
	faninPath + ".Group.Replace":    "waits for the old adapter to return",
	faninPath + ".Stream.Recv":      "waits for a value",
	faninPath + ".Pending.Request":  "waits for the reply",
}

// funcKey returns "path.Name" for a function and "path.Type.Name" for a
// method (of a named type, or of a named interface), the key of listed.
func funcKey(fn *types.Func) string {
	fn = fn.Origin()
	if fn.Pkg() == nil {
		return fn.Name()
	}
	sig := fn.Signature()
	if recv := sig.Recv(); recv != nil {
		t := types.Unalias(recv.Type())
		if p, ok := t.(*types.Pointer); ok {
			t = types.Unalias(p.Elem())
		}
		if n, ok := t.(*types.Named); ok {
			return fn.Pkg().Path() + "." + n.Obj().Name() + "." + fn.Name()
		}
		return fn.Pkg().Path() + ".?." + fn.Name()
	}
	return fn.Pkg().Path() + "." + fn.Name()
}

// funcName returns how a message names a function: pkg.Name or
// pkg.Type.Name.
func funcName(fn *types.Func) string {
	fn = fn.Origin()
	name := fn.Name()
	if recv := fn.Signature().Recv(); recv != nil {
		t := types.Unalias(recv.Type())
		if p, ok := t.(*types.Pointer); ok {
			t = types.Unalias(p.Elem())
		}
		if n, ok := t.(*types.Named); ok {
			name = n.Obj().Name() + "." + name
		}
	}
	if fn.Pkg() != nil {
		name = fn.Pkg().Name() + "." + name
	}
	return name
}

// A blocker is an operation that may block.
type blocker struct {
	what string    // "channel send", "call to a.F, which may block (...)"
	noun string    // what the fix unlocks before: "send", "call"...
	why  string    // how it blocks, for the summary of its function: "a.F → channel send at a.go:5"
	pos  token.Pos // where it is
	cond ssa.Value // the *sync.Cond of a Cond.Wait; nil otherwise
}

// blocking reports whether instr may block, and how. A deferred call
// counts (it runs before the function returns); a go statement does not.
func (c *checker) blocking(instr ssa.Instruction) (blocker, bool) {
	switch in := instr.(type) {
	case *ssa.Send:
		if freshSend(in) || c.givesBack(in) {
			break
		}
		return c.direct("channel send", "send", in.Pos()), true
	case *ssa.UnOp:
		if in.Op != token.ARROW {
			break
		}
		if c.rangeFor[in.Pos()] {
			return c.direct("range over a channel", "loop", in.Pos()), true
		}
		return c.direct("channel receive", "receive", in.Pos()), true
	case *ssa.Select:
		if in.Blocking {
			return c.direct("select without a default case", "select", in.Pos()), true
		}
	case *ssa.Call:
		return c.callBlocks(in.Common(), in.Pos())
	case *ssa.Defer:
		return c.callBlocks(in.Common(), in.Pos())
	}
	return blocker{}, false
}

func (c *checker) direct(what, noun string, pos token.Pos) blocker {
	return blocker{what: what, noun: noun, why: what + " at " + c.where(pos), pos: pos}
}

// callBlocks reports whether a call may block.
func (c *checker) callBlocks(call *ssa.CallCommon, pos token.Pos) (blocker, bool) {
	var obj *types.Func
	var callee *ssa.Function
	if call.IsInvoke() {
		obj = call.Method
	} else {
		callee = call.StaticCallee()
		if callee == nil {
			// A call through a func value whose target is not known.
			return blocker{}, false
		}
		obj, _ = callee.Object().(*types.Func)
	}
	if obj != nil {
		if phrase := listed[funcKey(obj)]; phrase != "" {
			name := funcName(obj)
			b := blocker{
				what: "call to " + name + ", which " + phrase,
				noun: "call",
				why:  "call to " + name + " at " + c.where(pos),
				pos:  pos,
			}
			if funcKey(obj) == "sync.Cond.Wait" && len(call.Args) == 1 {
				b.cond = call.Args[0]
			}
			return b, true
		}
	}
	if callee == nil {
		// Another interface's method: its implementation is not known,
		// and most never block.
		return blocker{}, false
	}
	_, why := c.calleeWhy(callee)
	if why == "" {
		return blocker{}, false
	}
	desc := c.funcDesc(callee)
	return blocker{
		what: "call to " + desc + ", which may block (" + why + ")",
		noun: "call",
		why:  via(desc, why),
		pos:  pos,
	}, true
}

// calleeWhy returns the function that callee stands for, if it has one,
// and the reason it may block, or "" if it cannot.
func (c *checker) calleeWhy(callee *ssa.Function) (*types.Func, string) {
	if o := callee.Origin(); o != nil {
		callee = o
	}
	obj, _ := callee.Object().(*types.Func)
	if obj == nil {
		// A func literal: summarized with its enclosing function.
		if info := c.funcs[callee]; info != nil {
			return nil, info.why
		}
		return nil, ""
	}
	obj = obj.Origin()
	if obj.Pkg() != c.pass.Pkg {
		var f mayBlock
		if c.pass.ImportObjectFact(obj, &f) {
			return obj, f.Why
		}
		return obj, ""
	}
	// A method wrapper or bound method of this package stands for the
	// declared function.
	if decl := c.prog.FuncValue(obj); decl != nil {
		if info := c.funcs[decl]; info != nil {
			return obj, info.why
		}
	}
	return obj, ""
}

// localCallee returns the function of this package that a call runs, or
// nil if it runs none (or one of another package).
func (c *checker) localCallee(call *ssa.CallCommon) *ssa.Function {
	if call.IsInvoke() {
		return nil
	}
	callee := call.StaticCallee()
	if callee == nil {
		return nil
	}
	if o := callee.Origin(); o != nil {
		callee = o
	}
	if c.funcs[callee] != nil {
		return callee
	}
	if obj, ok := callee.Object().(*types.Func); ok && obj.Pkg() == c.pass.Pkg {
		if decl := c.prog.FuncValue(obj.Origin()); decl != nil && c.funcs[decl] != nil {
			return decl
		}
	}
	return nil
}

// summarize finds which functions of the package may block: those with a
// blocking operation of their own, then their callers, transitively.
func (c *checker) summarize(fns []*ssa.Function) {
	var work []*ssa.Function
	for _, fn := range fns {
		info := c.funcs[fn]
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if mc := yieldClosure(instr); mc != nil {
					// The iterator runs the loop body in this function's
					// goroutine: it blocks if the body does.
					if bi := c.funcs[mc.Fn.(*ssa.Function)]; bi != nil {
						bi.callers = append(bi.callers, fn)
					}
				}
				if call := callOf(instr); call != nil {
					if callee := c.localCallee(call); callee != nil {
						if !c.dirs.silenced(c.pass.Fset, instr.Pos()) {
							ci := c.funcs[callee]
							ci.callers = append(ci.callers, fn)
						}
						continue
					}
				}
				if info.why != "" {
					continue
				}
				if bl, ok := c.blocking(instr); ok && !c.dirs.silenced(c.pass.Fset, bl.pos) {
					info.why = bl.why
				}
			}
		}
		if info.why != "" {
			work = append(work, fn)
		}
	}
	for len(work) > 0 {
		fn := work[len(work)-1]
		work = work[:len(work)-1]
		why := via(c.funcDesc(fn), c.funcs[fn].why)
		if c.yields[fn] != nil {
			// A loop body is part of its function, not a call.
			why = c.funcs[fn].why
		}
		for _, caller := range c.funcs[fn].callers {
			if ci := c.funcs[caller]; ci.why == "" {
				ci.why = why
				work = append(work, caller)
			}
		}
	}
}

// funcDesc names fn in a message: pkg.Name, pkg.Type.Name, or the func
// literal at file:line.
func (c *checker) funcDesc(fn *ssa.Function) string {
	if o := fn.Origin(); o != nil {
		fn = o
	}
	if obj, ok := fn.Object().(*types.Func); ok {
		return funcName(obj)
	}
	return "the func literal at " + c.where(fn.Pos())
}

// via returns the reason a caller of fn blocks, given fn's name and the
// reason fn blocks: the chain of calls to the blocking operation, with
// its middle left out past four links.
func via(fn, why string) string {
	parts := append([]string{fn}, strings.Split(why, " → ")...)
	if len(parts) > 4 {
		parts = append(parts[:2:2], "…", parts[len(parts)-2], parts[len(parts)-1])
	}
	return strings.Join(parts, " → ")
}

// callOf returns the call that instr makes now or at return: that of a
// call or a defer statement, or nil.
func callOf(instr ssa.Instruction) *ssa.CallCommon {
	switch in := instr.(type) {
	case *ssa.Call:
		return in.Common()
	case *ssa.Defer:
		return in.Common()
	}
	return nil
}
