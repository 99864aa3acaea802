// Package client dials an xdrlink server and exposes its typed gRPC service
// clients. It is what the xdrlink CLI and Go integrations use:
//
//	c, err := client.New("127.0.0.1:9090", client.Options{Insecure: true})
//	t, err := c.Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: "tenants/contoso"})
package client
