package lockblock

import (
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// runs returns the call that call stands for when it calls a function
// value whose target is known, so that what the target does to locks
// and whether it blocks count at the call: the f of once.Do(f), a call of
// what sync.OnceFunc(f) returned (f), and a call of what a function of
// this package returned, if it returns a closure of the same func literal
// on every path (the literal, with the parameters it captures bound to
// the arguments of the call that made it). An unlock wrapped so that it
// runs at most once (unlock := sync.OnceFunc(mu.Unlock); defer unlock())
// then releases the lock where it is called. Otherwise it returns call.
func (c *checker) runs(call *ssa.CallCommon) *ssa.CallCommon {
	for range 4 { // once.Do(sync.OnceFunc(...)) and the like, not for ever
		next := c.runsOnce(call)
		if next == nil {
			return call
		}
		call = next
	}
	return call
}

func (c *checker) runsOnce(call *ssa.CallCommon) *ssa.CallCommon {
	if call.IsInvoke() {
		return nil
	}
	if fn := call.StaticCallee(); fn != nil {
		if isFunc(fn, "(*sync.Once).Do") && len(call.Args) == 2 {
			return &ssa.CallCommon{Value: call.Args[1]}
		}
		return nil
	}
	made, ok := call.Value.(*ssa.Call)

	if !ok || made.Call.IsInvoke() {
		return nil
	}
	maker := made.Call.StaticCallee()
	if maker == nil {
		return nil
	}
	if isFunc(maker, "sync.OnceFunc") && len(made.Call.Args) == 1 {
		return &ssa.CallCommon{Value: made.Call.Args[0], Args: call.Args}
	}
	if o := maker.Origin(); o != nil {
		maker = o
	}
	if c.funcs[maker] == nil || len(maker.Params) != len(made.Call.Args) {
		return nil
	}
	mc := returnedClosure(maker)
	if mc == nil {
		return nil
	}

	bound := make([]ssa.Value, len(mc.Bindings))
	for i, b := range mc.Bindings {
		bound[i] = b
		if j := paramIndex(maker, b); j >= 0 {
			bound[i] = made.Call.Args[j]
		} else if j := paramIndex(maker, cellOfParam(b)); j >= 0 {
			bound[i] = cell{made.Call.Args[j]}
		}
	}
	return &ssa.CallCommon{Value: &ssa.MakeClosure{Fn: mc.Fn, Bindings: bound}, Args: call.Args}
}

// returnedClosure returns the closure that fn returns as its only result
// on every path, if each return makes one of the same func literal.
func returnedClosure(fn *ssa.Function) *ssa.MakeClosure {
	if fn.Signature.Results().Len() != 1 {
		return nil
	}
	var found *ssa.MakeClosure
	for _, b := range fn.Blocks {
		ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return)
		if !ok {
			continue
		}
		mc, ok := ret.Results[0].(*ssa.MakeClosure)
		if !ok || (found != nil && found.Fn != mc.Fn) {
			return nil
		}
		found = mc
	}
	return found
}

// isFunc reports whether fn is the function or method of the standard
// library named, as String prints it.
func isFunc(fn *ssa.Function, name string) bool {
	if o := fn.Origin(); o != nil {
		fn = o
	}
	obj, ok := fn.Object().(*types.Func)
	return ok && obj.Pkg() != nil && obj.FullName() == name
}

// A cell stands, in the bindings of a closure that runs resolves, for the
// variable that the compiler made of a captured parameter: the closure
// reaches the parameter's value through it, as *cell, and the value is the
// argument of the call that made the closure.
type cell struct{ ssa.Value }

// cellOfParam returns the parameter whose variable v is, if v is the
// variable the compiler made for a captured parameter and nothing but the
// parameter's value is ever stored in it; or nil.
func cellOfParam(v ssa.Value) ssa.Value {
	alloc, ok := v.(*ssa.Alloc)
	if !ok || !alloc.Heap {
		return nil
	}
	var stored ssa.Value
	for _, ref := range *alloc.Referrers() {
		switch r := ref.(type) {
		case *ssa.Store:
			if r.Addr != alloc || stored != nil {
				return nil
			}
			stored = r.Val
		case *ssa.UnOp, *ssa.MakeClosure:
		default:
			return nil
		}
	}
	if _, ok := stored.(*ssa.Parameter); !ok {
		return nil
	}
	return stored
}

// paramIndex returns the index of v among fn's parameters, or -1.
func paramIndex(fn *ssa.Function, v ssa.Value) int {
	for i, p := range fn.Params {
		if v != nil && p == v {
			return i
		}
	}
	return -1
}
