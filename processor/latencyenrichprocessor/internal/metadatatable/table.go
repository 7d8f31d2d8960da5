package metadatatable

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Projection says which row columns the table keeps (the allow-list) and which
// column, if any, carries the SLO threshold in seconds. Columns outside the
// projection are dropped on insert so a 100k-row table holds only what is used.
type Projection struct {
	Columns   []string
	SLOColumn string
}

// Entry is an immutable projected row. Values is aligned with
// Projection.Columns; a column the row lacks has KindEmpty.
type Entry struct {
	Values       []Value
	UpdatedAt    time.Time
	Version      string
	SLOThreshold float64
	HasSLO       bool
}

// Observer receives the table's events for internal telemetry. Implementations
// must be cheap and safe for concurrent use.
type Observer interface {
	// Applied is called for each row inserted or replaced. lag is the time
	// since the row's updated_at; known is false when the row has none.
	Applied(lag time.Duration, known bool)
	Deleted(n int)
	// Rejected is called for each bad row; the row was not applied.
	Rejected(err error)
}

type nopObserver struct{}

func (nopObserver) Applied(time.Duration, bool) {}
func (nopObserver) Deleted(int)                 {}
func (nopObserver) Rejected(error)              {}

// Table is the metadata table. Sources write it; the processor reads it. Reads
// are lock-shared and allocation-free.
type Table struct {
	proj     Projection
	colIndex map[string]int
	obs      Observer
	now      func() time.Time

	mu   sync.RWMutex      // protects rows
	rows map[string]*Entry // lookup key -> projected row

	lastChange atomic.Int64 // unix nanos of the last applied change, 0 = never
	readyOnce  sync.Once
	ready      chan struct{}
}

// New returns an empty table. obs may be nil.
func New(proj Projection, obs Observer) *Table {
	if obs == nil {
		obs = nopObserver{}
	}
	idx := make(map[string]int, len(proj.Columns))
	for i, c := range proj.Columns {
		idx[c] = i
	}
	return &Table{
		proj:     proj,
		colIndex: idx,
		obs:      obs,
		now:      time.Now,
		rows:     map[string]*Entry{},
		ready:    make(chan struct{}),
	}
}

// Projection returns the table's projection.
func (t *Table) Projection() Projection { return t.proj }

func (t *Table) project(r Row) (*Entry, error) {
	e := &Entry{Values: make([]Value, len(t.proj.Columns)), UpdatedAt: r.UpdatedAt, Version: r.Version}
	for col, v := range r.Columns {
		if i, ok := t.colIndex[col]; ok {
			e.Values[i] = v
		}
	}
	if t.proj.SLOColumn != "" {
		if v, ok := r.Columns[t.proj.SLOColumn]; ok {
			f, isNum := v.AsFloat()
			if !isNum || f < 0 {
				return nil, &BadRowError{Key: r.Key, Reason: ReasonWrongType,
					Err: fmt.Errorf("column %q: SLO threshold must be a non-negative number of seconds, got %q", t.proj.SLOColumn, v.String())}
			}
			e.SLOThreshold, e.HasSLO = f, true
		}
	}
	return e, nil
}

// Upsert validates, projects and stores r. A row that fails projection is
// rejected whole and reported to the observer; the previous row, if any, stays.
func (t *Table) Upsert(r Row) error {
	e, err := t.project(r)
	if err != nil {
		t.obs.Rejected(err)
		return err
	}
	t.mu.Lock()
	t.rows[r.Key] = e
	t.mu.Unlock()
	t.touched()
	t.applied(e, true)
	return nil
}

// Reject reports a row a source could not decode.
func (t *Table) Reject(err error) { t.obs.Rejected(err) }

// Delete removes key; deleting an absent key is not an error.
func (t *Table) Delete(key string) {
	t.mu.Lock()
	_, ok := t.rows[key]
	delete(t.rows, key)
	t.mu.Unlock()
	if ok {
		t.touched()
		t.obs.Deleted(1)
	}
}

// Replace swaps the whole table for rows (file reloads). Bad rows are skipped
// and reported; rows absent from the new set count as deleted.
func (t *Table) Replace(rows []Row) {
	next := make(map[string]*Entry, len(rows))
	for _, r := range rows {
		e, err := t.project(r)
		if err != nil {
			t.obs.Rejected(err)
			continue
		}
		next[r.Key] = e
	}
	t.mu.Lock()
	prev := t.rows
	t.rows = next
	t.mu.Unlock()
	deleted := 0
	for k := range prev {
		if _, ok := next[k]; !ok {
			deleted++
		}
	}
	t.touched()
	for k, e := range next {
		// Only rows that changed have propagated now; an unchanged row of a
		// reloaded file says nothing about propagation lag.
		old, had := prev[k]
		t.applied(e, !had || !old.UpdatedAt.Equal(e.UpdatedAt))
	}
	if deleted > 0 {
		t.obs.Deleted(deleted)
	}
}

// applied reports a row. Propagation lag is reported only for live changes:
// rows of the initial load (before MarkReady) measure how old the table is,
// not how fast updates travel.
func (t *Table) applied(e *Entry, changed bool) {
	if e.UpdatedAt.IsZero() || !changed || !t.IsReady() {
		t.obs.Applied(0, false)
		return
	}
	t.obs.Applied(t.now().Sub(e.UpdatedAt), true)
}

func (t *Table) touched() { t.lastChange.Store(t.now().UnixNano()) }

// Lookup returns the entry for key, or nil.
func (t *Table) Lookup(key string) *Entry {
	t.mu.RLock()
	e := t.rows[key]
	t.mu.RUnlock()
	return e
}

// LookupBytes is Lookup for a key assembled in a scratch buffer; it does not
// allocate.
func (t *Table) LookupBytes(key []byte) *Entry {
	t.mu.RLock()
	e := t.rows[string(key)]
	t.mu.RUnlock()
	return e
}

// Len returns the number of rows.
func (t *Table) Len() int {
	t.mu.RLock()
	n := len(t.rows)
	t.mu.RUnlock()
	return n
}

// Age returns the time since the last change, and false if nothing was ever
// applied.
func (t *Table) Age() (time.Duration, bool) {
	ns := t.lastChange.Load()
	if ns == 0 {
		return 0, false
	}
	return t.now().Sub(time.Unix(0, ns)), true
}

// MarkReady records that the source finished its initial load. Idempotent.
func (t *Table) MarkReady() { t.readyOnce.Do(func() { close(t.ready) }) }

// Ready is closed once MarkReady was called.
func (t *Table) Ready() <-chan struct{} { return t.ready }

// IsReady reports whether MarkReady was called.
func (t *Table) IsReady() bool {
	select {
	case <-t.ready:
		return true
	default:
		return false
	}
}
