package trailgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
)

func TestWriteIsDeterministicAndDecodes(t *testing.T) {
	var a, b bytes.Buffer
	sa, err := Write(&a, Options{Records: 2000, Relevant: 0.05, Seed: 7, Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&b, Options{Records: 2000, Relevant: 0.05, Seed: 7, Gzip: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed wrote different files")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(plain)) != sa.Bytes {
		t.Errorf("Stats.Bytes = %d, file has %d", sa.Bytes, len(plain))
	}
	if per := len(plain) / sa.Records; per < 1000 || per > 3000 {
		t.Errorf("mean record size %d bytes, want 1–3 KB", per)
	}
	var emitted int
	st, err := (&cloudtrail.Decoder{}).Decode(context.Background(), "gen", bytes.NewReader(a.Bytes()),
		func(*cloudtrail.Record, cloudtrail.Shape) error { emitted++; return nil },
		func(e *cloudtrail.DecodeError) { t.Errorf("decode error: %v", e) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2000 || emitted != sa.Relevant || st.Skipped != 2000-sa.Relevant {
		t.Errorf("decoded %+v emitted %d, generator wrote %+v", st, emitted, sa)
	}
	if sa.Relevant < 60 || sa.Relevant > 140 {
		t.Errorf("%d records of interest in 2000 at 5 %%", sa.Relevant)
	}
}

// TestCompressesAsRealLogs: real CloudTrail log files compress 8:1 and
// better, since an account's calls repeat a few principals and resources. A
// generated log that compressed less would make a benchmark measure
// inflating random bytes instead of reading CloudTrail.
func TestCompressesAsRealLogs(t *testing.T) {
	for _, relevant := range []float64{0.01, 0.2} {
		var buf bytes.Buffer
		st, err := Write(&buf, Options{Records: 20000, Relevant: relevant, Seed: 3, Gzip: true})
		if err != nil {
			t.Fatal(err)
		}
		if ratio := float64(st.Bytes) / float64(buf.Len()); ratio < 8 {
			t.Errorf("relevant %.2f: %d bytes of JSON in %d of gzip, %.1f:1; want 8:1 or better", relevant, st.Bytes, buf.Len(), ratio)
		}
	}
}

// TestKeyCallsFollowKeyState: a call on a key is one its state allows: a
// disabled key is enabled before it is disabled again, and a key scheduled
// for deletion gets no further calls.
func TestKeyCallsFollowKeyState(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Write(&buf, Options{Records: 5000, Relevant: 1, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Records []struct {
			EventName         string `json:"eventName"`
			RequestParameters struct {
				KeyID string `json:"keyId"`
			} `json:"requestParameters"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	calls := map[string]int{}
	for i, r := range log.Records {
		id := r.RequestParameters.KeyID
		calls[r.EventName]++
		switch r.EventName {
		case "CreateKey", "CreateFileSystem":
			continue
		case "DisableKey":
			if state[id] != "" {
				t.Fatalf("record %d: DisableKey on a key that is %s", i, state[id])
			}
			state[id] = "Disabled"
		case "EnableKey":
			if state[id] == "PendingDeletion" {
				t.Fatalf("record %d: EnableKey on a key pending deletion", i)
			}
			state[id] = ""
		case "EnableKeyRotation":
			if state[id] != "" {
				t.Fatalf("record %d: EnableKeyRotation on a key that is %s", i, state[id])
			}
		case "ScheduleKeyDeletion":
			if state[id] == "PendingDeletion" {
				t.Fatalf("record %d: ScheduleKeyDeletion twice", i)
			}
			state[id] = "PendingDeletion"
		default:
			t.Fatalf("record %d: unexpected %s", i, r.EventName)
		}
	}
	for _, name := range []string{"CreateKey", "CreateFileSystem", "DisableKey", "EnableKey", "EnableKeyRotation", "ScheduleKeyDeletion"} {
		if calls[name] == 0 {
			t.Errorf("no %s in 5,000 records of interest: %v", name, calls)
		}
	}
}
