// Package plugin registers lockblock with golangci-lint as a module plugin.
// golangci-lint finds it through a blank import in the custom binary that
// "golangci-lint custom" builds; see the module's README for the two
// configuration files. Programs other than golangci-lint have no use for
// it.
package plugin

import (
	"github.com/fanin-go/fanin/lockblock"
	"github.com/golangci/plugin-module-register/register"
	"golang.org/x/tools/go/analysis"
)

func init() { register.Plugin("lockblock", New) }

// New returns the lockblock linter for golangci-lint. lockblock has no
// settings, so conf is ignored. It never fails.
func New(conf any) (register.LinterPlugin, error) { return linter{}, nil }

type linter struct{}

func (linter) BuildAnalyzers() ([]*analysis.Analyzer, error) {
	return []*analysis.Analyzer{lockblock.Analyzer}, nil
}

// GetLoadMode asks for types and syntax: the analyzer builds SSA form.
func (linter) GetLoadMode() string { return register.LoadModeTypesInfo }
