package storeopen

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/xdrlink/xdrlink/store/postgres"
)

// TestKeyValueDSNIsPostgres: a key=value connection string opens
// PostgreSQL, not a SQLite file of that name, and its error does not hold
// the password.
func TestKeyValueDSNIsPostgres(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, dsn := range []string{
		"host=127.0.0.1 port=1 user=xdrlink password=hunter2-secret dbname=xdrlink connect_timeout=1",
		"  dbname = xdrlink host=127.0.0.1 port=1 password='hunter2-secret' connect_timeout=1",
		"user=xdrlink password=hunter2-secret host=127.0.0.1 port=1 dbname=x sslmode=disable connect_timeout=1",
	} {
		b, err := Open(t.Context(), dsn, Options{})
		if err == nil || b != nil || !strings.HasPrefix(err.Error(), "postgres:") {
			t.Errorf("Open(%q) = %v, %v; want a nil Backend and a postgres error", dsn, b, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): the error shows the password: %v", dsn, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("a SQLite file was created: %v", entries)
	}
}

// TestKeyValueDSNOpens: against a real server (XDRLINK_TEST_POSTGRES_DSN),
// the key=value form of its URL opens and reports ready.
func TestKeyValueDSNOpens(t *testing.T) {
	env := os.Getenv("XDRLINK_TEST_POSTGRES_DSN")
	if env == "" {
		t.Skip("XDRLINK_TEST_POSTGRES_DSN not set")
	}
	u, err := url.Parse(env)
	if err != nil {
		t.Fatal(err)
	}
	kv := []string{"host=" + u.Hostname(), "dbname=" + strings.TrimPrefix(u.Path, "/")}
	if u.Port() != "" {
		kv = append(kv, "port="+u.Port())
	}
	if u.User != nil {
		kv = append(kv, "user="+u.User.Username())
		if pw, ok := u.User.Password(); ok {
			kv = append(kv, "password='"+pw+"'")
		}
	}
	for k, v := range u.Query() {
		kv = append(kv, k+"="+v[0])
	}
	b, err := Open(t.Context(), strings.Join(kv, " "), Options{})
	if err != nil {
		t.Fatalf("Open(key=value form of XDRLINK_TEST_POSTGRES_DSN): %v", err)
	}
	defer b.Close()
	if _, ok := b.(*postgres.Store); !ok {
		t.Errorf("Open gave a %T, want a *postgres.Store", b)
	}
}

func TestRedacted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"./data/xdrlink.db", "./data/xdrlink.db"},
		{":memory:", ":memory:"},
		{"postgres://xdrlink:hunter2@db:5432/xdrlink?sslmode=require", "postgres://xdrlink:xxxxx@db:5432/xdrlink?sslmode=require"},
		{"postgres://db/xdrlink?user=x&password=hunter2", "postgres://db/xdrlink?password=xxxxx&user=x"},
		{"postgresql://db/x?sslpassword=hunter2", "postgresql://db/x?sslpassword=xxxxx"},
		{"host=db user=xdrlink password=hunter2 dbname=xdrlink", "host=db user=xdrlink password=xxxxx dbname=xdrlink"},
		{"host=db password = 'hun ter\\'2' dbname=x", "host=db password=xxxxx dbname=x"},
		{"host=db PASSWORD='it''s' sslpassword=hunter2", "host=db PASSWORD=xxxxx sslpassword=xxxxx"},
		{"password=hunter2", "password=xxxxx"},
		{"postgres://u:hun%zz@db/x", "postgres://xxxxx"},
	} {
		got := Redacted(tc.in)
		if got != tc.want {
			t.Errorf("Redacted(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "ter") && strings.Contains(tc.in, "hun ter") {
			t.Errorf("Redacted(%q) = %q shows the password", tc.in, got)
		}
	}
}
