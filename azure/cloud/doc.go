// Package cloud holds the endpoint sets of the Azure clouds xdrlink talks to: public, US
// Government, China and a custom cloud (the azuresim emulator).
//
// A cloud is chosen with ONE setting (a [Setting] filled from config or flags) so that the
// authority host, ARM, Graph, the Defender streaming API and Log Analytics can never point at
// different clouds by accident. [Endpoints] turns that choice into the azcore
// [cloud.Configuration] (authority + ResourceManager) and into the per-API base URLs and
// token scopes the other azure/... packages use.
//
// For the custom cloud every endpoint is the emulator's URL but the token audiences stay the
// real ones, so the tokens the emulator issues look like real tokens to the code under test.
//
// [cloud.Configuration]: https://pkg.go.dev/github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud#Configuration
package cloud
