// Package contenthub installs a Content Hub solution into a Sentinel workspace the way that
// works in practice (docs/azure.md §6 recipe): find the product package by contentId, read its
// packagedContent (an ARM template), strip metadata.postDeployment, and deploy it as a
// Microsoft.Resources deployment — a long-running operation polled to completion.
package contenthub
