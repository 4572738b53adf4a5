// Package deploy holds the checks of how Function Compute runs the function: s.yaml
// against the fc3 component's schema, the RAM policies in deploy/ and the bootstrap
// file. The checks are its tests; this file holds what they share with CI.
package deploy

// BuildCommand is the pre-deploy action of s.yaml, run from the repository root: a
// static linux/amd64 binary (the only platform of FC's go1 runtime) named after the
// handler, in the code directory. CI runs exactly this; TestBuildCommand checks that
// s.yaml says the same and that the command really yields a linux/amd64 executable.
const BuildCommand = "GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -trimpath -o target/main ./function"

// PolicyCommand is the pre-deploy action that ships the lifecycle policy in the
// code package, and PolicyFile where the function finds it under FC (FC puts
// the code package at /code): s.yaml's POLICY_FILE. CI runs the same command;
// TestPolicyShipsWithTheCode checks all three agree.
const (
	PolicyCommand = "cp deploy/lifecycle-policy.json target/lifecycle-policy.json"
	PolicySource  = "deploy/lifecycle-policy.json"
	PolicyFile    = "/code/lifecycle-policy.json"
)
