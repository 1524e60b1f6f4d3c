package replay

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress is told what a replay reads.
type Progress interface {
	// Start gives the totals to read.
	Start(objects int, bytes int64)
	// Add counts objects done, their bytes and the records they held.
	Add(objects int, bytes int64, records int)
	// Finish ends the display.
	Finish()
}

type nopProgress struct{}

func (nopProgress) Start(int, int64)    {}
func (nopProgress) Add(int, int64, int) {}
func (nopProgress) Finish()             {}

// counts are a replay's totals so far.
type counts struct {
	mu                  sync.Mutex
	start               time.Time
	objects, objectsAll int
	bytes, bytesAll     int64
	records             int
}

func (c *counts) line(now time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	elapsed := now.Sub(c.start).Seconds()
	rate, eta := 0.0, "unknown"
	if elapsed > 0 {
		rate = float64(c.records) / elapsed
		if c.bytes > 0 {
			left := float64(c.bytesAll-c.bytes) / (float64(c.bytes) / elapsed)
			eta = (time.Duration(left) * time.Second).Round(time.Second).String()
		}
	}
	return fmt.Sprintf("%d/%d objects, %s/%s, %.0f records/s, ETA %s",
		c.objects, c.objectsAll, megabytes(c.bytes), megabytes(c.bytesAll), rate, eta)
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// Lines writes a plain progress line to w every interval, and a last one at
// the end: for logs and pipes.
type Lines struct {
	w        io.Writer
	interval time.Duration
	c        counts
	stop     chan struct{}
	done     chan struct{}
}

// NewLines writes a line every interval (only the last one when interval
// is not positive).
func NewLines(w io.Writer, interval time.Duration) *Lines {
	return &Lines{w: w, interval: interval}
}

// Start implements Progress.
func (l *Lines) Start(objects int, bytes int64) {
	l.c = counts{start: time.Now(), objectsAll: objects, bytesAll: bytes}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		var tick <-chan time.Time
		if l.interval > 0 {
			t := time.NewTicker(l.interval)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case now := <-tick:
				fmt.Fprintf(l.w, "atrest replay: %s\n", l.c.line(now))
			case <-l.stop:
				return
			}
		}
	}()
}

// Add implements Progress.
func (l *Lines) Add(objects int, bytes int64, records int) {
	l.c.mu.Lock()
	l.c.objects += objects
	l.c.bytes += bytes
	l.c.records += records
	l.c.mu.Unlock()
}

// Finish implements Progress.
func (l *Lines) Finish() {
	if l.stop == nil {
		return
	}
	close(l.stop)
	<-l.done
	fmt.Fprintf(l.w, "atrest replay: %s\n", l.c.line(time.Now()))
	l.stop = nil
}

// Bar draws a progress bar on a terminal: bytes read of the total with
// their rate and the time left, objects and records/s in its description.
type Bar struct {
	w   io.Writer
	bar *progressbar.ProgressBar
	c   counts
}

// NewBar draws on w, a terminal.
func NewBar(w io.Writer) *Bar { return &Bar{w: w} }

// Start implements Progress.
func (b *Bar) Start(objects int, bytes int64) {
	b.c = counts{start: time.Now(), objectsAll: objects, bytesAll: bytes}
	b.bar = progressbar.NewOptions64(bytes,
		progressbar.OptionSetWriter(b.w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetDescription(b.describe()),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }),
	)
}

func (b *Bar) describe() string {
	b.c.mu.Lock()
	defer b.c.mu.Unlock()
	rate := 0.0
	if s := time.Since(b.c.start).Seconds(); s > 0 {
		rate = float64(b.c.records) / s
	}
	return fmt.Sprintf("%d/%d objects, %.0f records/s", b.c.objects, b.c.objectsAll, rate)
}

// Add implements Progress.
func (b *Bar) Add(objects int, bytes int64, records int) {
	b.c.mu.Lock()
	b.c.objects += objects
	b.c.bytes += bytes
	b.c.records += records
	b.c.mu.Unlock()
	b.bar.Describe(b.describe())
	_ = b.bar.Add64(bytes) // a write error to the terminal is not the replay's
}

// Finish implements Progress. An interrupted replay's bar stays where it
// stopped.
func (b *Bar) Finish() {
	if b.bar == nil {
		return
	}
	b.c.mu.Lock()
	done := b.c.objects == b.c.objectsAll
	b.c.mu.Unlock()
	if done {
		_ = b.bar.Finish()
	} else {
		_ = b.bar.Exit()
	}
	b.bar = nil
}
