package cloud

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// Name identifies one of the clouds xdrlink knows.
type Name string

const (
	Public       Name = "public"
	USGovernment Name = "usgovernment"
	China        Name = "china"
	// Custom is a cloud whose endpoints are all given by URL; in practice the azuresim emulator.
	Custom Name = "custom"
)

// Real token audiences. The custom cloud keeps these so that emulator tokens carry the same
// aud claims as real ones.
const (
	AudienceResourceManager   = "https://management.azure.com"             // docs/azure.md §9.2
	AudienceGraph             = "https://graph.microsoft.com"              // docs/azure.md §8.2, §9.2
	AudienceDefenderStreaming = "https://api.securitycenter.microsoft.com" // docs/azure.md §3.1
	AudienceLogAnalytics      = "https://api.loganalytics.io"              // docs/azure.md §7.1
)

// Service is one API's base URL and the audience of the tokens it accepts.
type Service struct {
	// Endpoint is the base URL without a trailing slash. For Log Analytics it excludes the
	// "/v1" version segment; the client appends it.
	Endpoint string
	// Audience is the token audience; the OAuth scope is Audience + "/.default".
	Audience string
}

// Configured reports whether the service exists in this cloud.
func (s Service) Configured() bool { return s.Endpoint != "" && s.Audience != "" }

// Scope is the OAuth2 client-credentials scope for this service.
func (s Service) Scope() string { return strings.TrimSuffix(s.Audience, "/") + "/.default" }

// Endpoints is a complete, consistent set of endpoints for one cloud.
type Endpoints struct {
	Name Name
	// AuthorityHost is the Entra ID authority host with a trailing slash, as azcore expects.
	AuthorityHost     string
	ResourceManager   Service
	Graph             Service
	DefenderStreaming Service
	LogAnalytics      Service
	// TokenExchangeAudience is the audience of the managed-identity token that serves as a
	// federated client assertion for the multi-tenant app (see package credential).
	TokenExchangeAudience string
}

// AzCore is the azcore cloud configuration: authority host plus the ResourceManager service,
// which arm.NewClient and the ARM bearer-token policy read.
func (e Endpoints) AzCore() azcloud.Configuration {
	return azcloud.Configuration{
		ActiveDirectoryAuthorityHost: e.AuthorityHost,
		Services: map[azcloud.ServiceName]azcloud.ServiceConfiguration{
			azcloud.ResourceManager: {
				Endpoint: e.ResourceManager.Endpoint,
				Audience: e.ResourceManager.Audience,
			},
		},
	}
}

// IsCustom reports whether this is a non-Microsoft authority, for which azidentity must not
// ask login.microsoftonline.com for instance metadata (DisableInstanceDiscovery).
func (e Endpoints) IsCustom() bool { return e.Name == Custom }

// Validate checks that the endpoints xdrlink cannot work without are set and are HTTPS URLs.
// Graph, streaming and Log Analytics may be absent in a cloud; their clients check
// Service.Configured.
func (e Endpoints) Validate() error {
	if err := checkURL("authority host", e.AuthorityHost); err != nil {
		return err
	}
	if !e.ResourceManager.Configured() {
		return errors.New("cloud: resource manager endpoint and audience are required")
	}
	for _, s := range []struct {
		what string
		svc  Service
	}{
		{"resource manager", e.ResourceManager},
		{"graph", e.Graph},
		{"defender streaming", e.DefenderStreaming},
		{"log analytics", e.LogAnalytics},
	} {
		if s.svc.Endpoint == "" {
			continue
		}
		if err := checkURL(s.what+" endpoint", s.svc.Endpoint); err != nil {
			return err
		}
		if s.svc.Audience == "" {
			return fmt.Errorf("cloud: %s audience is required", s.what)
		}
	}
	return nil
}

