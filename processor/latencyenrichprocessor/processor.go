package latencyenrichprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

// batchState carries per-call values so the hot path neither reads the clock
// nor touches telemetry per record.
type batchState struct {
	now          time.Time
	hits, misses int64
	scratch      [256]byte
}

func (e *enricher) finish(ctx context.Context, b *batchState) {
	tb := e.obs.tb.Load()
	if tb == nil {
		return
	}
	if b.hits > 0 {
		tb.LatencyEnrichLookups.Add(ctx, b.hits, attrHit)
	}
	if b.misses > 0 {
		tb.LatencyEnrichLookups.Add(ctx, b.misses, attrMiss)
	}
}

// lookup tries the key rules in order. A rule applies when all its attributes
// are present; the first applicable rule whose key has a row wins, so rules
// form a fallback chain from specific to general.
func (e *enricher) lookup(b *batchState, res, rec pcommon.Map) *metadatatable.Entry {
	for _, rule := range e.rules {
		if len(rule) == 1 {
			m := res
			if rule[0].From == ContextRecord {
				m = rec
			}
			v, ok := m.Get(rule[0].Attribute)
			if !ok {
				continue
			}
			var entry *metadatatable.Entry
			if v.Type() == pcommon.ValueTypeStr {
				entry = e.table.Lookup(v.Str())
			} else {
				entry = e.table.Lookup(v.AsString())
			}
			if entry != nil {
				b.hits++
				return entry
			}
			continue
		}
		key := b.scratch[:0]
		complete := true
		for i, part := range rule {
			m := res
			if part.From == ContextRecord {
				m = rec
			}
			v, ok := m.Get(part.Attribute)
			if !ok {
				complete = false
				break
			}
			if i > 0 {
				key = append(key, e.cfg.KeySeparator...)
			}
			if v.Type() == pcommon.ValueTypeStr {
				key = append(key, v.Str()...)
			} else {
				key = append(key, v.AsString()...)
			}
		}
		if !complete {
			continue
		}
		if entry := e.table.LookupBytes(key); entry != nil {
			b.hits++
			return entry
		}
	}
	b.misses++
	return nil
}

// apply writes the allow-listed columns of entry (or their defaults when entry
// is nil or lacks them) onto attrs, honouring the action.
func (e *enricher) apply(b *batchState, attrs pcommon.Map, entry *metadatatable.Entry) {
	for i := range e.outputs {
		o := &e.outputs[i]
		var v metadatatable.Value
		if entry != nil {
			v = entry.Values[i]
		}
		if v.Kind == metadatatable.KindEmpty {
			if !o.hasDef {
				continue
			}
			v = o.def
		}
		switch e.action {
		case ActionInsert:
			if _, ok := attrs.Get(o.name); ok {
				continue
			}
		case ActionUpdate:
			if _, ok := attrs.Get(o.name); !ok {
				continue
			}
		}
		putValue(attrs, o.name, v)
	}
	if entry == nil {
		return
	}
	if e.cfg.MetadataAttributes.Version && entry.Version != "" {
		attrs.PutStr(AttrMetadataVersion, entry.Version)
	}
	if e.cfg.MetadataAttributes.Age && !entry.UpdatedAt.IsZero() {
		age := b.now.Sub(entry.UpdatedAt).Seconds()
		if age < 0 {
			age = 0
		}
		attrs.PutDouble(AttrMetadataAge, age)
	}
}

func putValue(m pcommon.Map, name string, v metadatatable.Value) {
	switch v.Kind {
	case metadatatable.KindString:
		m.PutStr(name, v.Str)
	case metadatatable.KindInt:
		m.PutInt(name, v.Int)
	case metadatatable.KindDouble:
		m.PutDouble(name, v.Dbl)
	case metadatatable.KindBool:
		m.PutBool(name, v.Bool)
	}
}

// resourceEntry looks up and applies the resource-level row when the keys
// allow it; ok says whether records can reuse the result.
func (e *enricher) resourceEntry(b *batchState, res pcommon.Map) (entry *metadatatable.Entry, ok bool) {
	if !e.resourceKeys {
		return nil, false
	}
	entry = e.lookup(b, res, emptyMap)
	if e.cfg.Target == ContextResource {
		e.apply(b, res, entry)
	}
	return entry, true
}

func (e *enricher) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	b := &batchState{now: e.now()}
	slo := e.cfg.SLO.ThresholdColumn != ""
	perRecord := e.cfg.Target == ContextRecord || slo
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		resEntry, shared := e.resourceEntry(b, res)
		if !perRecord {
			continue
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				attrs := span.Attributes()
				entry := resEntry
				if !shared {
					entry = e.lookup(b, res, attrs)
				}
				if e.cfg.Target == ContextRecord {
					e.apply(b, attrs, entry)
				}
				if slo && entry != nil && entry.HasSLO {
					d := time.Duration(span.EndTimestamp() - span.StartTimestamp()).Seconds()
					attrs.PutBool(AttrSLOBreach, d > entry.SLOThreshold)
				}
			}
		}
	}
	e.finish(ctx, b)
	return td, nil
}

func (e *enricher) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	b := &batchState{now: e.now()}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := rl.Resource().Attributes()
		resEntry, shared := e.resourceEntry(b, res)
		if e.cfg.Target != ContextRecord {
			continue
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				attrs := lrs.At(k).Attributes()
				entry := resEntry
				if !shared {
					entry = e.lookup(b, res, attrs)
				}
				e.apply(b, attrs, entry)
			}
		}
	}
	e.finish(ctx, b)
	return ld, nil
}
