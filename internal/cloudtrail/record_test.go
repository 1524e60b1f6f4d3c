package cloudtrail

import (
	"testing"
)

// TestAdditionalEventData decodes RetireGrant as CloudTrail writes it: null
// requestParameters, the grant id in additionalEventData. The fixture is the
// example of https://docs.aws.amazon.com/kms/latest/developerguide/ct-retire-grant.html.
// Both the byte-level decoder and the plain one must keep the field.
func TestAdditionalEventData(t *testing.T) {
	data := readFixture(t, "kms-retiregrant-record.json")
	for _, tc := range []struct {
		name string
		dec  *Decoder
	}{
		{"fast", &Decoder{}},
		{"plain", NewPlainDecoder(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := decodeBytes(t, tc.dec, "retire", data)
			if out.err != nil || len(out.errs) != 0 || len(out.recs) != 1 {
				t.Fatalf("decode: err %v, errors %v, %d records", out.err, out.errs, len(out.recs))
			}
			rec := out.recs[0]
			if rec.EventName != EventRetireGrant || rec.EventID != "0771bcfb-3e24-4332-9ac8-e1c06563eecf" {
				t.Errorf("record %s %s", rec.EventName, rec.EventID)
			}
			if got, want := string(rec.AdditionalEventData), `{
        "grantId": "abcde1237f76e4ba7987489ac329fbfba6ad343d6f7075dbd1ef191f0120514a"
    }`; got != want {
				t.Errorf("additionalEventData = %s, want %s", got, want)
			}
			if string(rec.RequestParameters) != "null" {
				t.Errorf("requestParameters = %s, want null", rec.RequestParameters)
			}
		})
	}
}

// TestMultiRegionEventsOfInterest: the calls that create and move
// multi-Region keys are evaluated; SynchronizeMultiRegionKey changes nothing
// atrest models.
func TestMultiRegionEventsOfInterest(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{EventReplicateKey, true},
		{EventUpdatePrimaryRegion, true},
		{"SynchronizeMultiRegionKey", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Interesting(SourceKMS, tc.name); got != tc.want {
				t.Errorf("Interesting(kms, %s) = %v, want %v", tc.name, got, tc.want)
			}
			if got := InterestingName(tc.name); got != tc.want {
				t.Errorf("InterestingName(%s) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}
