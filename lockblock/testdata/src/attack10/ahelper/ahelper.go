// Package ahelper: helpers of another package for the attack on emptied signals: a generic clone, and hooks registered and fired later.
package ahelper

var hooks []func()

func Register(f func()) { hooks = append(hooks, f) }

// Fire runs the hooks registered earlier; it is handed no code.
func Fire() {
	for _, f := range hooks {
		f()
	}
}

type Deep struct{ X struct{ F func() } }

func RunDeep(d *Deep) { d.X.F() }

func Call[P interface{ Kick() }](p P) { p.Kick() }

func Clone[X any](p *X) *X { v := *p; return &v }
