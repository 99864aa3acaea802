package azuresim

import "sync"

// familyStates holds per-Sim state of API families compiled into the
// package (Graph, streaming, Log Analytics), keyed by a family-chosen key.
type familyStates struct {
	m sync.Map
}

var familyStateRegistry sync.Map // *Sim -> *familyStates; removed by Close

// FamilyState returns the Sim's state for key, creating it with init on
// first use. Families keep their own locks inside the returned value.
func (s *Sim) FamilyState(key any, init func() any) any {
	fsAny, _ := familyStateRegistry.LoadOrStore(s, &familyStates{})
	fs := fsAny.(*familyStates)
	if v, ok := fs.m.Load(key); ok {
		return v
	}
	v, _ := fs.m.LoadOrStore(key, init())
	return v
}

func (s *Sim) dropFamilyStates() { familyStateRegistry.Delete(s) }
