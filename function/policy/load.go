package policy

import (
	"fmt"
	"strings"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
)

// The environment variables that give the policy.
const (
	// EnvFile names a file holding the policy, e.g. one shipped in the code
	// package (under FC: a path below /code).
	EnvFile = "POLICY_FILE"
	// EnvInline holds the policy itself.
	EnvInline = "POLICY"
)

// Load reads the policy that POLICY_FILE (a path, read with readFile) or
// POLICY (the JSON itself) gives, through getenv (os.Getenv in production, a
// map in tests). It returns nil and no error when neither is set (a value of
// only spaces counts as unset): the function then works from its messages
// alone. Both set is an error, since which one was meant cannot be known. Any
// error names the variable, and for a bad policy every violation (see Parse),
// so that the start fails with something a person can act on.
func Load(getenv func(string) string, readFile func(string) ([]byte, error)) (*Policy, error) {
	file := strings.TrimSpace(getenv(EnvFile))
	inline := getenv(EnvInline)
	if strings.TrimSpace(inline) == "" {
		inline = ""
	}
	switch {
	case file != "" && inline != "":
		return nil, &intent.Error{Code: CodeConflict, Field: EnvFile,
			Message: fmt.Sprintf("%s and %s are both set: give the policy one way only", EnvFile, EnvInline)}
	case file != "":
		text, err := readFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", EnvFile, file,
				&intent.Error{Code: CodeUnreadable, Message: fmt.Sprintf("cannot read the policy: %v", err)})
		}
		p, err := Parse(text)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", EnvFile, file, err)
		}
		return p, nil
	case inline != "":
		p, err := Parse([]byte(inline))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvInline, err)
		}
		return p, nil
	}
	return nil, nil
}
