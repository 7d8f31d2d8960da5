package filesource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

type rejects struct {
	mu      sync.Mutex
	reasons []string
}

func (r *rejects) Applied(time.Duration, bool) {}
func (r *rejects) Deleted(int)                 {}
func (r *rejects) Rejected(err error) {
	r.mu.Lock()
	r.reasons = append(r.reasons, metadatatable.ReasonOf(err))
	r.mu.Unlock()
}

func (r *rejects) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reasons)
}

func newTable(obs metadatatable.Observer) *metadatatable.Table {
	return metadatatable.New(metadatatable.Projection{Columns: []string{"region", "zone"}, SLOColumn: "slo_threshold_seconds"}, obs)
}

func region(t *testing.T, tbl *metadatatable.Table, key string) string {
	t.Helper()
	e := tbl.Lookup(key)
	if e == nil {
		return ""
	}
	return e.Values[0].Str
}

func TestFormats(t *testing.T) {
	for _, file := range []string{"table.yaml", "table_list.json", "table.csv"} {
		t.Run(file, func(t *testing.T) {
			rej := &rejects{}
			tbl := newTable(rej)
			src := New(Config{Path: filepath.Join("testdata", file), KeyColumn: "key"}, tbl, nil)
			require.NoError(t, src.Start(context.Background()))
			t.Cleanup(func() { require.NoError(t, src.Shutdown(context.Background())) })
			assert.True(t, tbl.IsReady())
			assert.Equal(t, 2, tbl.Len())
			assert.Equal(t, "eu-west-1", region(t, tbl, "checkout|prod"))
			assert.Equal(t, "us-east-1", region(t, tbl, "inventory"))
			e := tbl.Lookup("checkout|prod")
			assert.Equal(t, "eu-west-1a", e.Values[1].Str)
			assert.Equal(t, metadatatable.KindEmpty, tbl.Lookup("inventory").Values[1].Kind, "empty CSV cells mean no value")
			switch file {
			case "table.yaml":
				assert.Equal(t, []string{metadatatable.ReasonWrongType}, rej.reasons)
				assert.True(t, e.HasSLO)
				assert.Equal(t, 0.25, e.SLOThreshold)
				assert.Equal(t, time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC), e.UpdatedAt)
				assert.Regexp(t, `^file:[0-9a-f]{12}$`, e.Version)
			case "table_list.json":
				assert.ElementsMatch(t, []string{metadatatable.ReasonMissingKey, metadatatable.ReasonWrongType}, rej.reasons)
				assert.Equal(t, "v3", e.Version)
			case "table.csv":
				assert.Empty(t, rej.reasons)
				assert.Equal(t, 0.25, e.SLOThreshold, "CSV numbers arrive as strings")
			}
		})
	}
}

func TestStartFailsOnMissingOrBrokenFile(t *testing.T) {
	dir := t.TempDir()
	src := New(Config{Path: filepath.Join(dir, "absent.yaml"), KeyColumn: "key"}, newTable(nil), nil)
	err := src.Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "absent.yaml")

	broken := filepath.Join(dir, "broken.json")
	require.NoError(t, os.WriteFile(broken, []byte(`{"a": `), 0o600))
	tbl := newTable(nil)
	err = New(Config{Path: broken, KeyColumn: "key"}, tbl, nil).Start(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not valid JSON")
	assert.False(t, tbl.IsReady())

	csvNoKey := filepath.Join(dir, "t.csv")
	require.NoError(t, os.WriteFile(csvNoKey, []byte("name,region\na,eu\n"), 0o600))
	err = New(Config{Path: csvNoKey, KeyColumn: "key"}, newTable(nil), nil).Start(context.Background())
	require.ErrorContains(t, err, `CSV header has no key column "key"`)

	scalar := filepath.Join(dir, "s.yaml")
	require.NoError(t, os.WriteFile(scalar, []byte("just a string\n"), 0o600))
	err = New(Config{Path: scalar, KeyColumn: "key"}, newTable(nil), nil).Start(context.Background())
	require.ErrorContains(t, err, "top level must be an object")
}

// reloads collects the onReload callback results.
type reloads struct {
	mu   sync.Mutex
	errs []error
}

func (r *reloads) add(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }
func (r *reloads) snapshot() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func writeFile(t *testing.T, path, content string, mod time.Time) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	// Distinct modification times even on coarse file systems.
	require.NoError(t, os.Chtimes(path, mod, mod))
}

func TestReloadKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "table.yaml")
	base := time.Now().Add(-time.Hour)
	writeFile(t, path, "a: {region: eu}\nb: {region: us}\n", base)
	rel := &reloads{}
	rej := &rejects{}
	tbl := newTable(rej)
	src := New(Config{Path: path, KeyColumn: "key", ReloadInterval: 10 * time.Millisecond}, tbl, rel.add)
	require.NoError(t, src.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, src.Shutdown(context.Background())) })
	require.Equal(t, "eu", region(t, tbl, "a"))

	// A change is picked up; rows missing from the new file are deleted.
	writeFile(t, path, "a: {region: ap}\n", base.Add(time.Second))
	require.Eventually(t, func() bool { return region(t, tbl, "a") == "ap" }, 5*time.Second, 5*time.Millisecond)
	assert.Nil(t, tbl.Lookup("b"))

	// A broken file is reported once and the table stays as it was.
	writeFile(t, path, "a: {region: [broken\n", base.Add(2*time.Second))
	require.Eventually(t, func() bool {
		errs := rel.snapshot()
		return len(errs) >= 3 && errs[len(errs)-1] != nil
	}, 5*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	errs := rel.snapshot()
	assert.ErrorContains(t, errs[len(errs)-1], "keeping the last good table")
	failures := 0
	for _, e := range errs {
		if e != nil {
			failures++
		}
	}
	assert.Equal(t, 1, failures, "an unchanged broken file is not re-reported every tick")
	assert.Equal(t, "ap", region(t, tbl, "a"))

	// A deleted file also keeps the table.
	require.NoError(t, os.Remove(path))
	require.Eventually(t, func() bool {
		errs := rel.snapshot()
		return errors.Is(errs[len(errs)-1], os.ErrNotExist)
	}, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, "ap", region(t, tbl, "a"))

	// Fixed again: reloaded, and a bad row in it is skipped, not fatal.
	writeFile(t, path, "a: {region: sa}\nc: {region: {nested: 1}}\n", base.Add(3*time.Second))
	require.Eventually(t, func() bool { return region(t, tbl, "a") == "sa" }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1, rej.count())
	assert.Nil(t, rel.snapshot()[len(rel.snapshot())-1])
}

func TestValidate(t *testing.T) {
	assert.NoError(t, (&Config{Path: "/x/t.yml", KeyColumn: "key"}).Validate("table.file"))
	err := (&Config{Format: "xml", KeyColumn: "", ReloadInterval: -1}).Validate("table.file")
	require.Error(t, err)
	for _, want := range []string{"table.file.path: must be set", `table.file.format: "xml" is not one of`, "table.file.key_column", "table.file.reload_interval"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NoError(t, (&Config{Path: "/x/table", Format: "csv", KeyColumn: "key"}).Validate("table.file"))
}

func TestShutdownBeforeStart(t *testing.T) {
	src := New(Config{Path: "x.yaml", KeyColumn: "key"}, newTable(nil), nil)
	require.NoError(t, src.Shutdown(context.Background()))
	require.NoError(t, src.Shutdown(context.Background()))
}
