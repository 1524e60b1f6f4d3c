package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// Limits of one embedded metric format document, from the specification
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
const (
	// EMFMaxMetrics is the most metrics one MetricDirective may declare.
	EMFMaxMetrics = 100
	// EMFMaxDimensions is the most dimension keys one DimensionSet may hold.
	EMFMaxDimensions = 30
	// EMFMaxValues is the most values one metric's array may hold.
	EMFMaxValues = 100
)

// ErrTooManyDimensions is returned for a datum with more dimensions than a
// sink can deliver.
var ErrTooManyDimensions = errors.New("metrics: too many dimensions")

// EMFSink writes each batch as embedded metric format documents, one JSON
// object a line, to W (stdout in Lambda, where CloudWatch Logs extracts the
// metrics). Datums sharing a dimension set share a document; a document
// holds at most EMFMaxMetrics metrics and EMFMaxValues values a metric, and
// the rest spill into further documents.
type EMFSink struct {
	mu sync.Mutex
	w  io.Writer
}

var _ Sink = (*EMFSink)(nil)

// NewEMFSink returns a sink writing to w.
func NewEMFSink(w io.Writer) *EMFSink { return &EMFSink{w: w} }

// Publish writes the batch's documents in one Write.
func (s *EMFSink) Publish(_ context.Context, b Batch) error {
	docs, err := EMFDocuments(b)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, d := range docs {
		buf.Write(d)
		buf.WriteByte('\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("metrics: write emf: %w", err)
	}
	return nil
}

type emfMetric struct {
	name   string
	unit   Unit
	values []float64 // every observation, counts expanded
}

type emfGroup struct {
	dims    []Dimension
	metrics []emfMetric
}

// EMFDocuments renders a batch as embedded metric format documents, in the
// batch's order of dimension sets.
func EMFDocuments(b Batch) ([][]byte, error) {
	var groups []*emfGroup
	index := map[string]*emfGroup{}
	for _, d := range b.Datums {
		if len(d.Dimensions) > EMFMaxDimensions {
			return nil, fmt.Errorf("%w: %s has %d, emf allows %d", ErrTooManyDimensions, d.Name, len(d.Dimensions), EMFMaxDimensions)
		}
		if len(d.Values) != len(d.Counts) {
			return nil, fmt.Errorf("metrics: %s: %d values but %d counts", d.Name, len(d.Values), len(d.Counts))
		}
		key := dimensionKey(d.Dimensions)
		g := index[key]
		if g == nil {
			g = &emfGroup{dims: d.Dimensions}
			index[key] = g
			groups = append(groups, g)
		}
		m := emfMetric{name: d.Name, unit: d.Unit}
		for i, v := range d.Values {
			for range int(d.Counts[i]) {
				m.values = append(m.values, v)
			}
		}
		g.metrics = append(g.metrics, m)
	}
	ts := b.Timestamp.UnixMilli()
	var docs [][]byte
	for _, g := range groups {
		// A metric name may appear once a document; a repeated name (the
		// same metric and dimensions given twice) starts a new round.
		var rounds [][]emfMetric
		for _, m := range g.metrics {
			placed := false
			for i, r := range rounds {
				if !hasMetric(r, m.name) {
					rounds[i] = append(r, m)
					placed = true
					break
				}
			}
			if !placed {
				rounds = append(rounds, []emfMetric{m})
			}
		}
		for _, r := range rounds {
			for start := 0; start < len(r); start += EMFMaxMetrics {
				chunk := r[start:min(start+EMFMaxMetrics, len(r))]
				for part := 0; ; part++ {
					doc, more := emfDocument(b.Namespace, ts, g.dims, chunk, part)
					if doc == nil {
						break
					}
					docs = append(docs, doc)
					if !more {
						break
					}
				}
			}
		}
	}
	return docs, nil
}

func hasMetric(ms []emfMetric, name string) bool {
	for _, m := range ms {
		if m.name == name {
			return true
		}
	}
	return false
}

// emfDocument renders part (0, 1, ...) of a set of metrics: the part-th
// slice of EMFMaxValues values of each metric that has one. It returns nil
// when no metric has values left, and whether any metric has more.
func emfDocument(namespace string, ts int64, dims []Dimension, ms []emfMetric, part int) ([]byte, bool) {
	type entry struct {
		m      emfMetric
		values []float64
	}
	var entries []entry
	more := false
	for _, m := range ms {
		lo := part * EMFMaxValues
		if lo >= len(m.values) {
			continue
		}
		hi := min(lo+EMFMaxValues, len(m.values))
		if hi < len(m.values) {
			more = true
		}
		entries = append(entries, entry{m, m.values[lo:hi]})
	}
	if len(entries) == 0 {
		return nil, false
	}
	var buf bytes.Buffer
	buf.WriteString(`{"_aws":{"Timestamp":`)
	buf.WriteString(strconv.FormatInt(ts, 10))
	buf.WriteString(`,"CloudWatchMetrics":[{"Namespace":`)
	writeString(&buf, namespace)
	buf.WriteString(`,"Dimensions":[[`)
	for i, d := range dims {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(&buf, d.Name)
	}
	buf.WriteString(`]],"Metrics":[`)
	for i, e := range entries {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"Name":`)
		writeString(&buf, e.m.name)
		buf.WriteString(`,"Unit":`)
		writeString(&buf, string(e.m.unit))
		buf.WriteByte('}')
	}
	buf.WriteString(`]}]}`)
	for _, d := range dims {
		buf.WriteByte(',')
		writeString(&buf, d.Name)
		buf.WriteByte(':')
		writeString(&buf, d.Value)
	}
	for _, e := range entries {
		buf.WriteByte(',')
		writeString(&buf, e.m.name)
		buf.WriteByte(':')
		if len(e.values) == 1 {
			buf.WriteString(formatNumber(e.values[0]))
			continue
		}
		buf.WriteByte('[')
		for i, v := range e.values {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(formatNumber(v))
		}
		buf.WriteByte(']')
	}
	buf.WriteByte('}')
	return buf.Bytes(), more
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always marshals
	buf.Write(b)
}

func formatNumber(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
