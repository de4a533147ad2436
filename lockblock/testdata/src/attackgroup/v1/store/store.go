// Package store is one of two packages of one name whose waits are in
// files of one name, at one line.
package store

type Store struct{ ch chan int }

func (s *Store) Get() int {
	return <-s.ch
}
