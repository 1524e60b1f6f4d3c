package posture

import (
	"testing"

	"github.com/atrest/atrest/internal/ledger"
)

func TestNames(t *testing.T) {
	const (
		fsEast  = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0"
		fsWest  = "arn:aws:elasticfilesystem:us-west-2:111122223333:file-system/fs-0fedcba9876543210"
		fsOther = "arn:aws:elasticfilesystem:us-east-1:444455556666:file-system/fs-0fedcba9876543210"
		keyEast = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		// A trail whose name is a file system id: the id alone would be
		// ambiguous.
		trailFS = "arn:aws:cloudtrail:us-east-1:111122223333:trail/fs-0123456789abcdef0"
		gov     = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	)
	tests := []struct {
		name      string
		resources []string
		scope     string
		form      string
		want      map[string]string
		// text is shortened as the reasons are.
		text, wantText string
	}{
		{
			name: "one account and region: ids", resources: []string{fsEast, keyEast},
			scope: "account 111122223333, region us-east-1", form: "id",
			want:     map[string]string{fsEast: "fs-0123456789abcdef0", keyEast: "1234abcd-12ab-34cd-56ef-1234567890ab"},
			text:     "created by arn:aws:iam::111122223333:user/alice with key " + keyEast + ", not arn:aws:iam::999999999999:root.",
			wantText: "created by user/alice with key 1234abcd-12ab-34cd-56ef-1234567890ab, not arn:aws:iam::999999999999:root.",
		},
		{
			name: "two regions: region and id", resources: []string{fsEast, fsWest},
			scope: "account 111122223333", form: "region:id",
			want: map[string]string{fsEast: "us-east-1:fs-0123456789abcdef0", fsWest: "us-west-2:fs-0fedcba9876543210"},
			text: "key " + keyEast + " and user arn:aws:iam::111122223333:user/bob", wantText: "key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab and user user/bob",
		},
		{
			name: "two accounts: account and id", resources: []string{fsEast, fsOther},
			scope: "region us-east-1", form: "account:id",
			want: map[string]string{fsEast: "111122223333:fs-0123456789abcdef0", fsOther: "444455556666:fs-0fedcba9876543210"},
			text: "arn:aws:iam::111122223333:user/bob", wantText: "arn:aws:iam::111122223333:user/bob",
		},
		{
			name: "same id twice: full ARNs for those", resources: []string{fsEast, trailFS, keyEast},
			scope: "account 111122223333, region us-east-1", form: "id",
			want: map[string]string{fsEast: fsEast, trailFS: trailFS, keyEast: "1234abcd-12ab-34cd-56ef-1234567890ab"},
		},
		{
			name: "two partitions: ARNs", resources: []string{keyEast, gov},
			scope: "", form: "ARN",
			want: map[string]string{keyEast: keyEast, gov: gov},
		},
		{
			name: "not an ARN: as recorded", resources: []string{"fs-1", "not an arn"},
			scope: "", form: "recorded",
			want: map[string]string{"fs-1": "fs-1", "not an arn": "not an arn"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var entries []ledger.Entry
			for _, r := range tt.resources {
				entries = append(entries, ledger.Entry{Resource: r}, ledger.Entry{Resource: r, Rule: "second"})
			}
			n := newNames(entries)
			if n.scope != tt.scope || n.form() != tt.form {
				t.Errorf("scope, form = %q, %q; want %q, %q", n.scope, n.form(), tt.scope, tt.form)
			}
			for r, want := range tt.want {
				if got := n.resource(r); got != want {
					t.Errorf("resource(%s) = %q, want %q", r, got, want)
				}
			}
			if got := n.text(tt.text); got != tt.wantText {
				t.Errorf("text(%q) =\n%q\nwant\n%q", tt.text, got, tt.wantText)
			}
		})
	}
}
