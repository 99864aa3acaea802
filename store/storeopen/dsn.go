package storeopen

import (
	"net/url"
	"regexp"
	"strings"
)

// libpqKeywords are the connection parameters of a key=value PostgreSQL
// connection string (libpq's, which pgx accepts too).
var libpqKeywords = map[string]bool{
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "password": true,
	"passfile": true, "channel_binding": true, "connect_timeout": true, "client_encoding": true,
	"options": true, "application_name": true, "fallback_application_name": true, "keepalives": true,
	"keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true, "tcp_user_timeout": true,
	"replication": true, "gssencmode": true, "sslmode": true, "sslnegotiation": true, "sslcompression": true,
	"sslcert": true, "sslkey": true, "sslpassword": true, "sslcertmode": true, "sslrootcert": true,
	"sslcrl": true, "sslcrldir": true, "sslsni": true, "requirepeer": true, "ssl_min_protocol_version": true,
	"ssl_max_protocol_version": true, "krbsrvname": true, "gsslib": true, "gssdelegation": true,
	"service": true, "target_session_attrs": true, "load_balance_hosts": true, "require_auth": true,
	"min_read_buffer_size": true, "pool_max_conns": true, "pool_min_conns": true,
}

// firstKey is the key of a string that starts like "key=value".
var firstKey = regexp.MustCompile(`^\s*([A-Za-z_]+)\s*=`)

// isKeyValueDSN reports whether dsn is a key=value PostgreSQL connection
// string ("host=db user=xdrlink dbname=xdrlink"): it starts with one of
// libpq's keywords and an "=". A SQLite file named like that can still be
// opened as ./host=x.db.
func isKeyValueDSN(dsn string) bool {
	m := firstKey.FindStringSubmatch(dsn)
	return m != nil && libpqKeywords[strings.ToLower(m[1])]
}

// isPostgresURL reports whether scheme is PostgreSQL's.
func isPostgresURL(scheme string) bool {
	return strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql")
}

// keyValuePassword matches a password in a key=value connection string,
// quoted (with backslash-escaped or doubled quotes inside) or not.
var keyValuePassword = regexp.MustCompile(`(?i)(^|\s)((?:ssl)?password)\s*=\s*('(?:\\.|''|[^'\\])*'?|\S*)`)

// Redacted is dsn fit for a log line or an error: a password (in a URL's user
// info, a password or sslpassword query parameter, or a key=value string's
// password or sslpassword) becomes "xxxxx". A SQLite path is unchanged.
func Redacted(dsn string) string {
	if isKeyValueDSN(dsn) {
		return keyValuePassword.ReplaceAllString(dsn, "${1}${2}=xxxxx")
	}
	if !strings.Contains(dsn, "://") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// Unparseable: keep the scheme only, since the rest may hold a password.
		scheme, _, _ := strings.Cut(dsn, "://")
		return scheme + "://xxxxx"
	}
	if q := u.Query(); q.Has("password") || q.Has("sslpassword") {
		for _, k := range []string{"password", "sslpassword"} {
			if q.Has(k) {
				q.Set(k, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// passwords returns the passwords dsn holds, as written.
func passwords(dsn string) []string {
	var pws []string
	if isKeyValueDSN(dsn) {
		for _, m := range keyValuePassword.FindAllStringSubmatch(dsn, -1) {
			pws = append(pws, strings.Trim(m[3], "'"))
		}
		return pws
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return nil
	}
	if pw, ok := u.User.Password(); ok {
		pws = append(pws, pw)
	}
	q := u.Query()
	return append(pws, q.Get("password"), q.Get("sslpassword"))
}
