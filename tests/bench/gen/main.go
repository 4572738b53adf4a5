// Command gen writes the inputs of the memory benchmark: an emulator seed of
// many images in a few families, and a batch of one modify intent per image,
// as a direct-invoke JSON array that `function apply` reads.
//
//	go run ./tests/bench/gen --images 1000 --families 10 --seed seed.json --batch batch.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
)

func main() {
	images := flag.Int("images", 1000, "images in the seed, and intents in the batch")
	families := flag.Int("families", 10, "families the images are spread over")
	seedPath := flag.String("seed", "bench-seed.json", "where to write the emulator seed")
	batchPath := flag.String("batch", "bench-batch.json", "where to write the batch of intents")
	flag.Parse()
	if *images < 1 || *families < 1 || *families > *images {
		fmt.Fprintln(os.Stderr, "gen: want images >= families >= 1")
		os.Exit(2)
	}
	seed, batch := generate(*images, *families)
	for _, out := range []struct {
		path string
		v    any
	}{{*seedPath, seed}, {*batchPath, batch}} {
		if err := writeJSON(out.path, out.v); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}

// intent is the part of the v1 intent the batch uses.
type intent struct {
	Action     string            `json:"action"`
	ID         string            `json:"id"`
	ImageID    string            `json:"imageId"`
	Attributes map[string]string `json:"attributes"`
}

// generate spreads n Available images over f families, one hour apart, and
// asks for a new description on each, so every intent is a real change.
func generate(n, f int) (emulator.Seed, []intent) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seed := emulator.Seed{Region: "cn-hangzhou", AccountID: "1649015465573715"}
	batch := make([]intent, 0, n)
	for i := range n {
		id := fmt.Sprintf("m-bench%05d", i)
		family := fmt.Sprintf("bench%02d", i%f)
		seed.Images = append(seed.Images, emulator.SeedImage{Image: ecsapi.Image{
			ImageID: id, Name: fmt.Sprintf("%s-%05d", family, i), Family: family,
			Description: "generated", Status: ecsapi.StatusAvailable,
			CreationTime: base.Add(time.Duration(i) * time.Hour),
			BootMode:     "UEFI", NvmeSupport: "supported", ImdsSupport: "v2",
		}})
		batch = append(batch, intent{Action: "modify", ID: fmt.Sprintf("bench-%05d", i), ImageID: id,
			Attributes: map[string]string{"description": fmt.Sprintf("benchmark run, image %d", i)}})
	}
	return seed, batch
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