// Setting is the one configuration value that selects a cloud. It is meant to be filled from
// YAML/JSON config or flags.
type Setting struct {
	// Name is public (default), usgovernment, china or custom.
	Name Name `json:"name" yaml:"name"`
	// URL is the base URL of the custom cloud (the emulator). Every endpoint defaults to it.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Overrides replace single endpoints of any cloud, e.g. the Defender streaming API of a GCC
	// tenant whose Azure resources live in the public cloud. Audiences are not overridable
	// here on purpose: an audience mismatch is a silent 401 in production. An override to a
	// host with a documented audience of its own (knownAudiences) takes that audience.
	Overrides EndpointOverrides `json:"overrides,omitempty" yaml:"overrides,omitempty"`
}

// EndpointOverrides replaces individual base URLs (empty means keep).
type EndpointOverrides struct {
	AuthorityHost     string `json:"authority_host,omitempty" yaml:"authority_host,omitempty"`
	ResourceManager   string `json:"resource_manager,omitempty" yaml:"resource_manager,omitempty"`
	Graph             string `json:"graph,omitempty" yaml:"graph,omitempty"`
	DefenderStreaming string `json:"defender_streaming,omitempty" yaml:"defender_streaming,omitempty"`
	LogAnalytics      string `json:"log_analytics,omitempty" yaml:"log_analytics,omitempty"`
}

// Resolve turns a Setting into validated Endpoints.
func Resolve(s Setting) (Endpoints, error) {
	var e Endpoints
	switch s.Name {
	case "", Public:
		e = publicEndpoints()
	case USGovernment:
		e = usGovernmentEndpoints()
	case China:
		e = chinaEndpoints()
	case Custom:
		if s.URL == "" {
			return Endpoints{}, errors.New("cloud: custom cloud needs a url")
		}
		e = customEndpoints(s.URL)
	default:
		return Endpoints{}, fmt.Errorf("cloud: unknown cloud %q (want public, usgovernment, china or custom)", s.Name)
	}
	if s.Name != Custom && s.URL != "" {
		return Endpoints{}, fmt.Errorf("cloud: url is only valid for the custom cloud, not %q", s.Name)
	}
	o := s.Overrides
	if o.AuthorityHost != "" {
		e.AuthorityHost = withSlash(o.AuthorityHost)
	}
	override(&e.ResourceManager, o.ResourceManager)
	override(&e.Graph, o.Graph)
	override(&e.DefenderStreaming, o.DefenderStreaming)
	override(&e.LogAnalytics, o.LogAnalytics)
	if err := e.Validate(); err != nil {
		return Endpoints{}, err
	}
	return e, nil
}

// MustResolve is Resolve for the built-in names in tests and examples; it panics on error.
func MustResolve(s Setting) Endpoints {
	e, err := Resolve(s)
	if err != nil {
		panic(err)
	}
	return e
}

func publicEndpoints() Endpoints {
	return Endpoints{
		Name:          Public,
		AuthorityHost: "https://login.microsoftonline.com/", // azcore cloud.AzurePublic
		// azcore's own default audience is https://management.core.windows.net/; both are
		// accepted by ARM, and docs/azure.md §9.2 asks for management.azure.com.
		ResourceManager:       Service{Endpoint: "https://management.azure.com", Audience: AudienceResourceManager},
		Graph:                 Service{Endpoint: "https://graph.microsoft.com", Audience: AudienceGraph},
		DefenderStreaming:     Service{Endpoint: "https://api.security.microsoft.com", Audience: AudienceDefenderStreaming}, // docs/azure.md §3.1
		LogAnalytics:          Service{Endpoint: "https://api.loganalytics.io", Audience: AudienceLogAnalytics},             // docs/azure.md §7.1
		TokenExchangeAudience: tokenExchangeAudiencePublic,
	}
}

