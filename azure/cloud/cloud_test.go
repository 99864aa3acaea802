package cloud

import (
	"strings"
	"testing"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

func TestResolveBuiltIns(t *testing.T) {
	for _, tc := range []struct {
		name      Name
		authority string
		arm       string
		streaming bool
	}{
		{Public, "https://login.microsoftonline.com/", "https://management.azure.com", true},
		{"", "https://login.microsoftonline.com/", "https://management.azure.com", true},
		{USGovernment, "https://login.microsoftonline.us/", "https://management.usgovcloudapi.net", true},
		{China, "https://login.chinacloudapi.cn/", "https://management.chinacloudapi.cn", false},
	} {
		t.Run(string(tc.name), func(t *testing.T) {
			e, err := Resolve(Setting{Name: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			if e.AuthorityHost != tc.authority || e.ResourceManager.Endpoint != tc.arm {
				t.Fatalf("got %s %s", e.AuthorityHost, e.ResourceManager.Endpoint)
			}
			if e.DefenderStreaming.Configured() != tc.streaming {
				t.Fatalf("streaming configured = %v", e.DefenderStreaming.Configured())
			}
			c := e.AzCore()
			if c.ActiveDirectoryAuthorityHost != tc.authority {
				t.Fatal(c.ActiveDirectoryAuthorityHost)
			}
			if rm := c.Services[azcloud.ResourceManager]; rm.Endpoint != tc.arm || rm.Audience == "" {
				t.Fatalf("resource manager service = %+v", rm)
			}
			if e.IsCustom() {
				t.Fatal("built-in cloud reported as custom")
			}
		})
	}
}

func TestPublicAudiencesAndScopes(t *testing.T) {
	e := MustResolve(Setting{Name: Public})
	want := map[string]string{
		e.ResourceManager.Scope():   "https://management.azure.com/.default",
		e.Graph.Scope():             "https://graph.microsoft.com/.default",
		e.DefenderStreaming.Scope(): "https://api.securitycenter.microsoft.com/.default",
		e.LogAnalytics.Scope():      "https://api.loganalytics.io/.default",
	}
	for got, w := range want {
		if got != w {
			t.Errorf("scope %s, want %s", got, w)
		}
	}
	if e.DefenderStreaming.Endpoint != "https://api.security.microsoft.com" {
		t.Error(e.DefenderStreaming.Endpoint)
	}
	// A trailing slash in an audience (azcore's sovereign ARM audiences) must not double up.
	gov := MustResolve(Setting{Name: USGovernment})
	if s := gov.ResourceManager.Scope(); s != "https://management.core.usgovcloudapi.net/.default" {
		t.Error(s)
	}
}

func TestCustomCloudKeepsRealAudiences(t *testing.T) {
	e, err := Resolve(Setting{Name: Custom, URL: "https://127.0.0.1:8443/"})
	if err != nil {
		t.Fatal(err)
	}
	if !e.IsCustom() {
		t.Fatal("custom cloud not reported as custom")
	}
	if e.AuthorityHost != "https://127.0.0.1:8443/" {
		t.Fatal(e.AuthorityHost)
	}
	for _, s := range []struct {
		svc Service
		aud string
	}{
		{e.ResourceManager, AudienceResourceManager},
		{e.Graph, AudienceGraph},
		{e.DefenderStreaming, AudienceDefenderStreaming},
		{e.LogAnalytics, AudienceLogAnalytics},
	} {
		if s.svc.Endpoint != "https://127.0.0.1:8443" || s.svc.Audience != s.aud {
			t.Errorf("service %+v, want endpoint at sim and audience %s", s.svc, s.aud)
		}
	}
	rm := e.AzCore().Services[azcloud.ResourceManager]
	if rm.Endpoint != "https://127.0.0.1:8443" || rm.Audience != "https://management.azure.com" {
		t.Fatalf("%+v", rm)
	}
}

func TestOverrides(t *testing.T) {
	e, err := Resolve(Setting{Name: Public, Overrides: EndpointOverrides{
		DefenderStreaming: "https://api-gcc.securitycenter.microsoft.us/",
		AuthorityHost:     "https://login.example.test",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if e.DefenderStreaming.Endpoint != "https://api-gcc.securitycenter.microsoft.us" || e.AuthorityHost != "https://login.example.test/" {
		t.Fatalf("%+v", e)
	}
	// docs/azure.md §3.1: GCC's streaming audience is its base URL, not the commercial one.
	if e.DefenderStreaming.Audience != "https://api-gcc.securitycenter.microsoft.us" ||
		e.DefenderStreaming.Scope() != "https://api-gcc.securitycenter.microsoft.us/.default" {
		t.Fatalf("GCC streaming audience %q", e.DefenderStreaming.Audience)
	}
	// Any other host keeps the cloud's audience.
	other, err := Resolve(Setting{Name: Public, Overrides: EndpointOverrides{DefenderStreaming: "https://streaming.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if other.DefenderStreaming.Audience != AudienceDefenderStreaming {
		t.Fatal("override of an unknown host changed the audience")
	}
}

func TestResolveRejects(t *testing.T) {
	for name, s := range map[string]Setting{
		"unknown name":       {Name: "mars"},
		"custom without url": {Name: Custom},
		"custom over http":   {Name: Custom, URL: "http://127.0.0.1:1"},
		"url on public":      {Name: Public, URL: "https://x.test"},
		"relative override":  {Name: Public, Overrides: EndpointOverrides{Graph: "graph.local"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Resolve(s); err == nil {
				t.Fatal("want error")
			} else if !strings.HasPrefix(err.Error(), "cloud: ") {
				t.Fatal(err)
			}
		})
	}
}
