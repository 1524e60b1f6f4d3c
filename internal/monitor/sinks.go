package monitor

import (
	"context"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/findingsbus"
	"github.com/atrest/atrest/internal/securityhub"
)

// BusSink publishes findings as "Atrest Finding" events on an EventBridge
// bus.
func BusSink(p *findingsbus.Publisher) FindingSink { return busSink{p} }

type busSink struct{ p *findingsbus.Publisher }

func (busSink) Name() string { return "event_bus" }

func (b busSink) PublishFindings(ctx context.Context, fs []finding.Finding) (int, error) {
	res, err := b.p.PublishFindings(ctx, fs)
	return res.Published, err
}

// HubSink imports findings into AWS Security Hub (ASFF).
func HubSink(e *securityhub.Exporter) FindingSink { return hubSink{e} }

type hubSink struct{ e *securityhub.Exporter }

func (hubSink) Name() string { return "security_hub" }

func (h hubSink) PublishFindings(ctx context.Context, fs []finding.Finding) (int, error) {
	return h.e.Export(ctx, fs)
}
