//go:build linux

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// evictPageCache drops what the page cache holds of the file at path, its
// dirty pages written out first, so that the next process to map it reads
// it from disk. The peak RSS of a run counts the pages of its own binary it
// maps, and on this kernel how many it maps depends on how the file got
// into the cache: a binary just written by go build peaked 2-10 MB higher
// than the same bytes read from disk (README, "Performance").
func evictPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
