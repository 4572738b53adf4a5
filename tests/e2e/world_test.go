package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// Credentials. The role's STS pair and token exist only in the invocation
// headers, as FC passes them, and both ECS and MNS accept only them (and the
// pair they rotate to). The environment holds a decoy pair that neither
// service accepts, where the default chain would find it: a call signed with
// it fails. Each is distinctive so that a leak into the process output is
// found by a plain substring search.
const (
	ecsKeyID     = "STS.e2e"
	ecsKeySecret = "e2e-ecs-secret-Qm7xT2"
	stsToken     = "e2e-sts-token-Zp4vW9kL"
	// The role's next pair, after FC rotates its credentials (the emulator
	// takes one token for every key, so the token stays).
	rotatedKeyID     = "STS.e2e-rotated"
	rotatedKeySecret = "e2e-rotated-secret-Hc5nR8"
	mnsKeyID         = "e2e-default-chain-key"
	mnsKeySecret     = "e2e-default-chain-secret-K9wB3r"

	retryQueue      = "image-intents"
	deadLetterQueue = "image-intents-dlq"
)

// secrets must never appear in what the function prints.
var secrets = []string{ecsKeySecret, stsToken, rotatedKeySecret, mnsKeySecret}

// The demo seed's build that the promote samples name.
const buildImage = "m-bp1web0a1b2c3d4e5f6g"

// worldOptions shape one test's fakes.
type worldOptions struct {
	// creatingCalls is emulator.Options.CreatingCalls: 0 keeps the seed's
	// Creating image Creating until SetStatus.
	creatingCalls int
	// noRetryQueue leaves RETRY_QUEUE unset (DEAD_LETTER_QUEUE stays).
	noRetryQueue bool
	// policy sets POLICY_FILE to deploy/lifecycle-policy.json, as s.yaml does.
	policy bool
	// seed edits the demo seed before the emulator starts.
	seed func(*emulator.Seed)
}

// world is one test's cloud: the ECS emulator with the demo seed (STS token
// required) and the MNS fake with both queues, plus the environment that
// points the function at them.
type world struct {
	emu *emulator.Server
	mns *mnsfake.Server
	env []string
}

func newWorld(t testing.TB, o worldOptions) *world {
	t.Helper()
	seed := testenv.DemoSeed(t)
	// The seed's build is at 40%, which makes the engine wait 18 s before it
	// reads again (lifecycle.DefaultCreatingBackoff); at 95% it waits the
	// minimum, 2 s. What the samples ask for does not depend on it.
	for i := range seed.Images {
		if seed.Images[i].ImageID == buildImage {
			seed.Images[i].Progress = 95
		}
	}
	if o.seed != nil {
		o.seed(seed)
	}
	emu := testenv.StartEmulator(t, emulator.Options{
		Seed:          seed,
		CreatingCalls: o.creatingCalls,
		Keys:          map[string]string{ecsKeyID: ecsKeySecret, rotatedKeyID: rotatedKeySecret},
		SecurityToken: stsToken,
	})
	mns := testenv.StartMNS(t, mnsfake.Options{
		Keys:   map[string]string{ecsKeyID: ecsKeySecret},
		Tokens: map[string]string{ecsKeyID: stsToken},
	}, retryQueue, deadLetterQueue)
	t.Cleanup(func() {
		// What the function sent on carries no credential either.
		for _, q := range []string{retryQueue, deadLetterQueue} {
			for _, m := range mns.Messages(q) {
				noSecrets(t, "MNS message "+m.ID+" in "+q, m.Body)
			}
		}
	})

	env := []string{
		"ECS_ENDPOINT=" + emu.URL(),
		"MNS_ENDPOINT=" + mns.Endpoint(), // plain http://127.0.0.1:PORT
		"DEAD_LETTER_QUEUE=" + deadLetterQueue,
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + mnsKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + mnsKeySecret,
		"LOG_LEVEL=debug", // the most output, for the secret scan
	}
	if !o.noRetryQueue {
		env = append(env, "RETRY_QUEUE="+retryQueue)
	}
	if o.policy {
		env = append(env, "POLICY_FILE="+filepath.Join(repoRoot, "deploy", "lifecycle-policy.json"))
	}
	return &world{emu: emu, mns: mns, env: env}
}

// image is the emulator's current state of one image.
func (w *world) image(t *testing.T, id string) ecsapi.Image {
	t.Helper()
	img, ok := w.emu.Image(id)
	if !ok {
		t.Fatalf("image %s is not in the emulator", id)
	}
	return img
}

// letters are the dead-letter queue's messages, decoded.
func (w *world) letters(t *testing.T) []deadLetter {
	t.Helper()
	var out []deadLetter
	for _, m := range w.mns.Messages(deadLetterQueue) {
		var l deadLetter
		if err := json.Unmarshal([]byte(m.Body), &l); err != nil {
			t.Fatalf("dead letter %s is not JSON: %v\n%s", m.ID, err, m.Body)
		}
		l.mnsID = m.ID
		out = append(out, l)
	}
	return out
}

// deadLetter is the part of a dead letter the tests read (queue.DeadLetter
// documents the whole).
type deadLetter struct {
	OriginalBody json.RawMessage `json:"originalBody"`
	MessageID    string          `json:"messageId"`
	Code         string          `json:"code"`
	Message      string          `json:"message"`
	Confirm      *intent.Confirm `json:"confirm"`
	Plan         *lifecycle.Plan `json:"plan"`
	mnsID        string
}

// sample reads a file of events/ (or of a directory below it).
func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "events", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noSecrets fails when any credential appears in text.
func noSecrets(t testing.TB, what, text string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s contains the credential %q", what, s)
		}
	}
}
