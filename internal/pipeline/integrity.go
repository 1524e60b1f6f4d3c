package pipeline

import (
	"context"
	"slices"
	"strings"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// RecordIntegrity keeps the integrity failures of a trail's log files (from
// validation against its digest files, internal/integrity) for the rest of
// the pipeline's life, and judges the trail: cloudtrail_monitoring_intact
// reads them as the trail's integrity_failures. A failure stays: a later
// event on the trail is judged with it, since a log file once altered or
// lost stays so. A trail no record has shown is judged by its ARN alone.
func (p *Pipeline) RecordIntegrity(ctx context.Context, trailARN string, failures []string, source string, emit Emit) (Report, error) {
	var rep Report
	if len(failures) == 0 {
		return rep, nil
	}
	if p.integrity == nil {
		p.integrity = map[string][]string{}
	}
	merged := slices.Concat(p.integrity[trailARN], failures)
	slices.Sort(merged)
	p.integrity[trailARN] = slices.Compact(merged)
	fs, err := p.evaluate(ctx, state.ResourceRef{Type: state.TypeMonitoringPath, ARN: trailARN}, nil, source)
	for _, f := range fs {
		rep.Findings++
		if f.Status == finding.Error {
			rep.EvalErrors++
		}
		if err := emit(f); err != nil {
			return rep, err
		}
	}
	if err != nil && len(fs) == 0 {
		return rep, err
	}
	return rep, nil
}

// withIntegrity adds a trail's integrity failures to its input. A trail the
// store does not hold gets an input of what its ARN says, all else unknown.
func (p *Pipeline) withIntegrity(ctx context.Context, ref state.ResourceRef, rec *cloudtrail.Record, in *policy.Input, err error) (*policy.Input, error) {
	failures := p.integrity[ref.ARN]
	if len(failures) == 0 {
		return in, err
	}
	if err != nil {
		ts, ok := p.store.(state.TrailStore)
		if !ok {
			return in, err
		}
		t, terr := ts.Trail(ctx, ref.ARN)
		w, werr := ts.Watched(ctx, ref.ARN)
		if terr != nil || werr != nil || t != nil || w != nil {
			return in, err
		}
		a, _ := arns.Parse(ref.ARN)
		name, _ := strings.CutPrefix(a.Resource, "trail/")
		in = &policy.Input{ResourceType: string(ref.Type), Resource: ref.ARN, Config: p.config, FileSystems: []policy.FileSystemRef{},
			Trail: &policy.TrailInput{ARN: ref.ARN, Name: name, Account: a.AccountID, Region: a.Region, HomeRegion: a.Region}}
		if rec != nil {
			in.Event = &policy.EventInput{EventID: rec.EventID, EventName: rec.EventName, EventSource: rec.EventSource, EventTime: rec.EventTime}
		}
	}
	if in.Trail != nil {
		in.Trail.IntegrityFailures = slices.Clone(failures)
	}
	return in, nil
}
