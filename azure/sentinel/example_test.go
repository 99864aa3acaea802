package sentinel_test

import (
	"context"
	"fmt"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azure/sentinel"
)

// Example shows the wiring of the azure/... packages for one customer tenant: one cloud
// setting, one process-wide Outbound, one credential Provider, then per-tenant clients.
func Example() {
	endpoints, err := cloud.Resolve(cloud.Setting{Name: cloud.Public})
	if err != nil {
		panic(err)
	}
	ob, err := outbound.New(outbound.Config{Cloud: endpoints}) // shared by every client
	if err != nil {
		panic(err)
	}
	creds, err := credential.NewProvider(credential.Options{
		Cloud:         endpoints,
		ClientOptions: ob.TokenClientOptions(),
		Profiles: []credential.Profile{{Name: "mssp", Kind: credential.KindClientSecret,
			ClientID: "a0000000-0000-4000-8000-00000000000a", ClientSecretEnv: "XDRLINK_CLIENT_SECRET"}},
	})
	if err != nil {
		panic(err)
	}

	const tenant = "20000000-0000-4000-8000-000000000000"
	ws := armclient.Workspace{SubscriptionID: "20000000-0000-4000-8000-0000000000c1", ResourceGroup: "rg-sentinel", Name: "ws-contoso"}
	cred, err := creds.Get("mssp", tenant)
	if err != nil {
		fmt.Println("credential:", err) // names the env var, never the secret
		return
	}
	arm, err := armclient.New(cred, ob.ARMClientOptions(tenant, ws.SubscriptionID))
	if err != nil {
		panic(err)
	}
	client, err := sentinel.New(arm, ws)
	if err != nil {
		panic(err)
	}
	existing, err := client.FindMTPDataConnector(context.Background())
	switch azerr.Classify(err) {
	case "":
		fmt.Println("connector present:", existing != nil)
	case azerr.Throttled, azerr.Transient:
		fmt.Println("retry later")
	default:
		fmt.Println("failed:", err)
	}
}
