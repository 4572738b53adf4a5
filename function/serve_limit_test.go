package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// The custom runtime reads at most MAX_PAYLOAD_BYTES+1 bytes of a body and
// refuses a larger one with the same code as the go1 door, unparsed and
// without a call to ECS; the same server then serves a valid intent.
func TestCustomRuntimeRefusesAPayloadOverTheLimit(t *testing.T) {
	emu := testenv.StartDemoEmulator(t)
	h := demoHandler(demoSetup{endpoint: emu.URL(), region: "cn-hangzhou"}, &bytes.Buffer{}, &bytes.Buffer{})
	h.MaxPayloadBytes = 4096
	srv := httptest.NewServer(customRuntime(h, newLogger(&bytes.Buffer{}, "error")))
	defer srv.Close()

	post := func(body string) report.Report {
		t.Helper()
		resp, err := http.Post(srv.URL+"/invoke", "application/octet-stream", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep report.Report
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, err %v", resp.StatusCode, err)
		}
		return rep
	}
	big := `{"action":"deprecate","imageId":"m-bp1web6h7i8j9k0l1m2n","id":"` + strings.Repeat("x", 1<<20) + `"}`
	rep := post(big)
	if rep.Received != 1 || rep.Counts[report.Rejected] != 1 || rep.Messages[0].Code != invoke.CodePayloadTooLarge {
		t.Fatalf("report %+v", rep)
	}
	if !strings.Contains(rep.Messages[0].Error, "4097 bytes received, more than MAX_PAYLOAD_BYTES (4096)") {
		t.Errorf("error %q", rep.Messages[0].Error)
	}
	if n := emu.Calls("DescribeImages") + emu.Calls("ModifyImageAttribute"); n != 0 {
		t.Errorf("%d ECS calls for a refused payload", n)
	}
	if rep := post(`{"action":"deprecate","imageId":"m-bp1web6h7i8j9k0l1m2n"}`); rep.Counts[report.Applied] != 1 {
		t.Fatalf("a valid intent after the refusal: %+v", rep)
	}
}
