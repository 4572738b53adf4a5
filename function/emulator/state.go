package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// stateFile is where Options.StateFile keeps the state between runs.
type stateFile struct {
	path    string
	saveMu  sync.Mutex // one write at a time
	version uint64     // snapshots taken, counted under Server.mu
	saved   uint64     // the snapshot on disk, under saveMu
}

// loadState reads a state file; a file that does not exist yet is no state (nil, nil).
func loadState(path string) (*Seed, error) {
	seed, err := LoadSeed(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return seed, err
}

// State is the emulator's current state in the seed format: a file written
// from it is a seed, and a state file is one.
func (s *Server) State() *Seed {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stateLocked()
}

func (s *Server) stateLocked() *Seed {
	seed := &Seed{Region: s.region, AccountID: s.account, Images: make([]SeedImage, 0, len(s.images)),
		Instances: slices.Clone(s.instances)}
	for _, img := range s.images {
		si := SeedImage{Image: img.Image, LicenseType: img.licenseType, OSType: img.osType, Architecture: img.architecture}
		si.Usage = "" // derived from the instances
		si.Tags = maps.Clone(img.Tags)
		si.SharedWith = slices.Sorted(maps.Keys(img.sharedWith))
		seed.Images = append(seed.Images, si)
	}
	slices.SortFunc(seed.Images, func(a, b SeedImage) int {
		if c := a.CreationTime.Compare(b.CreationTime); c != 0 {
			return c
		}
		return strings.Compare(a.ImageID, b.ImageID)
	})
	return seed
}

// persist writes the state file if the state changed since the last write.
// A later snapshot is never overwritten by an earlier one: concurrent calls
// each take a numbered snapshot, and only a newer one is written.
func (s *Server) persist() error {
	if s.state.path == "" {
		return nil
	}
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	s.dirty = false
	s.state.version++
	version := s.state.version
	data, err := json.MarshalIndent(s.stateLocked(), "", "  ")
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("emulator state: %w", err)
	}
	s.state.saveMu.Lock()
	defer s.state.saveMu.Unlock()
	if version <= s.state.saved {
		return nil
	}
	if err := writeFileAtomic(s.state.path, append(data, '\n')); err != nil {
		s.mu.Lock()
		s.dirty = true // try again after the next call
		s.mu.Unlock()
		return fmt.Errorf("emulator state: %w", err)
	}
	s.state.saved = version
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it
// over path, so a reader (or a crash) never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	// CreateTemp makes the file private (0600); a state file holds no secret
	// and is read like any other file.
	merr := tmp.Chmod(0o644)
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(merr, werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return nil
}
