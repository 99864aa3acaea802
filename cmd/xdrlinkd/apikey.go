package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xdrlink/xdrlink/daemon"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/accesssvc"
	"github.com/xdrlink/xdrlink/store/storeopen"
)

// newCreateAPIKeyCommand makes an API key straight in the store, without a
// running server or a caller: the first admin key of a deployment that
// does not sign people in with OIDC. Later keys are made over the API.
func newCreateAPIKeyCommand() *cobra.Command {
	db := daemon.Defaults().DB
	var name, role string
	var groups []string
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "create-api-key",
		Short: "Create an API key in the store and print it (it is shown only once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, ok := xdrlinkv1.Role_value["ROLE_"+strings.ToUpper(role)]
			if !ok || r == 0 {
				return fmt.Errorf("--role must be viewer, operator or admin, got %q", role)
			}
			in := &xdrlinkv1.ApiKey{DisplayName: name, Role: xdrlinkv1.Role(r), AccessGroups: groups}
			if ttl > 0 {
				in.ExpireTime = timestamppb.New(time.Now().Add(ttl))
			}
			if err := protovalidate.Validate(in); err != nil {
				return err
			}
			st, err := storeopen.Open(cmd.Context(), db, storeopen.Options{})
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Ready(cmd.Context()); err != nil {
				return errors.Join(errors.New("the store is not ready (run migrate first?)"), err)
			}
			resp, err := accesssvc.Create(cmd.Context(), st, in, "xdrlinkd create-api-key", time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "created %s (%s, %s); the key is shown only now:\n",
				resp.GetApiKey().GetName(), resp.GetApiKey().GetDisplayName(), role)
			fmt.Fprintln(cmd.OutOrStdout(), resp.GetKey())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", db, "SQLite file path, or a PostgreSQL DSN (postgres:// URL or key=value: host=... user=... dbname=...)")
	f.StringVar(&name, "display-name", "bootstrap admin", "what the key is for")
	f.StringVar(&role, "role", "admin", "viewer, operator or admin")
	f.StringSliceVar(&groups, "access-group", nil, "limit the key to these access groups (not for admin keys)")
	f.DurationVar(&ttl, "ttl", 0, "expire the key after this long (0: never)")
	return cmd
}
