package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{name: "zero duration", ctx: context.Background(), d: 0, want: nil},
		{name: "negative duration", ctx: context.Background(), d: -time.Second, want: nil},
		{name: "short duration passes", ctx: context.Background(), d: time.Microsecond, want: nil},
		{name: "canceled context, zero duration", ctx: canceled, d: 0, want: context.Canceled},
		// An hour would fail the test by its deadline if the context
		// were not watched.
		{name: "canceled context ends a long wait", ctx: canceled, d: time.Hour, want: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Sleep(tc.ctx, tc.d); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Sleep(%v) = %v, want %v", tc.d, err, tc.want)
			}
		})
	}
}
