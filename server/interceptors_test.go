package server

import (
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/xdrlink/xdrlink/internal/apierr"
)

type checker []*errdetails.BadRequest_FieldViolation

func (c checker) CheckRequest(any) []*errdetails.BadRequest_FieldViolation { return slices.Clone(c) }

// TestServiceChecksJoinRules: the service's violations are added to the
// rules', except on a field the rules already refused.
func TestServiceChecksJoinRules(t *testing.T) {
	rules := apierr.InvalidArgument(apierr.Violation("tables[0]", "does not match the pattern"), apierr.Violation("name", "required"))
	svc := checker{apierr.Violation("tables[0]", "not in the catalog"), apierr.Violation("tables[1]", "not in the catalog")}
	err := withServiceChecks(rules, svc, nil)
	var got []string
	for _, v := range err.(*apierr.Error).Violations {
		got = append(got, v.GetField()+": "+v.GetDescription())
	}
	want := []string{"tables[0]: does not match the pattern", "name: required", "tables[1]: not in the catalog"}
	if !slices.Equal(got, want) {
		t.Errorf("violations %q, want %q", got, want)
	}
	if err := withServiceChecks(rules, checker{svc[0]}, nil); err != rules {
		t.Errorf("nothing new: got %v, want the rules' error", err)
	}
}
