package operationsvc

import (
	"errors"
	"strings"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/aipfilter"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/oprecord"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

const filterable = "filterable: tenant, kind, state, parent"

// parseFilter turns a ListOperations filter into a store query. Values may
// be given as the API spells them elsewhere or in short: tenant "tenants/x"
// or "x", kind OPERATION_KIND_ONBOARD or ONBOARD, state
// OPERATION_STATE_RUNNING or RUNNING, parent "operations/x" or "x". The
// query holds what the store indexes (see oprecord.Record.Encode).
func parseFilter(expr string) (store.OperationQuery, error) {
	var q store.OperationQuery
	terms, err := aipfilter.Parse(expr)
	if err != nil {
		return q, apierr.InvalidFilter("filter", err)
	}
	for _, term := range terms {
		var dst *string
		var v string
		switch term.Field {
		case "tenant":
			dst, v = &q.Tenant, strings.TrimPrefix(term.Value, tenantrecord.NamePrefix)
			if v == "" || strings.Contains(v, "/") {
				return q, apierr.InvalidFilter("filter", errors.New("tenant: want tenants/{id} or {id}, got "+term.Value))
			}
		case "parent":
			dst, v = &q.Parent, strings.TrimPrefix(term.Value, oprecord.NamePrefix)
			if v == "" || strings.Contains(v, "/") {
				return q, apierr.InvalidFilter("filter", errors.New("parent: want operations/{id} or {id}, got "+term.Value))
			}
		case "kind":
			var ok bool
			if v, ok = aipfilter.Enum("OPERATION_KIND_", term.Value, xdrlinkv1.OperationKind_value); !ok {
				return q, apierr.InvalidFilter("filter", errors.New("unknown kind "+term.Value))
			}
			dst = &q.Kind
		case "state":
			var ok bool
			if v, ok = aipfilter.Enum("OPERATION_STATE_", term.Value, xdrlinkv1.OperationState_value); !ok {
				return q, apierr.InvalidFilter("filter", errors.New("unknown state "+term.Value))
			}
			dst = &q.State
		default:
			return q, apierr.InvalidFilter("filter", errors.New("unknown field "+term.Field+"; "+filterable))
		}
		// The store matches one value per field, so "a = x AND a = y" could
		// only ever match nothing: more likely a mistake than intended.
		if *dst != "" && *dst != v {
			return q, apierr.InvalidFilter("filter", errors.New(term.Field+" given twice with different values"))
		}
		*dst = v
	}
	return q, nil
}
