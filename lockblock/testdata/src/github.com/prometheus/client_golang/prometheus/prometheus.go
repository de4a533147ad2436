// Package prometheus stands in for client_golang's: the types that a
// Collector's methods are handed.
package prometheus

type Desc struct{ name string }

type Metric interface{ Desc() *Desc }

type Collector interface {
	Describe(chan<- *Desc)
	Collect(chan<- Metric)
}
