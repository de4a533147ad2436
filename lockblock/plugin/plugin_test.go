package plugin

import (
	"testing"

	"github.com/fanin-go/fanin/lockblock"
	"github.com/golangci/plugin-module-register/register"
)

// TestRegistered checks what golangci-lint sees: a plugin named lockblock
// that yields the analyzer and asks for syntax and types.
func TestRegistered(t *testing.T) {
	newPlugin, err := register.GetPlugin("lockblock")
	if err != nil {
		t.Fatalf("GetPlugin(lockblock) = %v, want nil", err)
	}
	p, err := newPlugin(nil)
	if err != nil {
		t.Fatalf("New(nil) = %v, want nil", err)
	}
	as, err := p.BuildAnalyzers()
	if err != nil || len(as) != 1 || as[0] != lockblock.Analyzer {
		t.Errorf("BuildAnalyzers() = %v, %v, want [lockblock.Analyzer], nil", as, err)
	}
	if got := p.GetLoadMode(); got != register.LoadModeTypesInfo {
		t.Errorf("GetLoadMode() = %q, want %q", got, register.LoadModeTypesInfo)
	}
}