func usGovernmentEndpoints() Endpoints {
	return Endpoints{
		Name:          USGovernment,
		AuthorityHost: "https://login.microsoftonline.us/", // azcore cloud.AzureGovernment
		// azcore arm/runtime/runtime.go (docs/azure.md S18).
		ResourceManager: Service{Endpoint: "https://management.usgovcloudapi.net", Audience: "https://management.core.usgovcloudapi.net/"},
		// UNCONFIRMED: Graph for US Government L4 (GCC High); not in docs/azure.md.
		Graph: Service{Endpoint: "https://graph.microsoft.us", Audience: "https://graph.microsoft.us"},
		// UNCONFIRMED: docs/azure.md §3.1 only gives GCC (api-gcc...), whose Azure resources
		// live in the public cloud (use Setting.Overrides there). GCC High/DoD use "other
		// endpoints, not covered"; this value is the Defender for Endpoint GCC High API host.
		DefenderStreaming: Service{Endpoint: "https://api-gov.securitycenter.microsoft.us", Audience: "https://api-gov.securitycenter.microsoft.us"},
		// azquery cloud_config.go (docs/azure.md §7.1).
		LogAnalytics:          Service{Endpoint: "https://api.loganalytics.us", Audience: "https://api.loganalytics.us"},
		TokenExchangeAudience: tokenExchangeAudienceUSGov,
	}
}

func chinaEndpoints() Endpoints {
	return Endpoints{
		Name:          China,
		AuthorityHost: "https://login.chinacloudapi.cn/", // azcore cloud.AzureChina
		// azcore arm/runtime/runtime.go (docs/azure.md S18).
		ResourceManager: Service{Endpoint: "https://management.chinacloudapi.cn", Audience: "https://management.core.chinacloudapi.cn/"},
		// UNCONFIRMED: Graph operated by 21Vianet; not in docs/azure.md.
		Graph: Service{Endpoint: "https://microsoftgraph.chinacloudapi.cn", Audience: "https://microsoftgraph.chinacloudapi.cn"},
		// UNCONFIRMED: no Defender XDR streaming API is known in Azure China; left unset so
		// the streaming client refuses instead of calling a guessed host.
		DefenderStreaming: Service{},
		// azquery cloud_config.go (docs/azure.md §7.1).
		LogAnalytics:          Service{Endpoint: "https://api.loganalytics.azure.cn", Audience: "https://api.loganalytics.azure.cn"},
		TokenExchangeAudience: tokenExchangeAudienceChina,
	}
}

// customEndpoints points every API at one base URL (the emulator) and keeps the real
// public-cloud audiences.
func customEndpoints(base string) Endpoints {
	base = strings.TrimSuffix(base, "/")
	return Endpoints{
		Name:                  Custom,
		AuthorityHost:         base + "/",
		ResourceManager:       Service{Endpoint: base, Audience: AudienceResourceManager},
		Graph:                 Service{Endpoint: base, Audience: AudienceGraph},
		DefenderStreaming:     Service{Endpoint: base, Audience: AudienceDefenderStreaming},
		LogAnalytics:          Service{Endpoint: base, Audience: AudienceLogAnalytics},
		TokenExchangeAudience: tokenExchangeAudiencePublic,
	}
}

// UNCONFIRMED: the audiences of a managed-identity token used as a federated credential
// ("managed identity as FIC" for a multi-tenant app); general Entra knowledge, not in
// docs/azure.md.
const (
	tokenExchangeAudiencePublic = "api://AzureADTokenExchange"
	tokenExchangeAudienceUSGov  = "api://AzureADTokenExchangeUSGov"
	tokenExchangeAudienceChina  = "api://AzureADTokenExchangeChina"
)

// knownAudiences are hosts whose token audience differs from their cloud's default for the
// service: docs/azure.md §3.1 gives GCC's streaming API base URL and audience as one value.
var knownAudiences = map[string]string{
	"https://api-gcc.securitycenter.microsoft.us": "https://api-gcc.securitycenter.microsoft.us",
}

func override(s *Service, endpoint string) {
	if endpoint != "" {
		s.Endpoint = strings.TrimSuffix(endpoint, "/")
		if aud, ok := knownAudiences[strings.ToLower(s.Endpoint)]; ok {
			s.Audience = aud
		}
	}
}

func withSlash(u string) string {
	if strings.HasSuffix(u, "/") {
		return u
	}
	return u + "/"
}

func checkURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("cloud: %s %q is not an absolute URL", what, raw)
	}
	// Tokens travel to every one of these hosts; azcore refuses bearer tokens over HTTP anyway.
	if u.Scheme != "https" {
		return fmt.Errorf("cloud: %s %q must use https", what, raw)
	}
	return nil
}
