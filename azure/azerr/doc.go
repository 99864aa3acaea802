// Package azerr classifies failures of calls to Azure (ARM, Graph, the Defender streaming API,
// Log Analytics and Entra ID token requests) into a small set of [Kind]s the onboarding
// workflow branches on: retry later, re-read and retry, ask a human, or give up.
//
// The rules match on HTTP status, service error code and the documented messages
// (docs/azure.md §2.5 and §11); they live in one table-like function, [Classify], so a new
// symptom seen in the field is a one-line change with a test row.
package azerr
