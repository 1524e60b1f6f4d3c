package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// validateEMF checks one document against the embedded metric format
// specification: a JSON object whose _aws member holds a millisecond
// Timestamp and CloudWatchMetrics directives, each with a Namespace,
// DimensionSets of at most 30 keys that name string members of the root,
// and at most 100 Metrics whose names are members of the root holding a
// number or an array of at most 100 numbers.
func validateEMF(doc []byte) error {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(doc, &root); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	var meta struct {
		Timestamp         *json.Number
		CloudWatchMetrics []struct {
			Namespace  *string
			Dimensions [][]string
			Metrics    []struct {
				Name              *string
				Unit              *string
				StorageResolution *int
			}
		}
	}
	raw, ok := root["_aws"]
	if !ok {
		return fmt.Errorf("no _aws member")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil {
		return fmt.Errorf("_aws.Timestamp missing")
	}
	if _, err := meta.Timestamp.Int64(); err != nil {
		return fmt.Errorf("_aws.Timestamp %s is not integer milliseconds", *meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return fmt.Errorf("_aws.CloudWatchMetrics empty")
	}
	units := map[string]bool{"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true, "Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true, "Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true, "Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true, "Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true}
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace == nil || len(*d.Namespace) == 0 || len(*d.Namespace) > 255 {
			return fmt.Errorf("namespace missing or too long")
		}
		if d.Dimensions == nil {
			return fmt.Errorf("Dimensions missing")
		}
		for _, set := range d.Dimensions {
			if len(set) > EMFMaxDimensions {
				return fmt.Errorf("dimension set of %d keys", len(set))
			}
			for _, k := range set {
				var v string
				if err := json.Unmarshal(root[k], &v); err != nil {
					return fmt.Errorf("dimension %s is not a string member: %w", k, err)
				}
			}
		}
		if len(d.Metrics) == 0 || len(d.Metrics) > EMFMaxMetrics {
			return fmt.Errorf("%d metrics in a directive", len(d.Metrics))
		}
		seen := map[string]bool{}
		for _, m := range d.Metrics {
			if m.Name == nil || *m.Name == "" || len(*m.Name) > 1024 {
				return fmt.Errorf("metric name missing or too long")
			}
			if seen[*m.Name] {
				return fmt.Errorf("metric %s twice", *m.Name)
			}
			seen[*m.Name] = true
			if m.Unit != nil && !units[*m.Unit] {
				return fmt.Errorf("metric %s: unit %q", *m.Name, *m.Unit)
			}
			v, ok := root[*m.Name]
			if !ok {
				return fmt.Errorf("metric %s has no member", *m.Name)
			}
			var n float64
			if json.Unmarshal(v, &n) == nil {
				continue
			}
			var ns []float64
			if err := json.Unmarshal(v, &ns); err != nil {
				return fmt.Errorf("metric %s: %s is neither a number nor an array of numbers", *m.Name, v)
			}
			if len(ns) == 0 || len(ns) > EMFMaxValues {
				return fmt.Errorf("metric %s: %d values", *m.Name, len(ns))
			}
		}
	}
	return nil
}

func TestEMFGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := NewEMFSink(&buf).Publish(context.Background(), knownInvocation(true).Batch()); err != nil {
		t.Fatal(err)
	}
	golden(t, "emf-invocation-organization.golden", buf.Bytes())
	lines := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
	// One document a dimension set: Source s3, eventbridge, cli and sweep
	// (counters and latency together), 4 Findings sets, 1 gauge set.
	if len(lines) != 9 {
		t.Fatalf("%d documents, want 9", len(lines))
	}
	for i, l := range lines {
		if err := validateEMF(l); err != nil {
			t.Errorf("document %d: %v\n%s", i, err, l)
		}
	}
}

// TestEMFSplitsLimits checks that a batch beyond one document's limits is
// spread over documents that each keep them, and loses no observation.
func TestEMFSplitsLimits(t *testing.T) {
	b := thousandFindings().Batch()
	// 150 metrics sharing one dimension set.
	for i := range 150 {
		b.Datums = append(b.Datums, cnt(fmt.Sprintf("M%03d", i), float64(i), Dimension{"Shared", "x"}))
	}
	docs, err := EMFDocuments(b)
	if err != nil {
		t.Fatal(err)
	}
	var latency []float64
	shared := 0
	sum := 0.0
	for i, d := range docs {
		if err := validateEMF(d); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var root map[string]json.RawMessage
		_ = json.Unmarshal(d, &root)
		if v, ok := root[MetricDetectionLatency]; ok {
			var vs []float64
			if err := json.Unmarshal(v, &vs); err != nil {
				t.Fatal(err)
			}
			latency = append(latency, vs...)
		}
		if _, ok := root["Shared"]; ok {
			shared++
			for k, v := range root {
				if len(k) == 4 && k[0] == 'M' {
					var n float64
					_ = json.Unmarshal(v, &n)
					sum += n
				}
			}
		}
	}
	// 1,000 Findings sets + 10 documents for Source=sweep (1,000 latency
	// values, 100 a document; EventsProcessed rides in the first) + 2
	// documents for the 150 shared metrics.
	if len(docs) != 1012 {
		t.Errorf("%d documents, want 1012", len(docs))
	}
	if len(latency) != 1000 || latency[0] != 1 || latency[999] != 1000 {
		t.Errorf("latency values %d (first %v), want 1..1000", len(latency), latency[:min(1, len(latency))])
	}
	if shared != 2 || sum != 149*150/2 {
		t.Errorf("shared documents %d sum %v, want 2 and %d", shared, sum, 149*150/2)
	}
}

func TestEMFExpandsCounts(t *testing.T) {
	b := Batch{Namespace: "Atrest", Timestamp: t0, Datums: []Datum{
		{Name: MetricDetectionLatency, Unit: UnitMilliseconds, Dimensions: []Dimension{{DimSource, "s3"}}, Values: []float64{5, 7.5}, Counts: []float64{2, 1}},
	}}
	docs, err := EMFDocuments(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_aws":{"Timestamp":1773500966000,"CloudWatchMetrics":[{"Namespace":"Atrest","Dimensions":[["Source"]],"Metrics":[{"Name":"DetectionLatency","Unit":"Milliseconds"}]}]},"Source":"s3","DetectionLatency":[5,5,7.5]}`
	if len(docs) != 1 || string(docs[0]) != want {
		t.Fatalf("got %s\nwant %s", docs, want)
	}
}
