package dataapi

import (
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/permissions"
)

// ScopeOf turns a caller's permissions view into their scope: the objects,
// actions and fields their roles allow, and the records their record level
// and sharing rules reach. Callers with equal views share one generated
// schema (the view's Key).
func ScopeOf(v *permissions.View) *Scope {
	return &Scope{
		Key:        v.Key,
		ReadObject: func(o *model.Object) bool { return v.Can(o, "read") },
		Allow:      func(o *model.Object, action string) bool { return v.Can(o, action) },
		ReadField:  func(o *model.Object, f *model.Field) bool { return v.CanField(o, f, "read") },
		EditField:  func(o *model.Object, f *model.Field) bool { return v.CanField(o, f, "edit") },
		Records:    v.Records,
	}
}
