package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// DefaultSaveEvery is how often a checkpoint is written while a replay runs.
const DefaultSaveEvery = 5 * time.Second

// Checkpoint records the objects a replay applied, in the order it applied
// them, with each object's records of interest: a rerun skips those objects
// and rebuilds the state they left from the records (no object is read
// twice, and the findings after the resume are those an uninterrupted run
// gives). It is written whole to a temporary file that is renamed over the
// old one, so a crash leaves the previous checkpoint or the new one, never a
// torn file.
type Checkpoint struct {
	path string
	// SaveEvery is how often Run writes the checkpoint between objects
	// (DefaultSaveEvery when 0); it is always written when Run returns.
	SaveEvery time.Duration

	file  checkpointFile
	done  map[string]bool
	saved time.Time
	dirty bool
}

type checkpointFile struct {
	Version int          `json:"version"`
	Bucket  string       `json:"bucket"`
	Objects []doneObject `json:"objects"`
}

// doneObject is one object applied, with its records of interest.
type doneObject struct {
	Key     string               `json:"key"`
	Records []*cloudtrail.Record `json:"records,omitempty"`
}

const checkpointVersion = 1

// OpenCheckpoint reads the checkpoint at path, or starts an empty one when
// the file does not exist.
func OpenCheckpoint(path string) (*Checkpoint, error) {
	c := &Checkpoint{path: path, file: checkpointFile{Version: checkpointVersion}, done: map[string]bool{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("replay checkpoint: %w", err)
	}
	if err := json.Unmarshal(b, &c.file); err != nil {
		return nil, fmt.Errorf("replay checkpoint %s: not a checkpoint: %w", path, err)
	}
	if c.file.Version != checkpointVersion {
		return nil, fmt.Errorf("replay checkpoint %s: version %d, want %d", path, c.file.Version, checkpointVersion)
	}
	for i, o := range c.file.Objects {
		if o.Key == "" || c.done[o.Key] {
			return nil, fmt.Errorf("replay checkpoint %s: objects[%d]: empty or repeated key %q", path, i, o.Key)
		}
		c.done[o.Key] = true
	}
	return c, nil
}

// Has reports whether the object with key was applied.
func (c *Checkpoint) Has(key string) bool { return c.done[key] }

// Len is the number of objects applied.
func (c *Checkpoint) Len() int { return len(c.file.Objects) }

// check binds the checkpoint to one bucket.
func (c *Checkpoint) check(bucket string) error {
	switch c.file.Bucket {
	case "":
		c.file.Bucket = bucket
	case bucket:
	default:
		return fmt.Errorf("replay checkpoint %s is of bucket %s, not %s", c.path, c.file.Bucket, bucket)
	}
	return nil
}

// restore applies the records of the objects done, in their order, without
// reporting their findings again: the state they left.
func (c *Checkpoint) restore(ctx context.Context, p Applier) error {
	for _, o := range c.file.Objects {
		if err := p.Restore(ctx, o.Records); err != nil {
			return fmt.Errorf("replay checkpoint %s: restore %s: %w", c.path, o.Key, err)
		}
	}
	return nil
}

// add records an object applied, and writes the checkpoint when SaveEvery
// has passed since the last write.
func (c *Checkpoint) add(key string, recs []*cloudtrail.Record) error {
	c.file.Objects = append(c.file.Objects, doneObject{Key: key, Records: recs})
	c.done[key] = true
	c.dirty = true
	every := c.SaveEvery
	if every <= 0 {
		every = DefaultSaveEvery
	}
	if time.Since(c.saved) < every {
		return nil
	}
	return c.Save()
}

// Save writes the checkpoint when it changed: to a temporary file beside
// it, synced, then renamed over it.
func (c *Checkpoint) Save() error {
	if !c.dirty {
		return nil
	}
	b, err := json.Marshal(c.file)
	if err != nil {
		return fmt.Errorf("replay checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), filepath.Base(c.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("replay checkpoint: %w", err)
	}
	_, werr := tmp.Write(b)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), c.path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("replay checkpoint %s: %w", c.path, werr)
	}
	c.saved, c.dirty = time.Now(), false
	return nil
}
