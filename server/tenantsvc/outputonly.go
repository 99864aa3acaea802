package tenantsvc

import (
	"slices"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// outputOnly: the field is marked OUTPUT_ONLY (google.api.field_behavior).
func outputOnly(fd protoreflect.FieldDescriptor) bool {
	fb, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
	return slices.Contains(fb, annotations.FieldBehavior_OUTPUT_ONLY)
}

// singularMessage: a field holding one message (not a list or a map),
// which an update mask can replace as a whole.
func singularMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Message() != nil && !fd.IsList() && !fd.IsMap()
}

// clearOutputOnlyFields clears every OUTPUT_ONLY field of m and of the
// messages its other fields hold, so nothing a caller sends in them can
// reach the store (AIP-203: output-only fields are ignored on input).
func clearOutputOnlyFields(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case outputOnly(fd):
			m.Clear(fd)
		case singularMessage(fd):
			clearOutputOnlyFields(v.Message())
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				clearOutputOnlyFields(v.List().Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				clearOutputOnlyFields(mv.Message())
				return true
			})
		}
		return true
	})
}

// keepOutputOnly gives dst, a tenant an update built from cur, the
// OUTPUT_ONLY fields of cur at every level the two share: replacing a
// message through the mask (`workspace`) replaces what the caller may set in
// it, never what the server set.
func keepOutputOnly(dst, cur protoreflect.Message) {
	fields := dst.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case outputOnly(fd):
			if cur.Has(fd) {
				dst.Set(fd, cur.Get(fd))
			} else {
				dst.Clear(fd)
			}
		case singularMessage(fd) && dst.Has(fd):
			if cur.Has(fd) {
				keepOutputOnly(dst.Mutable(fd).Message(), cur.Get(fd).Message())
			} else {
				clearOutputOnlyFields(dst.Mutable(fd).Message())
			}
		}
	}
}
