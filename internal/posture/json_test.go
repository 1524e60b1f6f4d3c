package posture

import (
	"bufio"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
)

func TestWriteJSON(t *testing.T) {
	hostile := entry("efs_encrypted_at_rest", fsB, "AWS::EFS::FileSystem", finding.NonCompliant, "HIGH", "fs\u202eevil\u0085 \x1b[2J", t0)
	tests := []struct {
		name    string
		entries []ledger.Entry
		filter  Filter
		want    []string // "STATUS rule resource-id", in order
	}{
		{"default: posture order, not applicable hidden", smallPosture(), Filter{}, []string{
			"NON_COMPLIANT efs_encrypted_at_rest fs-0fedcba9876543210",
			"NON_COMPLIANT kms_key_rotation_enabled 1234abcd-12ab-34cd-56ef-1234567890ab",
			"ERROR efs_encryption_in_transit_enforced fs-0fedcba9876543210",
			"COMPLIANT efs_kms_key_available 1234abcd-12ab-34cd-56ef-1234567890ab",
			"COMPLIANT cloudtrail_monitoring_intact atrest-trail",
			"COMPLIANT efs_encrypted_at_rest fs-0123456789abcdef0",
		}},
		{"status filter", smallPosture(), Filter{Statuses: []finding.Status{finding.Error}}, []string{
			"ERROR efs_encryption_in_transit_enforced fs-0fedcba9876543210",
		}},
		{"hostile text decodes to itself", []ledger.Entry{hostile}, Filter{}, []string{
			"NON_COMPLIANT efs_encrypted_at_rest fs-0fedcba9876543210",
		}},
		{"nothing: no lines", nil, Filter{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteJSON(&b, tt.entries, Options{Filter: tt.filter}); err != nil {
				t.Fatal(err)
			}
			for _, r := range b.String() {
				if r == 0x202e || r == 0x85 || r == 0x1b {
					t.Fatalf("output holds %U raw: %s", r, b.String())
				}
			}
			var got []ledger.Entry
			sc := bufio.NewScanner(strings.NewReader(b.String()))
			for sc.Scan() {
				var e ledger.Entry
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				got = append(got, e)
			}
			if k := keys(got); !reflect.DeepEqual(k, tt.want) {
				t.Fatalf("lines =\n%s\nwant\n%s", strings.Join(k, "\n"), strings.Join(tt.want, "\n"))
			}
			// Every line decodes to the entry it was written from.
			want := tt.filter.Apply(tt.entries)
			for i := range got {
				if !reflect.DeepEqual(normalise(got[i]), normalise(want[i])) {
					t.Errorf("line %d decodes to %+v, want %+v", i+1, got[i], want[i])
				}
			}
		})
	}
}

// normalise drops the monotonic clock readings and locations that a JSON
// round trip does not keep.
func normalise(e ledger.Entry) ledger.Entry {
	e.EventTime, e.Since = e.EventTime.UTC(), e.Since.UTC()
	tr := make([]ledger.Transition, len(e.Transitions))
	for i, x := range e.Transitions {
		x.At = x.At.UTC()
		tr[i] = x
	}
	e.Transitions = tr
	return e
}
