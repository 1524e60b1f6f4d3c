package finding

import (
	"fmt"
	"strings"
	"testing"
)

func TestDeliveryErrorNamesWhatWasLost(t *testing.T) {
	tests := []struct {
		name   string
		failed int
		want   string
	}{
		{"one", 1, "securityhub: 1 findings not imported: id-0 (Throttled: slow down)"},
		{"more than ten are counted", 12, "securityhub: 12 findings not imported: id-0 (Throttled: slow down) id-1 (Throttled: slow down) " +
			"id-2 (Throttled: slow down) id-3 (Throttled: slow down) id-4 (Throttled: slow down) id-5 (Throttled: slow down) " +
			"id-6 (Throttled: slow down) id-7 (Throttled: slow down) id-8 (Throttled: slow down) id-9 (Throttled: slow down) ... and 2 more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &DeliveryError{Sink: "securityhub", What: "findings not imported"}
			for i := range tc.failed {
				e.Failed = append(e.Failed, Undelivered{ID: fmt.Sprintf("id-%d", i), ErrorCode: "Throttled", ErrorMessage: "slow down"})
			}
			if got := e.Error(); got != tc.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestStableID(t *testing.T) {
	a := StableID("r", "arn:x", "e1")
	if a != StableID("r", "arn:x", "e1") || len(a) != 32 {
		t.Fatalf("StableID not stable or wrong length: %q", a)
	}
	// The ledger, the findings bus and Security Hub keep ids: they never
	// change. This one is the first 16 bytes of SHA-256("r\x00arn:x\x00e1"),
	// in hex.
	if a != "1c2f431270b7f22836799cbb3bc1eaa6" {
		t.Errorf("StableID = %q: ids kept elsewhere would no longer match", a)
	}
	// Longer than a stack buffer's worth.
	long := strings.Repeat("x", 300)
	if StableID(long, long, long) == StableID(long, long, long+"y") {
		t.Error("long inputs: different inputs gave the same id")
	}
	// The separator keeps ("ab","c") and ("a","bc") apart.
	if StableID("ab", "c", "") == StableID("a", "bc", "") || a == StableID("r", "arn:x", "e2") {
		t.Error("different inputs gave the same id")
	}
}
