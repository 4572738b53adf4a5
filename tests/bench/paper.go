package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The nightly rotation the paper scale prices.
const (
	paperImages  = 100_000
	paperRegions = 20
	quotaPerMin  = 1000 // ECS: calls per 60 s per API per region
)

// fcSpec is what s.yaml gives the function: memory and timeout.
type fcSpec struct {
	memoryMB, timeoutS, rateLimit float64
}

func readSpec(root string) (fcSpec, error) {
	b, err := os.ReadFile(filepath.Join(root, "s.yaml"))
	if err != nil {
		return fcSpec{}, err
	}
	var spec struct {
		Resources map[string]struct {
			Props struct {
				MemorySize  float64           `yaml:"memorySize"`
				Timeout     float64           `yaml:"timeout"`
				Environment map[string]string `yaml:"environmentVariables"`
			} `yaml:"props"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		return fcSpec{}, err
	}
	p := spec.Resources["imageLifecycle"].Props
	if p.MemorySize == 0 || p.Timeout == 0 {
		return fcSpec{}, fmt.Errorf("s.yaml: imageLifecycle has no memorySize or timeout")
	}
	out := fcSpec{memoryMB: p.MemorySize, timeoutS: p.Timeout, rateLimit: 16}
	if v, ok := p.Environment["ECS_RATE_LIMIT"]; ok {
		_, _ = fmt.Sscanf(v, "%g", &out.rateLimit)
	}
	return out, nil
}

// onPaper prices a nightly rotation of paperImages images across
// paperRegions regions from the rotate figures of section 1 (calls per
// changed image, by API) and s.yaml.
func (s *suite) onPaper() error {
	need := []string{"calls/rotate/changed", "calls/rotate/writes", "calls/rotate/share-reads", "calls/rotate/describe-images", "calls/rotate/converged-calls"}
	for _, n := range need {
		if _, ok := s.figures[n]; !ok {
			return fmt.Errorf("the paper scale needs the calls section (-only calls,paper)")
		}
	}
	spec, err := readSpec(s.root)
	if err != nil {
		return err
	}
	f := s.figures
	perRegion := float64(paperImages) / paperRegions
	changed := f["calls/rotate/changed"]
	// Calls per API per region, scaled from the 300-image rotation.
	byAPI := map[string]float64{
		"ModifyImageAttribute":         f["calls/rotate/writes"] / changed * perRegion,
		"DescribeImageSharePermission": f["calls/rotate/share-reads"] / changed * perRegion,
		"DescribeImages":               f["calls/rotate/describe-images"] / changed * perRegion,
	}
	total, busiest := 0.0, 0.0
	for _, n := range byAPI {
		total += n
		busiest = max(busiest, n)
	}
	var busiestAPIs []string
	for _, api := range slices.Sorted(maps.Keys(byAPI)) {
		if byAPI[api] == busiest {
			busiestAPIs = append(busiestAPIs, api)
		}
	}
	busiestAPI := strings.Join(busiestAPIs, " and ")
	// Each API has its own quota, so the busiest one sets the pace.
	quotaMin := busiest / quotaPerMin
	limitS := busiest / spec.rateLimit
	gbS := limitS * spec.memoryMB / 1024 * paperRegions
	s.info("7 paper", fmt.Sprintf("deprecate %d images in %d regions: ECS calls", paperImages, paperRegions),
		fmt.Sprintf("%.0f (%.2f per image)", total*paperRegions, total/perRegion),
		fmt.Sprintf("%.0f per region: %s; scaled from the 300-image rotation of section 1; at the target (1.02 per image) %.0f",
			total, breakdownF(byAPI), 1.02*paperImages))
	s.info("7 paper", "the same: minutes at the quota", fmt.Sprintf("%.1f min per region", quotaMin),
		fmt.Sprintf("regions in parallel, each API its own %d calls/60 s: the busiest, %s, %.0f calls each; at ECS_RATE_LIMIT=%g (s.yaml) %.1f min; "+
			"a %g s invocation makes at most %.0f calls of one API at that rate, so a region's %.0f spread over >= %.0f invocations",
			quotaPerMin, busiestAPI, busiest, spec.rateLimit, limitS/60, spec.timeoutS, spec.timeoutS*spec.rateLimit, busiest,
			ceilDiv(busiest, spec.timeoutS*spec.rateLimit)))
	s.info("7 paper", "the same: FC GB-seconds", fmt.Sprintf("%.0f GB-s", gbS),
		fmt.Sprintf("memorySize %g MB x %.0f s busy per region (paced by ECS_RATE_LIMIT=%g) x %d regions", spec.memoryMB, limitS, spec.rateLimit, paperRegions))
	conv := f["calls/rotate/converged-calls"] / 300 * paperImages
	s.info("7 paper", "a converged night (nothing to change): ECS calls", fmt.Sprintf("%.0f", conv),
		fmt.Sprintf("the converged 300-image rotate's %.0f calls per 300 images, scaled; %.1f min per region at the quota, %.0f GB-s",
			f["calls/rotate/converged-calls"], conv/paperRegions/quotaPerMin, conv/paperRegions/spec.rateLimit*spec.memoryMB/1024*paperRegions))
	return nil
}

func ceilDiv(a, b float64) float64 {
	n := a / b
	if n != float64(int(n)) {
		return float64(int(n) + 1)
	}
	return n
}

func breakdownF(m map[string]float64) string {
	ints := map[string]int{}
	for k, v := range m {
		ints[k] = int(v + 0.5)
	}
	return breakdown(ints)
}
