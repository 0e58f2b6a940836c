// Package k8s holds the Kubernetes manifests for running one ssebench test
// across many machines (see README.md here); its test checks that they fit
// together.
package k8s
