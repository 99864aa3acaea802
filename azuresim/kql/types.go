package kql

import "time"

// Type is a Kusto scalar type, spelled as the Log Analytics API spells it in
// a result column ("string", "long", "datetime", ...).
type Type string

// The types the subset knows. Values of each type are held in Go as:
// string/guid -> string, long/int -> int64, real -> float64, bool -> bool,
// datetime -> time.Time (UTC), timespan -> time.Duration, dynamic -> any.
// A nil value is null in every type.
const (
	TypeString   Type = "string"
	TypeLong     Type = "long"
	TypeInt      Type = "int"
	TypeReal     Type = "real"
	TypeBool     Type = "bool"
	TypeDatetime Type = "datetime"
	TypeTimespan Type = "timespan"
	TypeGUID     Type = "guid"
	TypeDynamic  Type = "dynamic"
)

// Column is one column of a table or result.
type Column struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
}

// family groups types that compare and combine with each other.
type family int

const (
	famNone family = iota
	famString
	famNumber
	famBool
	famTime
	famSpan
	famDynamic
)

func (t Type) family() family {
	switch t {
	case TypeString, TypeGUID:
		return famString
	case TypeLong, TypeInt, TypeReal:
		return famNumber
	case TypeBool:
		return famBool
	case TypeDatetime:
		return famTime
	case TypeTimespan:
		return famSpan
	case TypeDynamic:
		return famDynamic
	}
	return famNone
}

// known reports whether t is one of the types above; catalogs must use them.
func (t Type) known() bool { return t.family() != famNone }

// normalize maps a value a Source produced for a column of type t to the Go
// representation the evaluator uses, so sources may hand in int or
// time.Time in any zone.
func normalize(t Type, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case int:
		if t == TypeReal {
			return float64(x)
		}
		return int64(x)
	case int32:
		return int64(x)
	case time.Time:
		if x.Location() != time.UTC {
			return x.UTC()
		}
	}
	return v
}
