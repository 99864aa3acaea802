package tenantsvc

import (
	"errors"
	"strings"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/aipfilter"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
)

// ParseFilter turns a ListTenants filter (or a batch operation's) into a
// store query. Enum values may be given with or without their prefix:
// ONBOARDED or STATE_ONBOARDED, STALE or VERDICT_STALE.
func ParseFilter(expr string) (store.TenantQuery, error) {
	var q store.TenantQuery
	terms, err := aipfilter.Parse(expr)
	if err != nil {
		return q, apierr.InvalidFilter("filter", err)
	}
	for _, term := range terms {
		switch key, isLabel := strings.CutPrefix(term.Field, "labels."); {
		case term.Field == "state":
			v, ok := aipfilter.Enum("STATE_", term.Value, xdrlinkv1.Tenant_State_value)
			if !ok {
				return q, apierr.InvalidFilter("filter", errors.New("unknown state "+term.Value))
			}
			if q.State != "" && q.State != v {
				return q, apierr.InvalidFilter("filter", errors.New("state given twice with different values"))
			}
			q.State = v
		case term.Field == "last_verification.verdict":
			v, ok := aipfilter.Enum("VERDICT_", term.Value, xdrlinkv1.Verdict_value)
			if !ok {
				return q, apierr.InvalidFilter("filter", errors.New("unknown verdict "+term.Value+"; verdicts: "+verdicts))
			}
			if q.Verdict != "" && q.Verdict != v {
				return q, apierr.InvalidFilter("filter", errors.New("last_verification.verdict given twice with different values"))
			}
			q.Verdict = v
		case isLabel && key != "":
			if q.Labels == nil {
				q.Labels = map[string]string{}
			}
			if old, dup := q.Labels[key]; dup && old != term.Value {
				return q, apierr.InvalidFilter("filter", errors.New("label "+key+" given twice with different values"))
			}
			q.Labels[key] = term.Value
		default:
			return q, apierr.InvalidFilter("filter", errors.New("unknown field "+term.Field+"; filterable: state, last_verification.verdict, labels.<key>"))
		}
	}
	return q, nil
}

// verdicts lists the verdicts a filter may name, for the error that names
// an unknown one.
var verdicts = func() string {
	var names []string
	for n := int32(1); xdrlinkv1.Verdict_name[n] != ""; n++ {
		names = append(names, strings.TrimPrefix(xdrlinkv1.Verdict_name[n], "VERDICT_"))
	}
	return strings.Join(names, ", ")
}()
